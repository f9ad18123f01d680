package tasks

import (
	"syscall"
	"time"
)

type shutdownState struct {
	began      time.Time
	timer      interface{ Stop() bool }
	interrupts int // SIGINTs and SIGTERMs received: the second kills what remains
}

// beginShutdown stops every task, leaves first (reconcile does the ordering), and
// makes Run return code once nothing is left.
func (s *Supervisor) beginShutdown(code int) {
	if s.shutdown != nil {
		return
	}
	s.exitCode = code
	s.shutdown = &shutdownState{began: time.Now()}
	s.emit(Event{Type: EvShutdownStarted})
	s.stopMaintenance()
	if d := s.cfg.Procmon.ShutdownTimeout; d > 0 {
		s.shutdown.timer = s.after(d, timerEvent{kind: timerShutdown})
	}
}

// ShutdownDeadline is when shutdown_timeout, counted from the start of the
// shutdown, runs out: what procmon still does after Run (flushing its observers)
// must end by then, or the orchestrator's kill cuts it short. False when Run
// returned without a shutdown (every task ended by itself) or with no timeout.
// Call it once Run has returned.
func (s *Supervisor) ShutdownDeadline() (time.Time, bool) {
	d := s.cfg.Procmon.ShutdownTimeout
	if s.shutdown == nil || d <= 0 {
		return time.Time{}, false
	}
	return s.shutdown.began.Add(d), true
}

// onShutdownSignal begins a graceful shutdown, or joins the one under way (a
// critical task's end, `procmon shutdown`); the second SIGINT or SIGTERM, not
// the first one to come during a shutdown, kills what remains (SPEC 3.5).
func (s *Supervisor) onShutdownSignal(sig syscall.Signal) {
	log := s.log.WithField("signal", signalName(sig))
	if s.shutdown == nil {
		log.Info("shutdown requested")
		if s.forward {
			s.forwarded = sig
		}
		s.beginShutdown(0)
	} else {
		log.Info("shutdown already under way")
	}
	if sig == quitSignal {
		return
	}
	if s.shutdown.interrupts++; s.shutdown.interrupts >= 2 {
		log.Warn("second signal during shutdown: killing every remaining process")
		s.killAll()
	}
}

// holding tells whether every task must stay down: during a shutdown, or while
// the maintenance command has the machine to itself.
func (s *Supervisor) holding() bool { return s.shutdown != nil || s.maint != nil }

// killAll SIGKILLs every process group still alive: the end of shutdown_timeout,
// or a second SIGTERM/SIGINT.
func (s *Supervisor) killAll() {
	for _, t := range s.order {
		for _, i := range t.instances {
			if r := i.run; r != nil && !r.killed {
				s.kill(r)
			}
		}
	}
	if m := s.maint; m != nil && m.run != nil && !m.run.killed {
		s.kill(m.run)
	}
}

// finished tells whether Run should return: after a shutdown once no process is
// left, or when every task has ended by itself (SPEC 3.6). A watched services_dir
// keeps procmon running: a file may come (or come back) at any time.
func (s *Supervisor) finished() bool {
	if s.anyActive() {
		return false
	}
	if s.shutdown != nil {
		return true
	}
	if len(s.order) == 0 || s.maint != nil || s.boot.ServicesDir != "" {
		return false
	}
	failed := false
	ended := map[*task]bool{} // whether each task looked at ended as expected
	for _, t := range s.order {
		e, ok := s.endedOrBlocked(t, ended)
		if !e {
			return false
		}
		ended[t] = ok
		failed = failed || !ok
	}
	s.exitCode = 0
	if failed {
		s.exitCode = 1
	}
	s.log.WithField("exit_code", s.exitCode).Info("every task has ended")
	return true
}

func (s *Supervisor) anyActive() bool {
	if s.maint != nil && s.maint.run != nil {
		return true
	}
	for _, t := range s.order {
		if t.active() {
			return true
		}
		for _, i := range t.instances {
			if i.pre != nil {
				return true
			}
		}
	}
	return false
}

// endedOrBlocked reports whether t will not run again on its own: all its instances
// ended, or it waits on a parent that ended without being ready. ok is false when
// that end was not the expected one; a task held by a parent shares that
// parent's verdict, as it never failed itself. ended holds the verdicts on t's
// parents.
func (s *Supervisor) endedOrBlocked(t *task, ended map[*task]bool) (done, ok bool) {
	if len(t.instances) == 0 {
		return false, false
	}
	allEnded, allOK := true, true
	for _, i := range t.instances {
		if !i.state.terminal() {
			allEnded = false
			break
		}
		allOK = allOK && s.endedAsExpected(i)
	}
	if allEnded {
		return true, allOK
	}
	for _, p := range t.parents {
		if parentOK, done := ended[p]; done && !p.ready() {
			for _, i := range t.instances {
				if i.state != Pending {
					return false, false
				}
			}
			return true, parentOK
		}
	}
	return false, false
}

func (s *Supervisor) endedAsExpected(i *instance) bool {
	switch i.state {
	case Completed:
		return true
	case Exited:
		e := i.lastExit
		return e != nil && e.Signal() == 0 && i.task.cfg.ExpectedExit(e.Status.ExitStatus())
	}
	return false
}

// killStrays SIGKILLs children that escaped their task's process group (a daemon
// that called setsid, say) and waits, briefly, for the reaper to collect them:
// procmon must not leave anything behind it (SPEC 3.5). The children of a stray
// come back to procmon as it dies, so the adopted are listed again after each
// death, until none is left.
func (s *Supervisor) killStrays() {
	killed := map[int]bool{}
	deadline := time.After(time.Second)
	for {
		adopted := s.reaper.Adopted()
		if len(adopted) == 0 {
			return
		}
		var fresh []int
		for _, pid := range adopted {
			if !killed[pid] {
				killed[pid] = true
				fresh = append(fresh, pid)
			}
		}
		if len(fresh) > 0 {
			s.log.WithField("pids", fresh).Warn("killing stray processes")
			for _, pid := range fresh {
				signalPid(pid, killSignal)
			}
		}
		select {
		case ev := <-s.events:
			if _, ok := ev.(orphanEvent); !ok {
				continue
			}
		case <-deadline:
			s.log.Warn("stray processes survived SIGKILL")
			return
		}
	}
}

// forwardedExitCode is what procmon exits with after passing a signal on: the
// code of the task's last exit, 128+N when signal N ended it (SPEC 5). A command
// that never ran (it could not be started) has no code of its own, and must
// not look like one that succeeded: 1, a runtime failure (SPEC 1).
func (s *Supervisor) forwardedExitCode() int {
	for _, t := range s.order {
		for _, i := range t.instances {
			if i.lastExit != nil {
				return i.lastExit.Code()
			}
		}
	}
	return 1
}
