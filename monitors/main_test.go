package monitors

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

// helperEnv selects a helper mode when the test binary re-executes itself (the
// os/exec_test trick), so process tests need no tools in the image.
const helperEnv = "MONITORS_TEST_HELPER"

// reaper is the test binary's single wait(2) caller, as procmon's is.
var reaper *signals.Reaper

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	// As procmon does: orphans of check commands come back to us to be reaped, so
	// "the group is gone" does not depend on how fast the machine's init reaps.
	log, _ := quietLog()
	signals.BecomeInit(true, log)
	RouteRedisLogs(log)
	reaper = signals.NewReaper(nil)
	signals.Listen(reaper)
	os.Exit(m.Run())
}

func helper(mode string) int {
	switch mode {
	case "notify":
		// Wait for the test's go-ahead (EOF on stdin), then notify as sd_notify does.
		_, _ = io.Copy(io.Discard, os.Stdin)
		addr := &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"}
		conn, err := net.DialUnix("unixgram", nil, addr)
		if err != nil {
			return 2
		}
		defer conn.Close()
		// READY=1 twice, as a restarting daemon may: ready is reported once.
		for _, msg := range []string{"STATUS=starting\nREADY=1\n", "READY=1\n"} {
			if _, err := conn.Write([]byte(msg)); err != nil {
				return 3
			}
		}
		return 0
	}
	return 1
}

// child is a process started through the reaper in its own process group.
type child struct {
	pgid   int
	exited chan signals.Exit
}

func startChild(t *testing.T, cmd *exec.Cmd) *child {
	t.Helper()
	c := &child{exited: make(chan signals.Exit, 1)}
	pgid, err := startGroup(reaper.Start, cmd, func(x signals.Exit) { c.exited <- x })
	require.NoError(t, err)
	require.Positive(t, pgid)
	c.pgid = pgid
	t.Cleanup(func() { c.kill(t) })
	return c
}

// kill ends the child's group and waits for the reaper to report its exit.
func (c *child) kill(t *testing.T) {
	if c.exited == nil {
		return
	}
	signals.SignalGroup(c.pgid, syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("process %d did not exit", c.pgid)
	}
	c.exited = nil
}

// recorder collects the results a Monitor reports.
type recorder struct {
	mu       sync.Mutex
	got      []error
	returned atomic.Bool
	late     atomic.Int32 // reports after Run returned: must stay 0
}

func (r *recorder) report(err error) {
	if r.returned.Load() {
		r.late.Add(1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, err)
}

func (r *recorder) results() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.got...)
}

// waitLen waits until at least n results have come and returns them.
func (r *recorder) waitLen(t *testing.T, n int) []error {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.results()) >= n }, 10*time.Second, time.Millisecond,
		"waiting for %d results", n)
	return r.results()
}

// waitFor waits until the latest result satisfies ok.
func (r *recorder) waitFor(t *testing.T, what string, ok func(error) bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		got := r.results()
		return len(got) > 0 && ok(got[len(got)-1])
	}, 10*time.Second, time.Millisecond, "waiting for %s", what)
}

// run runs m until the returned stop is called (or the test ends); stop fails the
// test unless Run returns promptly and reported nothing after returning.
func run(t *testing.T, m Monitor, target Target) (*recorder, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx, target, rec.report)
		rec.returned.Store(true)
	}()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		require.Zero(t, rec.late.Load(), "report called after Run returned")
	}
	t.Cleanup(stop)
	return rec, stop
}

func quietLog() (logrus.FieldLogger, *logtest.Hook) {
	l, hook := logtest.NewNullLogger()
	l.SetLevel(logrus.DebugLevel)
	return l, hook
}

func testDeps(t *testing.T) Deps {
	log, _ := quietLog()
	dir := t.TempDir()
	return Deps{Start: reaper.Start, SocketDir: func() string { return dir }, Log: log}
}

// leaf is a definition with fast test timings.
func leaf(typ string) *config.Monitor {
	return &config.Monitor{Type: typ, Interval: 10 * time.Millisecond, Timeout: 2 * time.Second}
}

func build(t *testing.T, name string, defs map[string]*config.Monitor, deps Deps) Monitor {
	t.Helper()
	m, err := New(name, defs, deps)
	require.NoError(t, err)
	t.Cleanup(func() { Close(m) })
	return m
}
