package monitors

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// combinator runs several monitors at once, each on its own schedule, and folds
// their latest results with decide (allOf or anyOf). A child report yields the
// verdict only when the child's fresh result agrees with it: a healthy child's
// report while a sibling keeps an all failing is no new failure of the all, and a
// retry around it must not count it as one. So a retry counts one failure per
// check that finds the combination failing.
type combinator struct {
	name     string
	children []Monitor
	decide   func(name string, l []latest) (decided bool, err error)
}

// latest is the last result of one child.
type latest struct {
	seen bool
	err  error
}

type childResult struct {
	i   int
	err error
}

// Run implements Monitor. The children report into one channel that Run alone
// reads, so the verdicts and report calls stay sequential without a lock.
func (c *combinator) Run(ctx context.Context, t Target, report func(error)) {
	results := make(chan childResult)
	var wg sync.WaitGroup
	for i, child := range c.children {
		wg.Go(func() {
			child.Run(ctx, t, func(err error) {
				select {
				case results <- childResult{i, err}:
				case <-ctx.Done():
				}
			})
		})
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	state := make([]latest, len(c.children))
	for r := range results { // until every child's Run has returned
		if ctx.Err() != nil {
			continue
		}
		state[r.i] = latest{seen: true, err: r.err}
		if decided, err := c.decide(c.name, state); decided && (err == nil) == (r.err == nil) {
			report(err)
		}
	}
}

// allOf fails as soon as any child's latest result is a failure, and succeeds once
// every child has reported and every latest result is a success.
func allOf(name string, l []latest) (bool, error) {
	for _, r := range l {
		if r.seen && r.err != nil {
			return true, fmt.Errorf("%s: %w", name, r.err)
		}
	}
	for _, r := range l {
		if !r.seen {
			return false, nil
		}
	}
	return true, nil
}

// anyOf succeeds as soon as any child's latest result is a success, and fails once
// every child has reported and every latest result is a failure.
func anyOf(name string, l []latest) (bool, error) {
	for _, r := range l {
		if r.seen && r.err == nil {
			return true, nil
		}
	}
	var errs multiError
	for _, r := range l {
		if !r.seen {
			return false, nil
		}
		errs = append(errs, r.err)
	}
	return true, fmt.Errorf("%s: none succeeded: %w", name, errs)
}

// multiError keeps every child's reason on one line, for logs and events.
type multiError []error

func (m multiError) Error() string {
	msgs := make([]string, len(m))
	for i, err := range m {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (m multiError) Unwrap() []error { return m }

func (c *combinator) environ() []string {
	var env []string
	for _, child := range c.children {
		env = append(env, Environ(child)...)
	}
	return env
}

func (c *combinator) close() {
	for _, child := range c.children {
		Close(child)
	}
}
