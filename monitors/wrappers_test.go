package monitors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/config"
)

// script is a fake child Monitor that replays its results, then waits for ctx.
type script []error

func (s script) Run(ctx context.Context, _ Target, report func(error)) {
	for _, err := range s {
		report(err)
	}
	<-ctx.Done()
}

var errBad = errors.New("bad")

func messages(errs []error) []string {
	out := make([]string, len(errs))
	for i, err := range errs {
		out[i] = "ok"
		if err != nil {
			out[i] = err.Error()
		}
	}
	return out
}

func TestRetry(t *testing.T) {
	f := errBad
	log, hook := quietLog()
	m := &retry{name: "r", retries: 3, log: log,
		child: script{f, f, f, f, f, nil, f, f, f, f, nil}}
	rec, _ := run(t, m, Target{})
	got := rec.waitLen(t, 5)
	assert.Equal(t, []string{
		"r: 4 consecutive failures: bad", // the 4th, not before
		"r: 5 consecutive failures: bad", // and every one after
		"ok",                             // a success is passed on and resets the count
		"r: 4 consecutive failures: bad",
		"ok",
	}, messages(got))
	assert.ErrorIs(t, got[0], errBad)

	var warned []any
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel {
			warned = append(warned, e.Data["failures"])
		}
	}
	assert.Equal(t, []any{1, 2, 3, 1, 2, 3}, warned, "failures below the threshold are logged")
}

func TestRetryZero(t *testing.T) {
	log, _ := quietLog()
	rec, _ := run(t, &retry{name: "r", log: log, child: script{errBad, nil}}, Target{})
	assert.Equal(t, []string{"r: 1 consecutive failures: bad", "ok"}, messages(rec.waitLen(t, 2)))
}

func TestFail(t *testing.T) {
	rec, stop := run(t, &fail{child: script{nil, errBad, nil, nil, errBad, nil}}, Target{})
	assert.Equal(t, []string{"bad", "bad"}, messages(rec.waitLen(t, 2)))
	stop()
	assert.Len(t, rec.results(), 2, "never a success")
}

func TestAllOfAnyOf(t *testing.T) {
	ok, bad, none := latest{seen: true}, latest{seen: true, err: errBad}, latest{}
	for _, tc := range []struct {
		in       []latest
		all, any string // "" = no verdict
	}{
		{[]latest{ok, ok}, "ok", "ok"},
		{[]latest{ok, none}, "", "ok"},
		{[]latest{none, ok}, "", "ok"},
		{[]latest{bad, none}, "c: bad", ""},
		{[]latest{none, bad}, "c: bad", ""},
		{[]latest{ok, bad}, "c: bad", "ok"},
		{[]latest{bad, bad}, "c: bad", "c: none succeeded: bad; bad"},
		{[]latest{none, none}, "", ""},
	} {
		for _, f := range []struct {
			name   string
			decide func(string, []latest) (bool, error)
			want   string
		}{{"all", allOf, tc.all}, {"any", anyOf, tc.any}} {
			decided, err := f.decide("c", tc.in)
			got := ""
			if decided {
				got = messages([]error{err})[0]
			}
			assert.Equal(t, f.want, got, "%s of %v", f.name, tc.in)
		}
	}
}

// pushed is a fake child Monitor whose results the test feeds one at a time; push
// returns once the combinator has taken the result.
type pushed struct {
	results chan error
	taken   chan struct{}
}

func newPushed() *pushed { return &pushed{results: make(chan error), taken: make(chan struct{})} }

func (p *pushed) Run(ctx context.Context, _ Target, report func(error)) {
	for {
		select {
		case err := <-p.results:
			report(err)
			p.taken <- struct{}{}
		case <-ctx.Done():
			return
		}
	}
}

func (p *pushed) push(err error) {
	p.results <- err
	<-p.taken
}

func TestAllRun(t *testing.T) {
	a, b := newPushed(), newPushed()
	rec, _ := run(t, &combinator{name: "both", children: []Monitor{a, b}, decide: allOf}, Target{})
	a.push(nil) // no verdict until b has reported
	b.push(nil)
	a.push(fmt.Errorf("a: down"))
	b.push(fmt.Errorf("b: down"))
	a.push(nil) // b still fails: no news about the combination
	b.push(nil)
	assert.Equal(t, []string{"ok", "both: a: down", "ok"}, messages(rec.waitLen(t, 3)))
}

// While an all fails, its failures come on the schedule of its lowest-indexed
// failing child, each with that child's own reason.
func TestAllFailsOnOneSchedule(t *testing.T) {
	a, b := newPushed(), newPushed()
	rec, _ := run(t, &combinator{name: "both", children: []Monitor{a, b}, decide: allOf}, Target{})
	a.push(nil)
	b.push(nil)
	b.push(fmt.Errorf("b: down")) // the flip
	a.push(fmt.Errorf("a: down")) // a is now the lowest-indexed failing child
	b.push(fmt.Errorf("b: down")) // b's rounds no longer count
	b.push(fmt.Errorf("b: down"))
	a.push(fmt.Errorf("a: down"))
	a.push(nil)
	b.push(fmt.Errorf("b: still down")) // b's rounds count again
	b.push(nil)
	assert.Equal(t, []string{"ok", "both: b: down", "both: a: down", "both: a: down", "both: b: still down", "ok"},
		messages(rec.waitLen(t, 6)))
}

func TestAnyRun(t *testing.T) {
	a, b := newPushed(), newPushed()
	rec, _ := run(t, &combinator{name: "either", children: []Monitor{a, b}, decide: anyOf}, Target{})
	a.push(fmt.Errorf("a: down")) // no verdict until b has reported
	b.push(fmt.Errorf("b: down"))
	a.push(nil)
	b.push(fmt.Errorf("b: down")) // a still succeeds: no news about the combination
	a.push(fmt.Errorf("a: down"))
	b.push(fmt.Errorf("b: down")) // failing again: only a's rounds count
	a.push(fmt.Errorf("a: still down"))
	b.push(nil)
	assert.Equal(t, []string{"either: none succeeded: a: down; b: down", "ok",
		"either: none succeeded: a: down; b: down", "either: none succeeded: a: still down; b: down", "ok"},
		messages(rec.waitLen(t, 5)))
}

// The flip to failure is reported even when the lowest-indexed child did not make
// it: a bare any in monitors must stop the task at once, not a round of child 0
// later.
func TestAnyFlipFromAHigherChild(t *testing.T) {
	a, b := newPushed(), newPushed()
	rec, _ := run(t, &combinator{name: "either", children: []Monitor{a, b}, decide: anyOf}, Target{})
	b.push(nil)
	a.push(fmt.Errorf("a: down"))
	b.push(fmt.Errorf("b: down"))
	assert.Equal(t, []string{"ok", "either: none succeeded: a: down; b: down"}, messages(rec.waitLen(t, 2)))
}

// A retry around an all counts the checks that find the all failing, not the
// reports of its healthy member, which is probed far more often than the failing
// command runs.
func TestRetryAroundAllCountsOnlyItsFailures(t *testing.T) {
	open, _ := ports(t)
	runs := filepath.Join(t.TempDir(), "runs")
	healthy := leaf("port_in_use")
	healthy.Address = []string{open}
	healthy.Interval = time.Millisecond
	failing := leaf("exec")
	failing.Command = []string{"sh", "-c", `echo run >> "$1"; exit 1`, "sh", runs}
	failing.Interval = 50 * time.Millisecond
	defs := map[string]*config.Monitor{
		"healthy": healthy,
		"failing": failing,
		"both":    {Type: "all", Children: []string{"healthy", "failing"}},
		"again":   {Type: "retry", Monitor: "both", Retries: 3},
	}
	rec, _ := run(t, build(t, "again", defs, testDeps(t)), Target{Mode: Steady})
	first := rec.waitLen(t, 1)[0]
	require.Error(t, first)
	assert.Contains(t, first.Error(), "again: 4 consecutive failures: both: failing: command sh: exit code 1")
	data, err := os.ReadFile(runs)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, strings.Count(string(data), "run\n"), 4,
		"the retry gave up before the failing command had run 4 times")
}

// With both members of an all failing, a retry around it counts the rounds of the
// first, slow one, not every check of the fast one too, and names the member whose
// check it counted.
func TestRetryAroundAllCountsOneScheduleOfFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	runs := filepath.Join(t.TempDir(), "runs")
	slow := leaf("exec")
	slow.Command = []string{"sh", "-c", `echo run >> "$1"; exit 1`, "sh", runs}
	slow.Interval = 50 * time.Millisecond
	fast := leaf("port_in_use")
	fast.Address = []string{l.Addr().String()}
	fast.Interval = time.Millisecond
	defs := map[string]*config.Monitor{
		"slow":  slow,
		"fast":  fast,
		"both":  {Type: "all", Children: []string{"slow", "fast"}},
		"again": {Type: "retry", Monitor: "both", Retries: 3},
	}
	deps := testDeps(t)
	log, hook := quietLog()
	deps.Log = log
	rec, _ := run(t, build(t, "again", defs, deps), Target{Mode: Steady})
	require.Eventually(t, func() bool {
		for _, e := range hook.AllEntries() {
			if e.Level == logrus.WarnLevel {
				return true
			}
		}
		return false
	}, 10*time.Second, time.Millisecond, "waiting for the retry to count the slow member's first failure")
	require.NoError(t, l.Close()) // now both fail

	first := rec.waitLen(t, 1)[0]
	require.Error(t, first)
	assert.Contains(t, first.Error(), "again: 4 consecutive failures: both: slow: command sh: exit code 1")
	data, err := os.ReadFile(runs)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, strings.Count(string(data), "run\n"), 4,
		"the retry gave up before the slow member had failed 4 times")
}

func TestNewErrors(t *testing.T) {
	deps := testDeps(t)
	good := leaf("port_in_use")
	good.Address = []string{"127.0.0.1:1"}
	zero := leaf("port_in_use")
	zero.Interval = 0
	noCmd := leaf("exec")
	defs := map[string]*config.Monitor{
		"good":   good,
		"nil":    nil,
		"odd":    leaf("ping"),
		"loop1":  {Type: "retry", Monitor: "loop2"},
		"loop2":  {Type: "fail", Monitor: "loop1"},
		"zero":   zero,
		"no-cmd": noCmd,
		"up":     {Type: "notify"},
		"broken": {Type: "all", Children: []string{"up", "missing"}},
		"empty":  {Type: "any"},
	}
	for name, want := range map[string]string{
		"missing": `monitor "missing" is not defined`,
		"nil":     `monitor "nil" is not defined`,
		"odd":     `unknown type "ping"`,
		"loop1":   `monitor "loop1" wraps itself`,
		"zero":    "interval and timeout must be positive",
		"no-cmd":  "command is empty",
		"broken":  `monitor "missing" is not defined`,
		"empty":   "no monitors listed",
	} {
		m, err := New(name, defs, deps)
		assert.ErrorContains(t, err, want, name)
		assert.Nil(t, m, name)
	}
	entries, err := os.ReadDir(deps.SocketDir())
	require.NoError(t, err)
	assert.Empty(t, entries, "a failed New closes the sockets it created")
}

func TestEnvironThroughWrappers(t *testing.T) {
	deps := testDeps(t)
	port := leaf("port_in_use")
	port.Address = []string{"127.0.0.1:1"}
	defs := map[string]*config.Monitor{
		"up":    {Type: "notify"},
		"port":  port,
		"again": {Type: "retry", Monitor: "up", Retries: 3},
		"both":  {Type: "all", Children: []string{"port", "again"}},
		"plain": {Type: "fail", Monitor: "port"},
	}
	m, err := New("both", defs, deps)
	require.NoError(t, err)
	path := socketOf(t, m)
	assert.FileExists(t, path)
	Close(m)
	Close(m)
	assert.NoFileExists(t, path)
	assert.Nil(t, Environ(build(t, "plain", defs, deps)))
	assert.True(t, strings.HasPrefix(path, deps.SocketDir()))
}
