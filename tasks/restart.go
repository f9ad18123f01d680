package tasks

import (
	"fmt"
	"time"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

// decide applies restart, exit_codes, start_time and start_retries to an exit
// (SPEC 3.3). The run may still be draining; no new spawn happens before it is gone.
func (s *Supervisor) decide(i *instance, r *run, e signals.Exit) {
	t := i.task.cfg
	// A ready run that outlived start_time, or that max_runtime cut short by
	// design, started well: whatever ended it, no streak of failed starts goes on.
	startedWell := t.Type == config.Service && r.becameRdy &&
		(e.Time.Sub(r.started) >= t.StartTime || r.cause == causeMaxRuntime)
	if startedWell {
		i.failedStarts = 0
	}
	if r.cause == causeTree {
		if i.enabled && !s.holding() {
			s.setState(i, Pending)
		} else {
			s.setState(i, Stopped)
		}
		return
	}
	expected := r.cause == causeNone && e.Signal() == 0 && t.ExpectedExit(e.Status.ExitStatus())
	if t.Type == config.Oneshot && expected {
		i.failedStarts = 0
		s.setState(i, Completed)
		s.endedForGood(i)
		return
	}
	// The policy comes first: a service it does not run again has exited, however
	// soon (SPEC 3.1). Not being ready in time is a failed start whatever the policy.
	again := t.Type == config.Oneshot || t.Restart == config.RestartAlways ||
		(t.Restart == config.RestartOnFailure && !expected)
	if !again && r.cause != causeReadyTimeout {
		s.setState(i, Exited)
		s.endedForGood(i)
		return
	}
	if t.Type == config.Oneshot || r.cause == causeReadyTimeout || !startedWell {
		s.failedStart(i, exitReason(r, e))
		return
	}
	s.enterBackoff(i)
}

// exitReason says why a run counts as a failed start: the exit, or, when procmon
// stopped it for not being ready in time, that (its SIGTERM is no cause).
func exitReason(r *run, e signals.Exit) string {
	if r.cause == causeReadyTimeout {
		return r.notReady
	}
	return e.String()
}

// failedStart counts a failed start and backs off, or gives up.
func (s *Supervisor) failedStart(i *instance, why string) {
	t := i.task.cfg
	i.failedStarts++
	i.lastFailure = why
	if t.Restart == config.RestartNever || (t.StartRetries >= 0 && i.failedStarts > t.StartRetries) {
		s.giveUp(i, fmt.Sprintf("%d failed start(s), last: %s", i.failedStarts, why))
		s.endedForGood(i)
		return
	}
	s.enterBackoff(i)
}

// giveUp makes i fatal, saying why.
func (s *Supervisor) giveUp(i *instance, why string) {
	i.lastFailure = why
	s.setState(i, Fatal)
	ev := i.event(EvTaskFatal)
	ev.Error = why
	s.emit(ev)
}

// cannotExecute ends single-command mode at once, with code, when its command
// cannot be executed, as tini does: retrying a missing or forbidden program
// would only spin in backoff, and procmon would have no code of the command's
// own to exit with.
func (s *Supervisor) cannotExecute(i *instance, code int, err error) {
	s.giveUp(i, err.Error())
	s.log.WithFields(i.event("").fields()).WithField("exit_code", code).Error("command cannot be executed: shutting down")
	s.beginShutdown(code)
}

// restartDelay is restart_delay, doubled for each further consecutive failed
// start, capped at restart_delay_max.
func restartDelay(t *config.Task, failedStarts int) time.Duration {
	d := t.RestartDelay
	for n := 1; n < failedStarts && d < t.RestartDelayMax; n++ {
		d *= 2
	}
	return min(d, t.RestartDelayMax) // validation keeps restart_delay_max >= restart_delay
}

func (s *Supervisor) enterBackoff(i *instance) {
	d := restartDelay(i.task.cfg, i.failedStarts)
	i.restarts++
	s.setState(i, Backoff)
	ev := i.event(EvTaskBackoff)
	ev.Delay = d.String()
	s.emit(ev)
	i.backoffGen++
	if d == 0 {
		s.setState(i, Pending)
		return
	}
	i.backoff = s.after(d, timerEvent{kind: timerBackoff, inst: i, gen: i.backoffGen})
}

func (s *Supervisor) onBackoffDone(i *instance, gen int) {
	if gen != i.backoffGen || i.state != Backoff {
		return
	}
	i.backoff = nil
	s.setState(i, Pending)
}

func (s *Supervisor) cancelBackoff(i *instance) {
	if i.backoff != nil {
		i.backoff.Stop()
		i.backoff = nil
	}
	i.backoffGen++
}

// endedForGood shuts procmon down when a critical task will not run again (SPEC 3.6).
func (s *Supervisor) endedForGood(i *instance) {
	if !i.task.cfg.Critical || s.shutdown != nil {
		return
	}
	code := 1 // fatal, or killed (SPEC 3.6)
	if e := i.lastExit; i.state != Fatal && e != nil && (e.Signal() == 0 || s.forward) {
		code = e.Code() // single-command mode answers as tini: 128+N when signal N ended it
	}
	log := s.log.WithFields(i.event("").fields()).WithField("exit_code", code)
	if code == 0 { // it did what it was for (procmon exec --once, a final oneshot)
		log.Info("critical task completed: shutting down")
	} else {
		log.Warn("critical task ended: shutting down")
	}
	s.beginShutdown(code)
}
