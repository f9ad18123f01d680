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
// retry around it must not count it as one. Nor may a retry count every failing
// child's report, or N failing children would cut its tolerance N-fold: while the
// combination fails, it reports failures on one schedule only (see folded.add).
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
	f := folded{c: c, state: make([]latest, len(c.children))}
	for r := range results { // until every child's Run has returned
		if ctx.Err() != nil {
			continue
		}
		if news, err := f.add(r); news {
			report(err)
		}
	}
}

// folded is the state of one Run of a combinator.
type folded struct {
	c       *combinator
	state   []latest
	failing bool // the verdict is failure
}

// add records a child's result and says whether the combination reports, and what.
// While the verdict is failure, only reports of the lowest-indexed failing child
// count, so that failures come on one child's schedule. allOf names that same
// child, so the reason is the reporting child's own error (anyOf lists every
// child's latest). The report that flips the verdict to failure is passed on
// whichever child made it. An all's flip always comes from its only failing child,
// but an any's comes from its last healthy one: holding that back until child 0
// reports again would hide a known failure of a bare any in monitors (no retry
// to count it) for up to one interval of child 0.
func (f *folded) add(r childResult) (news bool, err error) {
	f.state[r.i] = latest{seen: true, err: r.err}
	decided, err := f.c.decide(f.c.name, f.state)
	wasFailing := f.failing
	f.failing = decided && err != nil
	switch {
	case !decided || (err == nil) != (r.err == nil):
		return false, nil
	case err != nil && wasFailing && r.i != f.lowestFailing():
		return false, nil
	}
	return true, err
}

func (f *folded) lowestFailing() int {
	for i, l := range f.state {
		if l.seen && l.err != nil {
			return i
		}
	}
	return -1
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
