package tasks

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/output"
	"github.com/procmon/procmon/signals"
)

// instance is one process slot of a task (instances = N gives N of them).
type instance struct {
	task         *task
	index        int
	state        State
	run          *run // nil when no process or process group of it is left
	enabled      bool // false after `stop`, or with autostart = false, until `start`
	recycle      bool // a restart was requested: run again once the current run is gone
	removed      bool // scaled away: forgotten once its process is gone
	freshOutput  bool // the definition changed: reopen output at the next spawn
	failedStarts int  // consecutive
	restarts     int
	lastExit     *signals.Exit
	backoffGen   int // invalidates backoff timers that were cancelled
	backoff      interface{ Stop() bool }
	output       *taskOutput // opened at the first spawn
	logs         *output.Ring
	pre          *preSpawn // wait_for monitors in progress, before the process exists
	waitedSince  time.Time // when wait_for began: the wait counts against ready_timeout
}

func newInstance(t *task, index int) *instance {
	i := &instance{task: t, index: index, enabled: t.cfg.Autostart, logs: output.NewRing(t.cfg.Name, index, logLines)}
	if !i.enabled {
		i.state = Stopped
	}
	return i
}

// name is how logs and output prefixes show the instance: "web", or "web.2" when
// the task has (or had, when scaled) several.
func (i *instance) name() string {
	if i.task.cfg.Instances == 1 && i.index == 0 {
		return i.task.cfg.Name
	}
	return fmt.Sprintf("%s.%d", i.task.cfg.Name, i.index)
}

func (i *instance) event(typ string) Event {
	ev := Event{Type: typ, Task: i.task.cfg.Name, Instance: i.index}
	if i.run != nil {
		ev.Pid = i.run.pid
	}
	return ev
}

// stopCause says why procmon stopped a run, which decides whether the exit that
// follows counts as a failure.
type stopCause int

const (
	causeNone         stopCause = iota
	causeTree                   // shutdown, a parent left ready, stop or restart requested: not a failure
	causeLiveness               // a liveness monitor failed
	causeMaxRuntime             // max_runtime elapsed
	causeReadyTimeout           // not ready within ready_timeout: a failed start
)

// run is one process of an instance, from spawn until its whole process group is gone.
type run struct {
	inst       *instance
	pid        int // also the process group id: every run leads its own group
	proc       *os.Process
	pipeEnds   []*os.File // procmon's copies of the output pipes, closed once spawned
	started    time.Time
	becameRdy  bool
	stopReq    bool      // procmon wants it down
	cause      stopCause // why, when stopReq
	signaled   bool      // the stop signal was sent to the group
	paused     bool      // SIGSTOPped by load
	killed     bool      // SIGKILL was sent to the group
	exit       *signals.Exit
	timers     []interface{ Stop() bool }
	killTimer  interface{ Stop() bool }
	recheck    time.Duration
	monitors   context.CancelFunc
	readyState map[string]bool
	// readyMonitors are built before the spawn (for their environment) and
	// handed to their goroutines once the process exists.
	readyMonitors []namedMonitor
}

func (r *run) stopTimers() {
	for _, t := range r.timers {
		t.Stop()
	}
	r.timers = nil
	if r.monitors != nil {
		r.monitors()
		r.monitors = nil
	}
}

func (s *Supervisor) setState(i *instance, st State) {
	i.state = st
}

// spawn starts a process for i now. Its pid is recorded before the loop reads
// another event, so its exit can never be handled before its start.
func (s *Supervisor) spawn(i *instance) {
	t := i.task.cfg
	r := &run{inst: i}
	cmd, err := s.command(i, r)
	if err == nil {
		err = s.reaper.Start(cmd, func(e signals.Exit) { s.post(exitEvent{r, e}) })
		// The child holds its own copies; procmon's must go for the pipes to end with the run.
		closeFiles(r.pipeEnds...)
	}
	if err != nil {
		ev := i.event(EvStartFailed)
		ev.Error = err.Error()
		s.emit(ev)
		s.closeMonitorEnv(r)
		s.failedStart(i, err.Error())
		return
	}
	r.pid, r.proc = cmd.Process.Pid, cmd.Process
	r.started = time.Now()
	i.run = r
	s.setState(i, Starting)
	s.emit(i.event(EvTaskStarted))
	if t.MaxRuntime > 0 {
		r.timers = append(r.timers, s.after(t.MaxRuntime, timerEvent{kind: timerMaxRuntime, run: r}))
	}
	switch {
	case t.Type == config.Oneshot:
	case len(t.Ready) == 0:
		s.becomeReady(i)
	default:
		s.startReadiness(r)
	}
}

func (s *Supervisor) becomeReady(i *instance) {
	i.run.becameRdy = true
	s.setState(i, Ready)
	s.emit(i.event(EvTaskReady))
	s.startLiveness(i.run)
}

// requestStop marks a run to be stopped. The stop signal itself waits in reconcile
// until every task below has stopped (deepest first, SPEC 3.4).
func (s *Supervisor) requestStop(r *run, cause stopCause) {
	if r.stopReq {
		return
	}
	i := r.inst
	r.stopReq, r.cause = true, cause
	if r.monitors != nil {
		r.monitors()
		r.monitors = nil
	}
	if r.exit == nil {
		s.leaveReady(i)
		s.setState(i, Stopping)
	}
}

// leaveReady records, once, that an instance stops counting as ready for the
// tasks below it, naming those that will have to stop.
func (s *Supervisor) leaveReady(i *instance) {
	if i.state != Ready && i.state != Paused {
		return
	}
	below := s.activeBelow(i.task)
	if len(below) == 0 {
		return
	}
	ev := i.event(EvSubtreeStopped)
	ev.Tasks = below
	s.emit(ev)
}

func (s *Supervisor) activeBelow(t *task) []string {
	var names []string
	for _, name := range s.cfg.Graph.Descendants(t.cfg.Name) {
		if s.tasks[name].active() {
			names = append(names, name)
		}
	}
	return names
}

// signalStop sends the stop signal to the run's process group and arms the kill.
func (s *Supervisor) signalStop(r *run) {
	t := r.inst.task.cfg
	r.signaled = true
	sig := t.StopSignal
	if s.forwarded != 0 {
		sig = s.forwarded
	}
	signalGroup(r.pid, sig)
	if r.paused {
		signalGroup(r.pid, contSignal) // a stopped process can act on its stop signal only once continued
	}
	r.killTimer = s.after(t.StopTimeout, timerEvent{kind: timerKill, run: r})
}

func (s *Supervisor) kill(r *run) {
	r.killed = true
	signalGroup(r.pid, killSignal)
}

func (s *Supervisor) onRunTimer(r *run, kind timerKind) {
	switch kind {
	case timerKill:
		if !r.killed {
			s.emit(r.inst.event(EvStopTimeout))
			s.kill(r)
		}
	case timerRecheck:
		s.checkDrained(r)
	case timerMaxRuntime:
		if r.exit == nil {
			s.log.WithFields(r.inst.event("").fields()).Info("max_runtime reached: stopping")
			s.requestStop(r, causeMaxRuntime)
		}
	case timerReadyTimeout:
		if r.exit == nil && !r.becameRdy {
			ev := r.inst.event(EvMonitorFailed)
			ev.Error = "not ready within ready_timeout"
			s.emit(ev)
			s.requestStop(r, causeReadyTimeout)
		}
	}
}

func (s *Supervisor) onExit(r *run, e signals.Exit) {
	i := r.inst
	r.exit = &e
	i.lastExit = &e
	_ = r.proc.Release() // closes the pidfd; the status was taken by the reaper
	r.stopTimers()
	ev := i.event(EvTaskExited)
	code := e.Code()
	ev.ExitCode = &code
	if sig := e.Signal(); sig != 0 {
		ev.Signal = signalName(sig)
	}
	s.emit(ev)
	s.leaveReady(i)
	s.decide(i, r, e)
	s.drain(r)
}

// drain stops what is left of the run's process group after its leader exited, so
// restarts never pile up stray copies (SPEC 3.3).
func (s *Supervisor) drain(r *run) {
	if !groupAlive(r.pid) {
		s.runGone(r)
		return
	}
	s.draining[r] = struct{}{}
	if !r.signaled {
		s.signalStop(r)
	}
	r.recheck = 5 * time.Millisecond
	s.armRecheck(r)
}

// armRecheck covers strays that are not procmon's children (subreaper off, or a
// member reaped by a parent of its own): their deaths bring no event, so the group
// is looked at again with a growing pause, only while it drains.
func (s *Supervisor) armRecheck(r *run) {
	r.timers = append(r.timers, s.after(r.recheck, timerEvent{kind: timerRecheck, run: r}))
	r.recheck = min(2*r.recheck, time.Second)
}

func (s *Supervisor) recheckDraining() {
	for r := range s.draining {
		s.checkDrained(r)
	}
}

func (s *Supervisor) checkDrained(r *run) {
	if _, ok := s.draining[r]; !ok {
		return
	}
	if groupAlive(r.pid) {
		if !s.adopts {
			s.armRecheck(r)
		}
		return
	}
	s.runGone(r)
}

func (s *Supervisor) runGone(r *run) {
	i := r.inst
	delete(s.draining, r)
	r.stopTimers()
	if r.killTimer != nil {
		r.killTimer.Stop()
	}
	i.run = nil
	if i.removed {
		s.dropRemoved(i.task)
		return
	}
	if i.freshOutput {
		s.reopenOutput(i)
	}
	if i.recycle {
		i.recycle = false
		if i.state == Stopped || i.state == Pending {
			s.setState(i, Pending)
		}
	}
}

// decide applies restart, exit_codes, start_time and start_retries to an exit
// (SPEC 3.3). The run may still be draining; no new spawn happens before it is gone.
func (s *Supervisor) decide(i *instance, r *run, e signals.Exit) {
	t := i.task.cfg
	if r.stopReq && r.cause == causeTree {
		if i.enabled && s.shutdown == nil && s.maint == nil {
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
	failedStart := t.Type == config.Oneshot || !r.becameRdy || r.cause == causeReadyTimeout ||
		e.Time.Sub(r.started) < t.StartTime
	if failedStart {
		s.failedStart(i, e.String())
		return
	}
	i.failedStarts = 0
	if t.Restart == config.RestartAlways || (t.Restart == config.RestartOnFailure && !expected) {
		s.enterBackoff(i)
		return
	}
	s.setState(i, Exited)
	s.endedForGood(i)
}

// failedStart counts a failed start and backs off, or gives up.
func (s *Supervisor) failedStart(i *instance, why string) {
	t := i.task.cfg
	i.failedStarts++
	if t.Restart == config.RestartNever || (t.StartRetries >= 0 && i.failedStarts > t.StartRetries) {
		s.setState(i, Fatal)
		ev := i.event(EvTaskFatal)
		ev.Error = fmt.Sprintf("%d failed start(s), last: %s", i.failedStarts, why)
		s.emit(ev)
		s.endedForGood(i)
		return
	}
	s.enterBackoff(i)
}

// restartDelay is restart_delay, doubled for each further consecutive failed
// start, capped at restart_delay_max.
func restartDelay(t *config.Task, failedStarts int) time.Duration {
	d := t.RestartDelay
	for n := 1; n < failedStarts && d < t.RestartDelayMax; n++ {
		d *= 2
	}
	return min(d, max(t.RestartDelayMax, t.RestartDelay))
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
	code := 1
	if i.state != Fatal && i.lastExit != nil && i.lastExit.Signal() == 0 {
		code = i.lastExit.Status.ExitStatus()
	}
	s.log.WithFields(i.event("").fields()).WithField("exit_code", code).Warn("critical task ended: shutting down")
	s.beginShutdown(code)
}
