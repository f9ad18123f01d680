package tasks

import (
	"time"

	"github.com/procmon/procmon/signals"
)

// requestStop marks a run to be stopped. The stop signal itself waits in reconcile
// until every task below has stopped (deepest first, SPEC 3.4).
func (s *Supervisor) requestStop(r *run, cause stopCause) {
	if r.stopRequested() {
		return
	}
	i := r.inst
	r.cause = cause
	r.stopMonitors()
	if r.exit == nil {
		s.leaveReady(i)
		s.setState(i, Stopping)
	}
}

// leaveReady records, once, that an instance stops counting as ready for the
// tasks below it, naming those that will have to stop.
func (s *Supervisor) leaveReady(i *instance) {
	if i.state == Completed || !i.readyLike() || i.removed && i.task.ready() {
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
	signals.SignalGroup(r.pid, sig)
	if r.paused {
		signals.SignalGroup(r.pid, contSignal) // a stopped process can act on its stop signal only once continued
	}
	r.killTimer = s.after(t.StopTimeout, timerEvent{kind: timerKill, run: r})
}

func (s *Supervisor) kill(r *run) {
	r.killed = true
	signals.SignalGroup(r.pid, killSignal)
	if _, ok := s.draining[r]; ok {
		// What is left may be only zombies of a parent outside the group: no
		// death will bring an event, so the group is looked at again.
		r.recheck = 5 * time.Millisecond
		s.armRecheck(r)
	}
}

func (s *Supervisor) onRunTimer(r *run, kind timerKind) {
	switch kind {
	case timerKill:
		if !r.killed {
			s.emit(r.inst.event(EvStopTimeout))
			s.kill(r)
		}
	case timerRecheck:
		r.recheckTimer = nil
		s.checkDrained(r)
	case timerMaxRuntime:
		if r.exit == nil {
			s.log.WithFields(r.inst.event("").fields()).Info("max_runtime reached: stopping")
			s.requestStop(r, causeMaxRuntime)
		}
	case timerReadyTimeout:
		if r.exit == nil && !r.becameRdy {
			ev := r.inst.event(EvMonitorFailed)
			ev.Monitor, ev.Error = r.awaiting.timedOut("not ready", r.inst.task.cfg.ReadyTimeout)
			r.notReady = ev.Error
			s.emit(ev)
			s.requestStop(r, causeReadyTimeout)
		}
	}
}

func (s *Supervisor) onExit(r *run, e signals.Exit) {
	i := r.inst
	r.exit = &e
	i.lastExit = &e
	r.stopTimers()
	ev := i.event(EvTaskExited)
	ev.Time = e.Time
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
	if !signals.GroupAlive(r.pid) {
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
// is looked at again with a growing pause, only while it drains. One recheck at a
// time: every orphan reaped also looks, and must not start another.
func (s *Supervisor) armRecheck(r *run) {
	if r.recheckTimer != nil {
		return
	}
	r.recheckTimer = s.after(r.recheck, timerEvent{kind: timerRecheck, run: r})
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
	if s.groupLeft(r) {
		if !s.adopts || r.killed {
			s.armRecheck(r)
		}
		return
	}
	s.runGone(r)
}

// groupLeft tells whether the run's group still holds a process to wait for.
// Once SIGKILL was sent, zombies are not: one whose parent is outside the group
// and never waits would hold the run, the shutdown and every restart for good.
func (s *Supervisor) groupLeft(r *run) bool {
	return signals.GroupAlive(r.pid) && (!r.killed || signals.GroupHasLiving(r.pid))
}

func (s *Supervisor) runGone(r *run) {
	i := r.inst
	delete(s.draining, r)
	r.stopTimers()
	s.releaseMonitorEnv(r)
	if r.killTimer != nil {
		r.killTimer.Stop()
	}
	i.run = nil
	if r.gone != nil {
		r.gone()
		return
	}
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
