package tasks

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/procmon/procmon/monitors"
)

// Monitors run in goroutines of their own and only post monitorEvents; each run
// gets fresh monitor instances, so no counter survives a restart, and a result
// from a run that is gone (or a check that was cancelled) is simply dropped.

type monitorKind int

const (
	kindWaitFor monitorKind = iota
	kindReady
	kindLiveness
)

type monitorEvent struct {
	kind monitorKind
	run  *run      // ready, liveness
	pre  *preSpawn // wait_for
	name string
	err  error
}

// preSpawn is an instance waiting on its wait_for monitors before its spawn.
type preSpawn struct {
	inst    *instance
	cancel  context.CancelFunc
	waiting awaited
	timeout interface{ Stop() bool }
}

// awaited is a list of monitors that must each pass once (ready, wait_for), with
// the latest failure of each that has not, to say why when time runs out.
type awaited struct {
	names  []string
	passed map[string]bool
	failed map[string]error
}

func newAwaited(names []string) awaited {
	return awaited{names: names, passed: map[string]bool{}, failed: map[string]error{}}
}

// record notes a result and reports whether every monitor has now passed, and
// whether a failure is news: the monitor's first, or another reason than its last.
func (a *awaited) record(name string, err error) (all, news bool) {
	if err != nil {
		last := a.failed[name]
		a.failed[name] = err
		return false, last == nil || last.Error() != err.Error()
	}
	a.passed[name] = true
	return len(a.passed) == len(a.names), false
}

// noteWaiting logs a failure of a check that an instance waits on when it is
// news, as the kubelet records a failed probe: polling goes on quietly while the
// reason stays the same.
func (s *Supervisor) noteWaiting(i *instance, what string, ev monitorEvent) {
	s.log.WithFields(i.event("").fields()).WithField("monitor", ev.name).WithError(ev.err).Info(what)
}

// blocker is the first monitor still to pass, and why: its latest failure.
func (a *awaited) blocker() (name, why string) {
	for _, n := range a.names {
		if a.passed[n] {
			continue
		}
		if err := a.failed[n]; err != nil {
			return n, "last check: " + err.Error()
		}
		return n, n + ": no result yet"
	}
	return "", ""
}

// timedOut is the failure when time runs out: what did not happen within
// ready_timeout, naming the monitor that held it back.
func (a *awaited) timedOut(what string, timeout time.Duration) (monitor, reason string) {
	reason = fmt.Sprintf("%s within ready_timeout (%s)", what, timeout)
	monitor, why := a.blocker()
	if why != "" {
		reason += "; " + why
	}
	return monitor, reason
}

type namedMonitor struct {
	name string
	m    monitors.Monitor
}

func (s *Supervisor) monitorDeps(i *instance) monitors.Deps {
	return monitors.Deps{
		Start: s.reaper.Start,
		Env: func() []string {
			_, userEnv, _ := identity(i.task.cfg) // an unknown user fails Credential
			return taskEnv(s.baseEnv, i.task.cfg, i.index, userEnv)
		},
		Credential: func() (*syscall.Credential, error) {
			cred, _, err := identity(i.task.cfg)
			return cred, err
		},
		LookPath:  func(name string) (string, error) { return lookPath(name, i.task.cfg, nil) },
		Dir:       i.task.cfg.Dir,
		SocketDir: s.socketDir,
		Log:       s.log.WithField("task", i.task.cfg.Name).WithField("instance", i.index),
	}
}

// socketDir holds notify sockets; created on first use, and removed with all it
// holds when procmon ends. "" when it cannot be made: notify monitors then fail.
func (s *Supervisor) socketDir() string {
	if s.notifyDir == "" {
		dir, err := os.MkdirTemp("", "procmon-notify-")
		if err != nil {
			s.log.WithError(err).Error("cannot create the notify socket directory")
			return ""
		}
		// Searchable by all, not listable: a task running as another user must
		// reach its socket (which is writable by all) by name.
		if err := os.Chmod(dir, 0o711); err != nil {
			s.log.WithError(err).Warn("notify socket directory: tasks with user = cannot reach it")
		}
		s.notifyDir = dir
	}
	return s.notifyDir
}

func (s *Supervisor) buildMonitors(i *instance, names []string) ([]namedMonitor, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var out []namedMonitor
	deps := s.monitorDeps(i)
	for _, name := range names {
		m, err := monitors.New(name, s.cfg.Monitors, deps)
		if err != nil {
			closeMonitors(out)
			return nil, fmt.Errorf("monitor %s: %w", name, err)
		}
		out = append(out, namedMonitor{name, m})
	}
	return out, nil
}

// givesEnv tells a monitor that puts variables into the process's environment
// (a notify socket): it must live as long as the process.
func givesEnv(nm namedMonitor) bool { return len(monitors.Environ(nm.m)) > 0 }

func closeMonitors(ms []namedMonitor) {
	for _, nm := range ms {
		monitors.Close(nm.m)
	}
}

// runMonitors starts each monitor in its own goroutine, reporting through post.
// A monitor is released when its Run returns, unless it put variables into the
// process's environment (a notify socket): the process may use those for life,
// so the run releases them when its process group is gone (releaseMonitorEnv).
func (s *Supervisor) runMonitors(ms []namedMonitor, target monitors.Target, ev monitorEvent) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	for _, nm := range ms {
		go func(nm namedMonitor) {
			if !givesEnv(nm) {
				defer monitors.Close(nm.m)
			}
			nm.m.Run(ctx, target, func(err error) {
				e := ev
				e.name, e.err = nm.name, err
				s.post(e)
			})
		}(nm)
	}
	return cancel
}

// prepareMonitorEnv builds the readiness monitors of a run before its spawn, as
// some (notify) must put variables into the process's environment.
func (s *Supervisor) prepareMonitorEnv(r *run) ([]string, error) {
	ms, err := s.buildMonitors(r.inst, r.inst.task.cfg.Ready)
	if err != nil {
		return nil, err
	}
	r.readyMonitors = ms
	var env []string
	for _, nm := range ms {
		env = append(env, monitors.Environ(nm.m)...)
	}
	return env, nil
}

// releaseMonitorEnv closes the readiness monitors that gave the process its
// environment, whether they never ran (a failed spawn) or ran and kept it alive.
func (s *Supervisor) releaseMonitorEnv(r *run) {
	closeMonitors(r.readyMonitors)
	r.readyMonitors = nil
	closeMonitors(r.envMonitors)
	r.envMonitors = nil
}

func (s *Supervisor) startReadiness(r *run) {
	t := r.inst.task.cfg
	r.awaiting = newAwaited(t.Ready)
	r.monitors = s.runMonitors(r.readyMonitors, monitors.Target{Mode: monitors.Polling, Pgid: r.pid},
		monitorEvent{kind: kindReady, run: r})
	for _, nm := range r.readyMonitors {
		if givesEnv(nm) {
			r.envMonitors = append(r.envMonitors, nm)
		}
	}
	r.readyMonitors = nil
	left := t.ReadyTimeout
	if r.inst.waitedSince != (time.Time{}) {
		left -= time.Since(r.inst.waitedSince)
	}
	r.timers = append(r.timers, s.after(max(left, 0), timerEvent{kind: timerReadyTimeout, run: r}))
}

func (s *Supervisor) startLiveness(r *run) {
	ms, err := s.buildMonitors(r.inst, r.inst.task.cfg.Monitors)
	if err != nil {
		s.log.WithFields(r.inst.event("").fields()).WithError(err).Error("cannot build liveness monitors")
		return
	}
	if len(ms) > 0 {
		r.monitors = s.runMonitors(ms, monitors.Target{Mode: monitors.Steady, Pgid: r.pid},
			monitorEvent{kind: kindLiveness, run: r})
	}
}

func (s *Supervisor) onMonitor(ev monitorEvent) {
	switch ev.kind {
	case kindWaitFor:
		s.onWaitFor(ev)
	case kindReady:
		r := ev.run
		if r.inst.run != r || r.exit != nil || r.stopRequested() || r.becameRdy {
			return
		}
		all, news := r.awaiting.record(ev.name, ev.err)
		if news {
			s.noteWaiting(r.inst, "not ready yet", ev)
		}
		if all {
			r.stopMonitors()
			s.becomeReady(r.inst, time.Time{})
		}
	case kindLiveness:
		r := ev.run
		// A pause cancels the checks, but one may have failed just before it:
		// its result says nothing about a process that is stopped on purpose.
		if r.inst.run != r || r.exit != nil || r.stopRequested() || r.paused || ev.err == nil {
			return
		}
		e := r.inst.event(EvMonitorFailed)
		e.Monitor, e.Error = ev.name, ev.err.Error()
		s.emit(e)
		s.requestStop(r, causeLiveness)
	}
}

// beginStart spawns i, or first waits for its wait_for monitors.
func (s *Supervisor) beginStart(i *instance) {
	t := i.task.cfg
	i.waitedSince = time.Time{}
	if len(t.WaitFor) == 0 {
		s.spawns = append(s.spawns, i)
		return
	}
	ms, err := s.buildMonitors(i, t.WaitFor)
	if err != nil {
		s.failedStart(i, err.Error())
		return
	}
	p := &preSpawn{inst: i, waiting: newAwaited(t.WaitFor)}
	i.pre = p
	i.waitedSince = time.Now()
	p.cancel = s.runMonitors(ms, monitors.Target{Mode: monitors.Polling}, monitorEvent{kind: kindWaitFor, pre: p})
	p.timeout = s.after(t.ReadyTimeout, timerEvent{kind: timerWaitFor, inst: i, pre: p})
	s.setState(i, Starting)
}

func (s *Supervisor) onWaitFor(ev monitorEvent) {
	i := ev.pre.inst
	if i.pre != ev.pre {
		return
	}
	all, news := ev.pre.waiting.record(ev.name, ev.err)
	if news {
		s.noteWaiting(i, "wait_for not satisfied yet", ev)
	}
	if all {
		s.cancelPreSpawn(i)
		s.launch([]*instance{i})
	}
}

func (s *Supervisor) onWaitForTimeout(i *instance, p *preSpawn) {
	if i.pre != p {
		return
	}
	s.cancelPreSpawn(i)
	ev := i.event(EvMonitorFailed)
	ev.Monitor, ev.Error = p.waiting.timedOut("wait_for not satisfied", i.task.cfg.ReadyTimeout)
	s.emit(ev)
	s.failedStart(i, ev.Error)
}

func (s *Supervisor) cancelPreSpawn(i *instance) {
	if p := i.pre; p != nil {
		p.cancel()
		p.timeout.Stop()
		i.pre = nil
	}
}
