package monitors

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
)

// checker is one leaf check: a single probe with no schedule of its own, so that
// tests call it directly, with no clock (as Kubernetes' doProbe).
type checker interface {
	check(ctx context.Context) error
}

// releaser is implemented by checkers that hold a client to close at the end.
type releaser interface{ release() }

// abandonAfter bounds how long Run waits, once ctx is done, for the check in flight.
// A check that honours ctx (an exec check killing its process group) ends well
// within it; one that ignores ctx is left behind rather than blocking the caller.
const abandonAfter = 200 * time.Millisecond

// lateAfter is how long past its timeout a check counts as hung. A check that
// honours its ctx returns its own error by then, which names what it waited for
// (`Get "http://...": context deadline exceeded`); a bare "timed out" does not.
const lateAfter = 100 * time.Millisecond

// runner schedules one leaf check. It is the only run loop of the package: initial
// delay, jitter, per-check timeout, no overlapping runs and panic recovery live here
// and nowhere else (Consul copy-pasted them per check type).
type runner struct {
	name     string
	c        checker
	interval time.Duration
	timeout  time.Duration
	delay    time.Duration
	log      logrus.FieldLogger
	closed   sync.Once
}

// checkTiming refuses what config should never let through: a zero interval would
// spin and a zero timeout would fail every check.
func checkTiming(def *config.Monitor) error {
	if def.Interval <= 0 || def.Timeout <= 0 || def.InitialDelay < 0 {
		return errors.New("interval and timeout must be positive, initial_delay not negative")
	}
	return nil
}

func newRunner(name string, def *config.Monitor, c checker, log logrus.FieldLogger) *runner {
	return &runner{name: name, c: c, interval: def.Interval, timeout: def.Timeout,
		delay: def.InitialDelay, log: log}
}

// inflight is the check currently running. Its goroutine only sends on done, which
// is buffered, so an abandoned check never blocks and never reports.
type inflight struct {
	done     chan error
	deadline *time.Timer
	late     bool // its timeout was reported already: its result will be dropped
}

func (f *inflight) results() <-chan error {
	if f == nil {
		return nil
	}
	return f.done
}

func (f *inflight) expired() <-chan time.Time {
	if f == nil || f.late {
		return nil
	}
	return f.deadline.C
}

// Run implements Monitor. The next check is scheduled when the previous one has
// ended or timed out, so a slow but timely check never overlaps the next one; a tick
// that finds a timed-out check still running is a failure of its own.
func (r *runner) Run(ctx context.Context, t Target, report func(error)) {
	defer r.close()
	emit := func(err error) {
		if ctx.Err() == nil { // a result racing the cancellation is stale news
			report(err)
		}
	}
	s := schedule{mode: t.Mode, interval: r.interval}
	tick := time.NewTimer(s.first(r.delay))
	defer tick.Stop()
	var cur *inflight
	for {
		select {
		case <-ctx.Done():
			r.abandon(cur)
			return
		case <-tick.C:
			if cur != nil {
				emit(r.failure(ErrStillRunning))
				tick.Reset(s.next())
				continue
			}
			cur = r.start(ctx)
		case err := <-cur.results():
			cur.deadline.Stop()
			late := cur.late
			cur = nil
			if !late {
				emit(r.outcome(err))
				tick.Reset(s.next())
			}
		case <-cur.expired():
			cur.late = true
			emit(r.failure(fmt.Errorf("%w after %s", ErrTimeout, r.timeout)))
			tick.Reset(s.next())
		}
	}
}

func (r *runner) start(ctx context.Context) *inflight {
	f := &inflight{done: make(chan error, 1), deadline: time.NewTimer(r.timeout + lateAfter)}
	go func() { f.done <- r.probe(ctx) }()
	return f
}

// probe runs the check once under its timeout. A panic is that check's failure: a
// broken probe must not take the supervisor, and every task with it, down.
func (r *runner) probe(ctx context.Context) (err error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			r.log.WithField("stack", string(debug.Stack())).Error("monitor check panicked")
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	err = r.c.check(ctx)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w after %s: %w", ErrTimeout, r.timeout, err)
	}
	return err
}

func (r *runner) outcome(err error) error {
	if err != nil {
		return r.failure(err)
	}
	r.log.Debug("monitor check passed")
	return nil
}

// failure names the monitor in the reason, since the reason travels alone to logs,
// events and the API.
func (r *runner) failure(err error) error {
	err = fmt.Errorf("%s: %w", r.name, err)
	r.log.WithError(err).Debug("monitor check failed")
	return err
}

func (r *runner) abandon(f *inflight) {
	if f == nil {
		return
	}
	f.deadline.Stop()
	select {
	case <-f.done:
	case <-time.After(abandonAfter):
		r.log.Warn("abandoning a monitor check that ignores cancellation")
	}
}

func (r *runner) environ() []string { return nil }

func (r *runner) close() {
	r.closed.Do(func() {
		if rel, ok := r.c.(releaser); ok {
			rel.release()
		}
	})
}
