package monitors

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
)

// retry is a consecutive-failure threshold around another monitor (Consul's
// failuresBeforeCritical, Kubernetes' failureThreshold). It counts every failed
// result of the wrapped monitor, whatever the reason (a refused connection counts
// like a bad status; there is no separate "could not check"), and passes on only
// the failures past the threshold: with retries = 3, the 4th consecutive failure
// and every one after it. A success resets the count and is passed on. The count
// lives in Run, so it starts at zero for every run. It counts only in Steady
// mode (liveness): in Polling mode every result passes.
type retry struct {
	name    string
	child   Monitor
	retries int
	log     logrus.FieldLogger
}

// Run implements Monitor. It has no schedule: it runs in the child's Run and its
// report calls, which already are sequential.
func (r *retry) Run(ctx context.Context, t Target, report func(error)) {
	if t.Mode == Polling {
		// Readiness and wait_for only wait for a success: a failure there stops
		// nothing, so there is nothing to tolerate, and its reason is what a
		// ready_timeout must tell.
		r.child.Run(ctx, t, func(err error) {
			if err != nil {
				err = fmt.Errorf("%s: %w", r.name, err)
			}
			report(err)
		})
		return
	}
	failures := 0
	r.child.Run(ctx, t, func(err error) {
		if err == nil {
			failures = 0
			report(nil)
			return
		}
		failures++
		if failures > r.retries {
			report(fmt.Errorf("%s: %d consecutive failures: %w", r.name, failures, err))
			return
		}
		r.log.WithError(err).WithFields(logrus.Fields{"failures": failures, "retries": r.retries}).
			Warn("monitor check failed, below the retry threshold")
	})
}

func (r *retry) environ() []string { return Environ(r.child) }
func (r *retry) close()            { Close(r.child) }

// fail passes on the failures of another monitor and never reports success: for
// liveness checks that may stop a task but never vouch for it.
type fail struct{ child Monitor }

// Run implements Monitor.
func (f *fail) Run(ctx context.Context, t Target, report func(error)) {
	f.child.Run(ctx, t, func(err error) {
		if err != nil {
			report(err)
		}
	})
}

func (f *fail) environ() []string { return Environ(f.child) }
func (f *fail) close()            { Close(f.child) }
