package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/procmon/procmon/config"
)

// ErrNotDone is the error of a waited-for action that did not take effect: an
// instance failed to start, or cannot start while its parents do not run.
var ErrNotDone = errors.New("did not take effect")

// Actions that Await carries out.
const (
	ActStart   = "start"
	ActStop    = "stop"
	ActRestart = "restart"
)

// Await carries out action on name, as Start, Stop or Restart do, then waits
// until it has taken effect, or ctx ends. A stop has taken effect once no
// process of the task, nor of the tasks below it, is left. A start or restart
// has once every instance is ready (completed, for a oneshot; past start_time,
// for a service without ready monitors), with a process started since for a
// restart. It has failed as soon as one instance fails to start (procmon goes
// on as its restart policy says, as supervisorctl's start reports a spawn
// error), or waits for parents that will not be ready by themselves.
func (s *Supervisor) Await(ctx context.Context, name, action string) error {
	w := &waiter{action: action, result: make(chan error, 1), gone: ctx.Done()}
	err := s.onTask(name, func(t *task) error {
		switch action {
		case ActStart:
			s.startTask(t)
		case ActStop:
			s.stopTask(t)
		case ActRestart:
			s.restartTask(t)
		default:
			return fmt.Errorf("%w: unknown action %q", ErrConflict, action)
		}
		w.t, w.marks = t, marksOf(t)
		s.waiters = append(s.waiters, w)
		return nil
	})
	if err != nil {
		return err
	}
	select {
	case err := <-w.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return ErrStopped
	}
}

// waiter is an Await in progress, looked at after every reconcile pass.
type waiter struct {
	t      *task
	action string
	marks  map[*instance]mark
	result chan error
	gone   <-chan struct{} // the caller gave up
	wake   *time.Timer     // looks again once start_time has passed
}

// mark is what an instance had done when the wait began.
type mark struct{ spawns, restarts int }

func marksOf(t *task) map[*instance]mark {
	m := map[*instance]mark{}
	for _, i := range t.instances {
		m[i] = mark{i.spawns, i.restarts}
	}
	return m
}

// settleWaiters answers the waits whose action has taken effect or failed, and
// forgets those whose caller gave up.
func (s *Supervisor) settleWaiters() {
	kept := s.waiters[:0]
	for _, w := range s.waiters {
		select {
		case <-w.gone:
			continue
		default:
		}
		done, err, again := w.settled()
		if done {
			if w.wake != nil {
				w.wake.Stop()
			}
			w.result <- err
			continue
		}
		if again > 0 && w.wake == nil {
			w.wake = time.AfterFunc(again, func() { s.Do(func() { w.wake = nil }) })
		}
		kept = append(kept, w)
	}
	clear(s.waiters[len(kept):])
	s.waiters = kept
}

// settled tells whether the wait is over, and how; when it hangs on time alone
// (start_time), again is how long until it should be looked at once more.
func (w *waiter) settled() (done bool, err error, again time.Duration) {
	if w.t.removed {
		return true, fmt.Errorf("%w: %s was removed by a reload", ErrNotDone, w.t.cfg.Name), 0
	}
	if w.action == ActStop {
		done, err := w.stopped()
		return done, err, 0
	}
	if len(w.t.instances) == 0 {
		return true, fmt.Errorf("%w: %s has no instance: scale it first", ErrNotDone, w.t.cfg.Name), 0
	}
	for _, i := range w.t.instances {
		if why := w.failure(i); why != "" {
			return true, fmt.Errorf("%w: %s %s", ErrNotDone, i.label, why), 0
		}
	}
	for _, i := range w.t.instances {
		if !i.readyLike() || (w.action == ActRestart && i.spawns == w.marks[i].spawns) {
			return false, nil, 0
		}
		if left := i.startTimeLeft(); left > 0 {
			return false, nil, left
		}
	}
	return true, nil, 0
}

// startTimeLeft is how long a service without ready monitors, ready as soon as
// spawned, must still run before its start counts as a success: an exit sooner
// is a failed start, which the wait must report (as supervisorctl waits
// startsecs).
func (i *instance) startTimeLeft() time.Duration {
	t := i.task.cfg
	if t.Type != config.Service || len(t.Ready) > 0 || i.run == nil {
		return 0
	}
	return t.StartTime - time.Since(i.run.started)
}

// stopped tells whether no process of the task, nor of the tasks below it that
// its stop stops, is left; a start that overtook the stop ends the wait.
func (w *waiter) stopped() (bool, error) {
	for _, i := range w.t.instances {
		if i.enabled {
			return true, fmt.Errorf("%w: %s was started again before it stopped", ErrNotDone, i.label)
		}
	}
	seen := map[*task]bool{}
	var busy func(t *task) bool
	busy = func(t *task) bool {
		if seen[t] {
			return false
		}
		seen[t] = true
		for _, i := range t.instances {
			if i.run != nil {
				return true
			}
		}
		return slices.ContainsFunc(t.children, busy)
	}
	return !busy(w.t), nil
}

// failure says why i will not become ready by itself, if it will not. A
// restart since the wait began is a failure, whatever the state it left (with
// restart_delay = "0s" it is pending again before anyone looks).
func (w *waiter) failure(i *instance) string {
	switch {
	case i.state == Fatal:
		return "is fatal: " + i.lastFailure
	case i.state == Exited:
		return "exited (" + i.lastExit.String() + ") and its restart policy does not run it again"
	case i.state == Stopped && !i.enabled: // an enabled one is only held, by maintenance
		return "was stopped"
	case i.restarts > w.marks[i].restarts:
		if i.failedStarts > 0 {
			return "failed to start (" + i.lastFailure + "); procmon tries again"
		}
		return "exited (" + i.lastExit.String() + "); procmon runs it again"
	case i.state == Pending:
		if blocked := blockedParents(i.task, map[*task]string{}); len(blocked) > 0 {
			return "waits for parents that will not be ready by themselves: " + strings.Join(blocked, ", ")
		}
	}
	return ""
}

// blockedParents lists the parents of t that will not become ready by
// themselves, each with why. seen keeps the verdict on every task looked at, as
// parents are shared.
func blockedParents(t *task, seen map[*task]string) []string {
	var out []string
	for _, p := range t.parents {
		if why := p.stuck(seen); why != "" {
			out = append(out, fmt.Sprintf("%s (%s)", p.cfg.Name, why))
		}
	}
	return out
}

// stuck says why t will not become ready by itself, if it will not: an
// instance stopped, fatal, exited or failing to start, none at all, or parents
// stuck in turn.
func (t *task) stuck(seen map[*task]string) string {
	if why, ok := seen[t]; ok {
		return why
	}
	why := ""
	if len(t.instances) == 0 {
		why = "scaled to 0"
	}
	for _, i := range t.instances {
		if why != "" {
			break
		}
		switch {
		case i.state == Stopped, i.state == Fatal, i.state == Exited:
			why = i.state.String()
		case i.state == Backoff && i.failedStarts > 0:
			why = "failing to start: " + i.lastFailure
		case i.state == Pending:
			if blocked := blockedParents(t, seen); len(blocked) > 0 {
				why = "waits for " + strings.Join(blocked, ", ")
			}
		}
	}
	seen[t] = why
	return why
}
