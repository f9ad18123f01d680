package tasks

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

// maintenanceState is a maintenance cycle in progress (SPEC 3.10): every task
// stops, the maintenance command runs alone, then the tasks start again.
type maintenanceState struct {
	began time.Time
	inst  *instance // a stand-in instance, so the command spawns like a task
	run   *run      // nil until the tasks are all down
	// services_dir changed during the cycle: its tasks are applied at the end.
	servicesChanged bool
	// The file as SIGUSR1 found it during the cycle: applied at the end.
	heldReload *config.Config
	timedOut   bool // the command ran past timeout: the cycle failed, whatever its code
}

// Maintenance runs the maintenance cycle, as SIGHUP does.
func (s *Supervisor) Maintenance() error {
	var err error
	if !s.Do(func() { err = s.beginMaintenance() }) {
		return ErrStopped
	}
	return err
}

func (s *Supervisor) beginMaintenance() error {
	switch {
	case s.cfg.Maintenance == nil:
		s.log.Warn("maintenance requested, but no [maintenance] is configured: ignored")
		return fmt.Errorf("%w: no [maintenance] is configured", ErrConflict)
	case s.maint != nil:
		s.log.Warn("maintenance requested during a maintenance cycle: ignored")
		return fmt.Errorf("%w: a maintenance cycle is running", ErrConflict)
	case s.shutdown != nil:
		s.log.Warn("maintenance requested during shutdown: ignored")
		return ErrStopped
	}
	s.maint = &maintenanceState{began: time.Now(), inst: maintenanceInstance(s.cfg)}
	s.emit(Event{Type: EvMaintenanceStarted})
	return nil
}

// maintenanceInstance describes the [maintenance] command as a oneshot task.
func maintenanceInstance(cfg *config.Config) *instance {
	m := cfg.Maintenance
	t := &task{cfg: &config.Task{
		Name: "maintenance", Type: config.Oneshot, Instances: 1, Command: m.Command,
		Dir: m.Dir, Env: m.Env, User: m.User, Group: m.Group, Umask: -1,
		Stdout: m.Stdout, Stderr: m.Stderr,
		StopSignal: unix.SIGTERM, StopTimeout: cfg.Procmon.StopTimeout,
	}}
	return newInstance(t, 0)
}

// stepMaintenance starts the command once no task process is left.
func (s *Supervisor) stepMaintenance() {
	m := s.maint
	if m == nil || m.run != nil || s.shutdown != nil || s.anyActive() {
		return
	}
	r := &run{inst: m.inst}
	r.gone = func() { s.finishMaintenance(s.maintenanceCode(r), "") } // once its leftovers are gone too
	cmd, err := s.command(m.inst, r, nil)
	if err == nil {
		var started signals.Started
		started, err = s.start(cmd, r)
		r.pid, r.started = started.Pid, started.At
		closeFiles(r.pipeEnds...)
	}
	if err != nil {
		s.finishMaintenance(127, err.Error())
		return
	}
	m.run = r
	m.inst.run = r
	s.log.WithField("pid", r.pid).Info("maintenance command started")
	r.timers = append(r.timers, s.after(s.cfg.Maintenance.Timeout, timerEvent{kind: timerMaintenance, run: r}))
}

// onMaintenanceExit stops what the command left in its process group as a
// task's strays are (stop signal, SIGKILL after stop_timeout): the cycle ends,
// and the tasks start again, once the group is gone (runGone).
func (s *Supervisor) onMaintenanceExit(r *run, e signals.Exit) {
	r.exit = &e
	r.stopTimers()
	s.drain(r)
}

// onMaintenanceTimeout stops the command as a task is stopped (SIGTERM, SIGKILL
// after stop_timeout), so that a backup can clean up after itself, as systemd
// lets it.
func (s *Supervisor) onMaintenanceTimeout(r *run) {
	s.log.WithField("timeout", s.cfg.Maintenance.Timeout.String()).Warn("maintenance timed out: stopping it")
	s.maint.timedOut = true
	s.signalStop(r)
}

// maintenanceCode is the cycle's outcome: the command's code (128+N when signal
// N ended it), 1 when it exited 0 only after it ran out of time.
func (s *Supervisor) maintenanceCode(r *run) int {
	code := r.exit.Code()
	if code == 0 && s.maint.timedOut {
		return 1
	}
	return code
}

// finishMaintenance ends the cycle: the tasks start again, or, when the command
// failed and on_failure = "exit", procmon shuts down with its code.
func (s *Supervisor) finishMaintenance(code int, why string) {
	m := s.maint
	s.maint = nil
	if m.inst.output != nil {
		m.inst.output.close()
	}
	ev := Event{Type: EvMaintenanceFinished, ExitCode: &code, Error: why}
	ev.Delay = time.Since(m.began).Round(time.Millisecond).String()
	s.emit(ev)
	if s.shutdown != nil {
		return
	}
	if code != 0 && s.cfg.Maintenance.OnFailure == "exit" {
		s.beginShutdown(code)
		return
	}
	if m.heldReload != nil { // before the tasks start again: under the new definitions
		if err := s.applyFile(m.heldReload); err != nil {
			s.log.WithError(err).Warn("reload ignored")
		}
	}
	for _, t := range s.order {
		for _, i := range t.instances {
			if i.enabled && i.state.terminal() {
				i.failedStarts = 0
				s.setState(i, Pending)
			}
		}
	}
	if m.servicesChanged {
		_ = s.setServices(s.services)
	}
}

// stopMaintenance ends the command when procmon shuts down during a cycle.
func (s *Supervisor) stopMaintenance() {
	if m := s.maint; m != nil && m.run != nil && !m.run.signaled {
		s.signalStop(m.run)
	}
}
