package tasks

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/output"
	"github.com/procmon/procmon/signals"
)

// Errors of control requests; the API maps them to HTTP statuses.
var (
	ErrUnknownTask = errors.New("unknown task")
	ErrConflict    = errors.New("not possible in this state")
	ErrStopped     = errors.New("procmon is shutting down")
)

// Every control request runs on the supervisor goroutine through Do, whether it
// comes from a signal, the API or the CLI: one code path per action.

// requested logs a control request on a task, so that the log tells why what
// follows it happens (supervisord logs its own as well).
func (s *Supervisor) requested(t *task, action string, fields logrus.Fields) {
	s.log.WithFields(fields).WithField("task", t.cfg.Name).Info(action + " requested")
}

func (s *Supervisor) onTask(name string, fn func(t *task) error) error {
	var err error
	if !s.Do(func() {
		var t *task
		if t, err = s.lookupTask(name); err != nil {
			return
		}
		if s.shutdown != nil {
			err = ErrStopped
			return
		}
		err = fn(t)
	}) {
		return ErrStopped
	}
	return err
}

// Start enables every instance of name again: stopped, ended, fatal and
// backing-off ones run (with fresh start retries) once their parents are ready,
// and so does the subtree that waited for them.
func (s *Supervisor) Start(name string) error {
	return s.onTask(name, func(t *task) error {
		s.startTask(t)
		return nil
	})
}

func (s *Supervisor) startTask(t *task) {
	s.requested(t, "start", nil)
	for _, i := range t.instances {
		s.enable(i)
	}
}

// enable lets i run again. An instance whose process ended but whose group is
// still draining becomes pending too: it starts once the group is gone. One in
// backoff starts now, with fresh start retries: someone asked for it.
func (s *Supervisor) enable(i *instance) {
	i.enabled = true
	if i.state == Backoff {
		s.cancelBackoff(i)
	}
	if i.state == Stopped || i.state == Backoff || i.state.terminal() {
		i.failedStarts = 0
		s.setState(i, Pending)
	}
}

// Stop stops every instance of name after the tasks below it, and keeps them
// stopped until Start (SPEC 3.4).
func (s *Supervisor) Stop(name string) error {
	return s.onTask(name, func(t *task) error {
		s.stopTask(t)
		return nil
	})
}

func (s *Supervisor) stopTask(t *task) {
	s.requested(t, "stop", nil)
	for _, i := range t.instances {
		i.enabled = false
		if r := i.live(); r != nil {
			s.requestStop(r, causeTree)
		} else if i.state.terminal() { // idle, or its group still draining
			// A completed oneshot counted as ready: the tasks below it stop now,
			// not at the next restart of its parent.
			s.setState(i, Stopped)
		}
	}
}

// Restart stops every instance of name (its subtree first) and starts it again.
func (s *Supervisor) Restart(name string) error {
	return s.onTask(name, func(t *task) error {
		s.restartTask(t)
		return nil
	})
}

func (s *Supervisor) restartTask(t *task) {
	s.requested(t, "restart", nil)
	for _, i := range t.instances {
		s.restartInstance(i)
		s.enable(i)
	}
}

// restartInstance stops i's process, if it has one, for i to run again once it is gone.
func (s *Supervisor) restartInstance(i *instance) {
	if r := i.live(); r != nil {
		i.recycle = true
		s.requestStop(r, causeTree)
	}
}

// Scale runs n instances of name from now on; the highest indexes go first.
func (s *Supervisor) Scale(name string, n int) error {
	if n < 0 {
		return fmt.Errorf("%w: instances must be 0 or more", ErrConflict)
	}
	return s.onTask(name, func(t *task) error {
		s.requested(t, "scale", logrus.Fields{"instances": n})
		s.scale(t, n)
		return nil
	})
}

// scale keeps instances 0 to n-1, the added ones running as the kept ones do.
func (s *Supervisor) scale(t *task, n int) { s.scaleTo(t, n, t.enabledForScale()) }

// scaleTo keeps instances 0 to n-1; enabled says whether revived and added ones
// run. An index may be missing (a lower instance scaled away is gone while a
// higher one still stops), so indexes, not positions, say which instances to
// keep, revive or add.
func (s *Supervisor) scaleTo(t *task, n int, enabled bool) {
	wasReady := t.ready()
	held := map[int]bool{}
	for _, i := range t.instances {
		held[i.index] = true
		switch {
		case i.index >= n:
			s.removeInstance(i)
		case i.removed: // scaled away, and back before its process was gone
			s.reviveInstance(i, enabled, wasReady)
		}
	}
	for k := range n {
		if !held[k] {
			s.addInstance(t, k, enabled, wasReady)
		}
	}
	slices.SortFunc(t.instances, func(a, b *instance) int { return a.index - b.index })
	s.dropRemoved(t)
}

// addInstance adds a replica. One added to a ready task joins it: the tasks
// below do not wait for it (nor stop) as they would for the task's first ones.
func (s *Supervisor) addInstance(t *task, index int, enabled, joining bool) {
	i := newInstance(t, index)
	i.enabled = enabled
	if enabled {
		i.state = Pending
	}
	i.joining = joining
	t.instances = append(t.instances, i)
	for f := range t.followers {
		s.follow(t, i, 0, f)
	}
}

// enabledForScale says whether instances added by a scale run: as the task's
// kept instances do, after a `stop` or `start`; yes when none is kept.
func (t *task) enabledForScale() bool {
	for _, i := range t.instances {
		if !i.removed {
			return i.enabled
		}
	}
	return true
}

func (s *Supervisor) removeInstance(i *instance) {
	i.removed = true
	i.enabled = false
	i.recycle = false
	s.cancelPreSpawn(i)
	if r := i.live(); r != nil {
		s.requestStop(r, causeTree)
	}
}

// reviveInstance keeps a scaled-away instance whose process is still stopping: it
// runs again, under the same index, once that process is gone.
func (s *Supervisor) reviveInstance(i *instance, enabled, joining bool) {
	i.removed = false
	i.joining = joining
	if enabled {
		i.recycle = i.live() != nil
		s.enable(i)
	}
}

// dropRemoved forgets scaled-away instances once their processes are gone.
func (s *Supervisor) dropRemoved(t *task) {
	kept := t.instances[:0]
	for _, i := range t.instances {
		if i.removed && i.run == nil {
			s.cancelBackoff(i)
			if i.output != nil {
				i.output.close()
			}
			continue
		}
		kept = append(kept, i)
	}
	t.instances = kept
	if t.removed && len(kept) == 0 {
		s.forget(t)
	}
}

// Signal sends sig to the process group of every running instance of name.
func (s *Supervisor) Signal(name string, sig syscall.Signal) error {
	return s.onTask(name, func(t *task) error {
		s.requested(t, "signal", logrus.Fields{"signal": signalName(sig)})
		if !t.signal(sig) {
			return fmt.Errorf("%w: %s has no running process", ErrConflict, name)
		}
		return nil
	})
}

// signal sends sig to the process group of every running instance of t, and
// tells whether there was one.
func (t *task) signal(sig syscall.Signal) (sent bool) {
	for _, i := range t.instances {
		if r := i.live(); r != nil {
			signals.SignalGroup(r.pid, sig)
			sent = true
		}
	}
	return sent
}

// Shutdown stops everything, as SIGTERM does.
func (s *Supervisor) Shutdown() {
	s.Do(func() { s.beginShutdown(0) })
}

// NotReady lists the autostart tasks that are not ready (empty: procmon is ready).
func (s *Supervisor) NotReady() ([]string, error) {
	var names []string
	if !s.Do(func() {
		for _, t := range s.order {
			// A task the file gives no instance is not meant to run, as one with
			// autostart = false; one scaled to 0 since is held back.
			if t.cfg.Autostart && t.cfg.Instances > 0 && !t.allReady() {
				names = append(names, t.cfg.Name)
			}
		}
	}) {
		return nil, ErrStopped
	}
	return names, nil
}

// Logs returns up to n recent output lines of name's instances, oldest first.
func (s *Supervisor) Logs(name string, n int) ([]output.Line, error) {
	var rings []*output.Ring
	if err := s.onTask(name, func(t *task) error {
		rings = t.rings()
		return nil
	}); err != nil {
		return nil, err
	}
	var lines []output.Line
	for _, r := range rings {
		lines = append(lines, r.Last(n)...)
	}
	return newest(lines, n), nil
}

// Follow returns up to n recent output lines of name's instances, oldest first,
// and from then on queues every new one on f, those of instances added later by
// a scale included, until stop is called. A reader that falls behind too far
// loses lines; the tasks never wait for it.
func (s *Supervisor) Follow(name string, n int, f *output.Follower) (backlog []output.Line, stop func(), err error) {
	var t *task
	if err := s.onTask(name, func(found *task) error {
		t = found
		for _, i := range t.instances {
			backlog = append(backlog, s.follow(t, i, n, f)...)
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return newest(backlog, n), func() { s.Do(func() { t.unfollow(f) }) }, nil
}

// follow queues the new lines of i on f, and returns up to n of its last ones.
func (s *Supervisor) follow(t *task, i *instance, n int, f *output.Follower) []output.Line {
	lines, stop := i.logs.Follow(n, f)
	if t.followers == nil {
		t.followers = map[*output.Follower][]func(){}
	}
	t.followers[f] = append(t.followers[f], stop)
	return lines
}

func (t *task) unfollow(f *output.Follower) {
	for _, stop := range t.followers[f] {
		stop()
	}
	delete(t.followers, f)
}

// newest orders lines of several instances by time and keeps the last n.
func newest(lines []output.Line, n int) []output.Line {
	sort.SliceStable(lines, func(a, b int) bool { return lines[a].Time.Before(lines[b].Time) })
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// Done is closed once the supervisor has stopped.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

func (t *task) rings() []*output.Ring {
	var rings []*output.Ring
	for _, i := range t.instances {
		rings = append(rings, i.logs)
	}
	return rings
}

// lookupTask finds the task of that name. When there is none, the error says
// so, and when name is an instance's label (as status and output prefixes show
// them), which task to name instead.
func (s *Supervisor) lookupTask(name string) (*task, error) {
	if t, ok := s.tasks[name]; ok {
		return t, nil
	}
	if base, n, ok := config.SplitLabel(name); ok && s.tasks[base] != nil {
		return nil, fmt.Errorf("%w %q: it is instance %s of task %q, and commands take a task's name", ErrUnknownTask, name, n, base)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownTask, name)
}
