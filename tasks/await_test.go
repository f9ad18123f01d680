package tasks

import (
	"context"
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
