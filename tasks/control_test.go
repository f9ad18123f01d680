package tasks

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/output"
)

func TestStopKeepsTheSubtreeDownUntilStart(t *testing.T) {
	h := start(t, tree)
	h.rec.waitFor(t, is(EvTaskReady, "grandchild"))
	parent, child, sibling := h.pid("parent", 0), h.pid("child", 0), h.pid("sibling", 0)

	require.NoError(t, h.sup.Stop("parent"))
	h.waitState("parent", 0, Stopped)
	waitGone(t, parent, child)
	assert.Equal(t, Pending, h.instance("child", 0).State, "below a stopped task, tasks wait for it")
	assert.Equal(t, sibling, h.pid("sibling", 0))

	require.NoError(t, h.sup.Start("parent"))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "grandchild"))
	assert.NotEqual(t, child, h.pid("child", 0))
	assert.Equal(t, 0, h.stop())
}

func TestRestartRecyclesTheSubtree(t *testing.T) {
	h := start(t, tree)
	h.rec.waitFor(t, is(EvTaskReady, "grandchild"))
	child, grandchild, parent := h.pid("child", 0), h.pid("grandchild", 0), h.pid("parent", 0)
	require.NoError(t, h.sup.Restart("child"))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "grandchild"))
	assert.NotEqual(t, child, h.pid("child", 0))
	assert.NotEqual(t, grandchild, h.pid("grandchild", 0))
	assert.Equal(t, parent, h.pid("parent", 0), "above the restarted task nothing moves")
	assert.Equal(t, 0, h.rec.count(is(EvTaskBackoff, "child")), "a requested restart is not a failure")
}

func TestScaleDownToZeroAndBackUp(t *testing.T) {
	h := start(t, `
[tasks.pool]
instances = 3
command = ["sleep", "1000"]
`)
	h.rec.waitN(t, 3, 10*time.Second, is(EvTaskReady, "pool"))
	pids := []int{h.pid("pool", 0), h.pid("pool", 1), h.pid("pool", 2)}
	require.NoError(t, h.sup.Scale("pool", 1))
	waitGone(t, pids[1], pids[2])
	require.Eventually(t, func() bool { return len(h.sup.Status()) == 1 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, pids[0], h.pid("pool", 0))

	require.NoError(t, h.sup.Scale("pool", 0))
	waitGone(t, pids[0])
	require.Eventually(t, func() bool { return len(h.sup.Status()) == 0 }, 10*time.Second, time.Millisecond)

	require.NoError(t, h.sup.Scale("pool", 2))
	h.pid("pool", 1)
	assert.Len(t, h.sup.Status(), 2)
	assert.Equal(t, 0, h.stop())
}

func TestControlErrors(t *testing.T) {
	h := start(t, `
[tasks.idle]
command = ["sleep", "1000"]
autostart = false
`)
	assert.ErrorIs(t, h.sup.Start("nope"), ErrUnknownTask)
	assert.ErrorIs(t, h.sup.Signal("idle", unix.SIGHUP), ErrConflict)
	notReady, err := h.sup.NotReady()
	require.NoError(t, err)
	assert.Empty(t, notReady, "a task without autostart does not count for readiness")
	assert.Equal(t, Stopped, h.instance("idle", 0).State)
	require.NoError(t, h.sup.Start("idle"))
	h.pid("idle", 0)
}

func TestSignalAndLogs(t *testing.T) {
	h := start(t, `
[tasks.echo]
command = ["sh", "-c", "trap 'echo got HUP' HUP; echo hello; while :; do sleep 0.01; done"]
`)
	require.Eventually(t, func() bool {
		lines, err := h.sup.Logs("echo", 10)
		return err == nil && len(lines) == 1
	}, 10*time.Second, time.Millisecond)

	follow := output.NewFollower(1 << 20)
	backlog, stop, err := h.sup.Follow("echo", 5, follow)
	require.NoError(t, err)
	assert.Equal(t, "hello", backlog[0].Text)
	// The trap was set before "hello": one SIGHUP is enough. The shell may first
	// report the sleep it interrupted ("Hangup").
	require.NoError(t, h.sup.Signal("echo", unix.SIGHUP))
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case <-follow.Ready():
			lines, _ := follow.Take()
			got = slices.ContainsFunc(lines, func(l output.Line) bool { return l.Text == "got HUP" })
		case <-deadline:
			t.Fatal("the HUP's line never came")
		}
	}
	stop()
	lines, err := h.sup.Logs("echo", 1)
	require.NoError(t, err)
	assert.Equal(t, "got HUP", lines[0].Text)
	assert.Equal(t, "stdout", lines[0].Stream)
}

func TestTaskStatusTellsAnEmptyTaskFromAnUnknownOne(t *testing.T) {
	h := start(t, "[tasks.web]\ncommand = [\"sleep\", \"1000\"]\n")
	h.waitState("web", 0, Ready)
	require.NoError(t, h.sup.Scale("web", 0))
	require.Eventually(t, func() bool {
		st, err := h.sup.TaskStatus("web")
		return err == nil && len(st) == 0
	}, 10*time.Second, time.Millisecond, "scaled to zero: no instances, no error")
	_, err := h.sup.TaskStatus("nope")
	assert.ErrorIs(t, err, ErrUnknownTask)
	h.stop()
}

// An instance's label, as status and output prefixes show it, is no task name:
// the error says which name to use.
func TestALabelForATaskNameSaysWhichTask(t *testing.T) {
	h := start(t, "[tasks.web]\ninstances = 2\ncommand = [\"sleep\", \"1000\"]\n")
	h.waitState("web", 1, Ready)
	_, err := h.sup.TaskStatus("web.1")
	assert.ErrorIs(t, err, ErrUnknownTask)
	assert.EqualError(t, err, `unknown task "web.1": it is instance 1 of task "web", and commands take a task's name`)
	_, err = h.sup.Logs("web.1", 10)
	assert.ErrorContains(t, err, `it is instance 1 of task "web"`)
	assert.EqualError(t, h.sup.Restart("web.9"), `unknown task "web.9": it is instance 9 of task "web", and commands take a task's name`)
	h.stop()
}

// stubborn ignores SIGTERM, so each of its stops lasts its stop_timeout.
const stubborn = `
[tasks.pool]
instances = 2
command = ["sh", "-c", "trap '' TERM; while :; do sleep 0.01; done"]
stop_timeout = "1s"
`

func TestScaleBackUpWhileTheOldInstancesStillStop(t *testing.T) {
	h := start(t, stubborn)
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "pool"))
	old := []int{h.pid("pool", 0), h.pid("pool", 1)}
	waitIgnoring(t, old[1], unix.SIGTERM)
	require.NoError(t, h.sup.Scale("pool", 0))
	h.waitState("pool", 1, Stopping)
	require.NoError(t, h.sup.Scale("pool", 2))
	h.rec.waitN(t, 4, 10*time.Second, is(EvTaskReady, "pool"))
	waitGone(t, old...)
	st := h.sup.Status()
	require.Len(t, st, 2)
	for k, i := range st {
		assert.Equal(t, k, i.Instance)
		assert.Equal(t, Ready, i.State)
		assert.NotContains(t, old, i.Pid, "a new process, once the old one is gone")
	}
}

func TestScaleDropsAnInstanceStillWaitingOnWaitFor(t *testing.T) {
	h := start(t, `
[monitors.never]
type = "exec"
command = ["false"]

[tasks.pool]
instances = 2
command = ["sleep", "1000"]
wait_for = ["never"]
ready_timeout = "1h"
`)
	h.waitState("pool", 1, Starting)
	require.NoError(t, h.sup.Scale("pool", 1))
	require.Eventually(t, func() bool { return len(h.sup.Status()) == 1 }, 10*time.Second, time.Millisecond)
}

// A task whose main process ended while a member of its group ignores SIGTERM
// drains for its stop_timeout; a start asked for meanwhile happens after.
func TestStartDuringADrainRunsOnceTheGroupIsGone(t *testing.T) {
	h := start(t, drainingJob(3, "1s"))
	h.rec.waitFor(t, is(EvTaskExited, "job"))
	require.NoError(t, h.sup.Start("job"))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskStarted, "job"))
}

// Stopping a completed oneshot stops what waits on it at once, and keeps it down.
func TestStopACompletedOneshotStopsItsSubtree(t *testing.T) {
	h := start(t, `
[tasks.migrate]
type = "oneshot"
command = ["true"]

[tasks.web]
parent = "migrate"
command = ["sleep", "1000"]
`)
	web := h.pid("web", 0)
	require.NoError(t, h.sup.Stop("migrate"))
	h.waitState("migrate", 0, Stopped)
	waitGone(t, web)
	h.waitState("web", 0, Pending)
	notReady, err := h.sup.NotReady()
	require.NoError(t, err)
	assert.Contains(t, notReady, "migrate")
}

func TestATaskWithNoInstanceInTheFileIsNotWaitedFor(t *testing.T) {
	h := start(t, `
[tasks.spare]
command = ["sleep", "1000"]
instances = 0

[tasks.web]
command = ["sleep", "1000"]
instances = 2
`)
	h.waitState("web", 1, Ready)
	notReady, err := h.sup.NotReady()
	require.NoError(t, err)
	assert.Empty(t, notReady)
	require.NoError(t, h.sup.Scale("web", 0))
	notReady, err = h.sup.NotReady()
	require.NoError(t, err)
	assert.Equal(t, []string{"web"}, notReady, "a scale to 0 holds it back")
}

// Removing a replica of a ready task leaves the tasks below it alone.
func TestScalingAParentDownKeepsItsChildren(t *testing.T) {
	h := start(t, `
[tasks.p]
instances = 2
command = ["sleep", "1000"]

[tasks.c]
parent = "p"
command = ["sleep", "1000"]
`)
	child := h.pid("c", 0)
	removed := h.pid("p", 1)
	require.NoError(t, h.sup.Scale("p", 1))
	waitGone(t, removed)
	require.Eventually(t, func() bool { return len(h.sup.Status()) == 2 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, child, h.pid("c", 0))
	assert.Zero(t, h.rec.count(is(EvSubtreeStopped, "p")))
}

// A follower sees the output of instances that a scale adds after it began.
func TestFollowersSeeInstancesAddedLater(t *testing.T) {
	h := start(t, `
[tasks.web]
command = ["sh", "-c", "echo serving $PROCMON_INSTANCE; exec sleep 1000"]
`)
	h.pid("web", 0)
	f := output.NewFollower(1 << 20)
	_, stop, err := h.sup.Follow("web", 0, f)
	require.NoError(t, err)
	defer stop()
	require.NoError(t, h.sup.Scale("web", 2))
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-f.Ready():
			lines, _ := f.Take()
			for _, l := range lines {
				if l.Text == "serving 1" {
					assert.Equal(t, "web.1", l.Label)
					return
				}
			}
		case <-deadline:
			t.Fatal("the new instance's line never came")
		}
	}
}

// Instance 2 outlives a scale to 1 (it ignores SIGTERM) while instance 1 is
// already gone; scaling back to 3 must fill index 1, not add a second 2.
func TestScaleUpFillsTheIndexesThatAreFree(t *testing.T) {
	h := start(t, `
[tasks.pool]
instances = 3
command = ["sh", "-c", "if [ $PROCMON_INSTANCE = 2 ]; then trap '' TERM; fi; while :; do sleep 0.01; done"]
stop_timeout = "2s"
`)
	h.rec.waitN(t, 3, 10*time.Second, is(EvTaskReady, "pool"))
	waitIgnoring(t, h.pid("pool", 2), unix.SIGTERM)
	require.NoError(t, h.sup.Scale("pool", 1))
	require.Eventually(t, func() bool {
		st := h.sup.Status()
		return len(st) == 2 && st[1].Instance == 2 && st[1].State == Stopping
	}, 10*time.Second, time.Millisecond, "instance 1 gone, instance 2 still stopping")
	require.NoError(t, h.sup.Scale("pool", 3))
	require.Eventually(t, func() bool {
		st := h.sup.Status()
		for k, i := range st {
			if i.Instance != k || i.State != Ready {
				return false
			}
		}
		return len(st) == 3
	}, 10*time.Second, time.Millisecond, "%+v", h.sup.Status())
}

// Every orphan reaped looks at the draining groups; it must not start one more
// recheck each time.
func TestRechecksOfADrainingGroupDoNotPileUp(t *testing.T) {
	h := start(t, drainingJob(0, "1h"))
	h.rec.waitFor(t, is(EvTaskExited, "job"))
	var before, after int
	var sameTimer bool
	h.sup.Do(func() {
		r := h.sup.tasks["job"].instances[0].run
		if !assert.NotNil(t, r, "the group drains for stop_timeout") {
			return
		}
		r.killed = true // as after a SIGKILL that a member in state D survives
		h.sup.recheckDraining()
		armed, timers := r.recheckTimer, len(r.timers)
		for range 100 {
			h.sup.recheckDraining()
		}
		sameTimer = armed != nil && r.recheckTimer == armed
		before, after = timers, len(r.timers)
		h.sup.kill(r) // for real this time: the member goes
	})
	assert.Equal(t, before, after)
	assert.True(t, sameTimer, "one pending recheck, armed once")
}

// A replica added to a ready task neither stops the tasks below nor holds them.
func TestScalingAParentUpKeepsItsChildren(t *testing.T) {
	h := start(t, `
[tasks.p]
command = ["sleep", "1000"]

[tasks.c]
parent = "p"
command = ["sleep", "1000"]
`)
	child := h.pid("c", 0)
	require.NoError(t, h.sup.Scale("p", 2))
	h.pid("p", 1)
	h.waitState("p", 1, Ready)
	assert.Equal(t, child, h.pid("c", 0))
	assert.Zero(t, h.rec.count(is(EvTaskExited, "c")))
}

// A replica that joined a ready task and has not been ready since (a oneshot
// never is) starts with the rest of the task at its next restart, not beside
// the old processes below.
func TestAJoinedReplicaRestartsWithItsTask(t *testing.T) {
	h := start(t, `
[tasks.setup]
type = "oneshot"
command = ["true"]

[tasks.app]
parent = "setup"
command = ["sh", "-c", "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.01; done"]
`)
	h.pid("app", 0)
	require.NoError(t, h.sup.Scale("setup", 2))
	h.waitState("setup", 1, Completed)
	before, _ := h.rec.snapshot()
	require.NoError(t, h.sup.Restart("setup"))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskStarted, "app"))
	all, _ := h.rec.snapshot()
	appExit := indexAfter(t, all, EvTaskExited, "app", len(before)-1)
	assert.Greater(t, instanceEventAfter(t, all, EvTaskStarted, "setup", 1, len(before)-1), appExit)
}

// Once its task was stopped and started again, a replica that joined counts
// like the others: the tasks below wait for it to be ready.
func TestAJoinedReplicaCountsAgainAfterStopAndStart(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ok0"), nil, 0o644))
	h := start(t, fmt.Sprintf(`
[monitors.ok]
type = "exec"
command = ["sh", "-c", "test -e %s/ok$PROCMON_INSTANCE"]
interval = "20ms"

[tasks.p]
command = ["sleep", "1000"]
ready = "ok"
ready_timeout = "1h"

[tasks.c]
parent = "p"
command = ["sleep", "1000"]
`, dir))
	c := h.pid("c", 0)
	require.NoError(t, h.sup.Scale("p", 2))
	h.waitState("p", 1, Starting)
	require.NoError(t, h.sup.Stop("p"))
	waitGone(t, c)
	h.waitState("p", 1, Stopped)
	before, _ := h.rec.snapshot()
	require.NoError(t, h.sup.Start("p"))
	h.waitState("p", 0, Ready)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ok1"), nil, 0o644))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskStarted, "c"))
	all, _ := h.rec.snapshot()
	assert.Greater(t, indexAfter(t, all, EvTaskStarted, "c", len(before)-1),
		instanceEventAfter(t, all, EvTaskReady, "p", 1, len(before)-1), "c started before p.1 was ready")
}

// Stopping a completed oneshot whose group still drains stops it and its
// subtree too.
func TestStopACompletedOneshotWhileItsGroupDrains(t *testing.T) {
	h := start(t, `
[tasks.migrate]
type = "oneshot"
command = ["sh", "-c", "`+leavesAStubbornMember(0)+`"]
stop_timeout = "1s"

[tasks.web]
parent = "migrate"
command = ["sleep", "1000"]
`)
	web := h.pid("web", 0)
	require.NoError(t, h.sup.Stop("migrate"))
	waitGone(t, web)
	h.waitState("migrate", 0, Stopped)
}

// leavesAStubbornMember is a shell script that exits with code at once, leaving
// a member of its group that ignores SIGTERM: the group drains for stop_timeout.
func leavesAStubbornMember(code int) string {
	return fmt.Sprintf("(trap '' TERM; while :; do sleep 0.01; done) & exit %d", code)
}

// drainingJob is a task "job" run once by leavesAStubbornMember.
func drainingJob(code int, stopTimeout string) string {
	return fmt.Sprintf("[tasks.job]\ncommand = [\"sh\", \"-c\", %q]\nrestart = \"never\"\nstop_timeout = %q\n",
		leavesAStubbornMember(code), stopTimeout)
}

func TestControlRequestsAreLogged(t *testing.T) {
	h := start(t, "[tasks.web]\ncommand = [\"sleep\", \"1000\"]\n")
	h.pid("web", 0)
	require.NoError(t, h.sup.Scale("web", 2))
	require.NoError(t, h.sup.Signal("web", unix.SIGCONT))
	require.NoError(t, h.sup.Stop("web"))
	for _, want := range []string{
		`msg="scale requested" instances=2 task=web`,
		`msg="signal requested" signal=SIGCONT task=web`,
		`msg="stop requested" task=web`,
	} {
		assert.Contains(t, h.log.String(), want)
	}
}
