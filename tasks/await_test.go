package tasks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestAwaitedStopReturnsOnceTheProcessIsGone(t *testing.T) {
	h := start(t, `
[tasks.stubborn]
command = ["sh", "-c", "trap '' TERM; while :; do sleep 0.01; done"]
stop_timeout = "300ms"
`)
	pid := h.pid("stubborn", 0)
	waitIgnoring(t, pid, unix.SIGTERM)
	require.NoError(t, h.sup.Await(context.Background(), "stubborn", ActStop))
	assert.ErrorIs(t, unix.Kill(pid, 0), unix.ESRCH, "the process was killed and reaped before the answer")
	assert.Equal(t, Stopped, h.instance("stubborn", 0).State)
}

func TestAwaitedRestartReturnsWithTheNewProcessReady(t *testing.T) {
	h := start(t, `
[tasks.web]
command = ["sleep", "1000"]
instances = 2
`)
	old := []int{h.pid("web", 0), h.pid("web", 1)}
	require.NoError(t, h.sup.Await(context.Background(), "web", ActRestart))
	for n, st := range h.sup.Status() {
		assert.Equal(t, Ready, st.State)
		assert.NotEqual(t, old[n], st.Pid)
	}
	require.NoError(t, h.sup.Await(context.Background(), "web", ActStart), "a ready task has started already")
}

// A failed start ends the wait (a task without ready monitors is ready as soon
// as it is spawned: this one has one, which it never passes).
func TestAwaitedStartFailsAtTheFirstFailedStart(t *testing.T) {
	h := start(t, `
[tasks.broken]
command = ["sh", "-c", "exit 3"]
autostart = false
restart_delay = "1ms"
ready = ["never"]

[monitors.never]
type = "exec"
command = ["false"]
`)
	err := h.sup.Await(context.Background(), "broken", ActStart)
	assert.ErrorIs(t, err, ErrNotDone)
	assert.ErrorContains(t, err, "broken failed to start (exit code 3); procmon tries again")
}

func TestAwaitedStartFailsWhileAParentDoesNotRun(t *testing.T) {
	h := start(t, `
[tasks.db]
command = ["sleep", "1000"]
autostart = false

[tasks.api]
parent = "db"
command = ["sleep", "1000"]

[tasks.web]
parent = "api"
command = ["sleep", "1000"]
`)
	err := h.sup.Await(context.Background(), "web", ActStart)
	assert.ErrorIs(t, err, ErrNotDone)
	assert.ErrorContains(t, err, "web waits for parents that will not be ready by themselves: api (waits for db (stopped))")

	require.NoError(t, h.sup.Await(context.Background(), "db", ActStart))
	h.waitState("web", 0, Ready)
}

func TestAwaitGivesUpWithItsCaller(t *testing.T) {
	h := start(t, `
[tasks.slow]
command = ["sleep", "1000"]
ready = ["never"]
autostart = false

[monitors.never]
type = "exec"
command = ["false"]
`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.sup.Await(ctx, "slow", ActStart) }()
	h.waitState("slow", 0, Starting)
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Await did not end with its context")
	}
	require.Eventually(t, func() bool {
		var n int
		h.sup.Do(func() { n = len(h.sup.waiters) })
		return n == 0
	}, 10*time.Second, time.Millisecond, "the wait is forgotten")
}

// With restart_delay = "0s" a failed start passes through backoff within one
// event: the restart count, not the state, tells the wait.
func TestAwaitedStartFailsWithoutARestartDelay(t *testing.T) {
	h := start(t, `
[tasks.broken]
command = ["sh", "-c", "exit 3"]
autostart = false
restart_delay = "0s"
start_retries = -1
ready = ["never"]

[monitors.never]
type = "exec"
command = ["false"]
`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.ErrorIs(t, h.sup.Await(ctx, "broken", ActStart), ErrNotDone)
}

// A start asked during maintenance waits for the cycle to end: the task is
// held, not stopped.
func TestAwaitedStartDuringMaintenanceWaitsForTheCycle(t *testing.T) {
	h := start(t, `
[tasks.web]
command = ["sleep", "1000"]
autostart = false

[maintenance]
command = ["sleep", "0.2"]
`)
	require.NoError(t, h.sup.Maintenance())
	h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvMaintenanceStarted })
	require.NoError(t, h.sup.Await(context.Background(), "web", ActStart))
	assert.Equal(t, Ready, h.instance("web", 0).State)
}

// A restart of a task in backoff runs it now, not when the backoff ends.
func TestAwaitedRestartOfATaskInBackoffRunsItNow(t *testing.T) {
	fixed := filepath.Join(t.TempDir(), "fixed")
	h := start(t, fmt.Sprintf(`
[tasks.flaky]
command = ["sh", "-c", "[ -e %s ] && exec sleep 1000; exit 1"]
restart_delay = "50s"
start_retries = -1
start_time = "100ms"
`, fixed))
	h.waitState("flaky", 0, Backoff)
	require.NoError(t, os.WriteFile(fixed, nil, 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.sup.Await(ctx, "flaky", ActRestart))
	assert.Equal(t, 2, h.rec.count(is(EvTaskStarted, "flaky")))
}

// A service without ready monitors is ready once spawned, but a start is a
// success only once it has outlived start_time: an exit sooner is reported.
func TestAwaitedStartWaitsForStartTime(t *testing.T) {
	h := start(t, `
[tasks.quick]
command = ["sh", "-c", "sleep 0.1; exit 127"]
autostart = false
start_time = "2s"
restart_delay = "1s"

[tasks.steady]
command = ["sleep", "1000"]
autostart = false
start_time = "200ms"
`)
	err := h.sup.Await(context.Background(), "quick", ActStart)
	assert.ErrorContains(t, err, "quick failed to start (exit code 127); procmon tries again")
	began := time.Now()
	require.NoError(t, h.sup.Await(context.Background(), "steady", ActStart))
	assert.GreaterOrEqual(t, time.Since(began), 200*time.Millisecond, "answered once start_time had passed")
}

// A child's start fails while a parent keeps failing to start.
func TestAwaitedStartFailsWhileAParentFailsToStart(t *testing.T) {
	h := start(t, `
[tasks.db]
command = ["sh", "-c", "exit 2"]
restart_delay = "30s"
start_retries = -1

[tasks.app]
parent = "db"
command = ["sleep", "1000"]
`)
	h.waitState("db", 0, Backoff)
	err := h.sup.Await(context.Background(), "app", ActStart)
	assert.ErrorContains(t, err, "app waits for parents that will not be ready by themselves: db (failing to start: exit code 2)")
}

// A stop that a start overtakes is answered: it did not take effect.
func TestAwaitedStopOvertakenByAStart(t *testing.T) {
	h := start(t, `
[tasks.stubborn]
command = ["sh", "-c", "trap '' TERM; while :; do sleep 0.01; done"]
stop_timeout = "1s"
`)
	waitIgnoring(t, h.pid("stubborn", 0), unix.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- h.sup.Await(context.Background(), "stubborn", ActStop) }()
	h.waitState("stubborn", 0, Stopping)
	require.NoError(t, h.sup.Start("stubborn"))
	select {
	case err := <-done:
		assert.ErrorContains(t, err, "stubborn was started again before it stopped")
	case <-time.After(10 * time.Second):
		t.Fatal("the stop was never answered")
	}
}

func TestAwaitedStartOfATaskWithoutInstances(t *testing.T) {
	h := start(t, `
[tasks.spare]
command = ["sleep", "1000"]
instances = 0
`)
	err := h.sup.Await(context.Background(), "spare", ActStart)
	assert.ErrorContains(t, err, "spare has no instance: scale it first")
}

// A stop waits for the tasks below that it stops, also when the task itself has
// no process left (a completed oneshot).
func TestAwaitedStopWaitsForTheSubtree(t *testing.T) {
	h := start(t, `
[tasks.init]
type = "oneshot"
command = ["true"]

[tasks.app]
parent = "init"
command = ["sh", "-c", "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.01; done"]
`)
	app := h.pid("app", 0)
	waitCatching(t, app, unix.SIGTERM)
	require.NoError(t, h.sup.Await(context.Background(), "init", ActStop))
	assert.ErrorIs(t, unix.Kill(app, 0), unix.ESRCH, "the stop returned before the task below was gone")
}
