package tasks

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

const tree = `
[tasks.parent]
command = ["sleep", "1000"]
restart_delay = "0s"
stop_timeout = "5s"

[tasks.child]
command = ["sleep", "1000"]
parent = "parent"

[tasks.grandchild]
command = ["sleep", "1000"]
parent = "child"

[tasks.sibling]
command = ["sleep", "1000"]
`

func TestStartsChildrenOnlyAfterParentsAreReady(t *testing.T) {
	h := start(t, tree)
	h.rec.waitFor(t, is(EvTaskReady, "grandchild"))
	events, _ := h.rec.snapshot()
	assert.Less(t, indexOf(t, events, EvTaskReady, "parent", 0), indexOf(t, events, EvTaskStarted, "child", 0))
	assert.Less(t, indexOf(t, events, EvTaskReady, "child", 0), indexOf(t, events, EvTaskStarted, "grandchild", 0))
	assert.Equal(t, 0, h.stop())
}

func TestParentDeathRestartsItsSubtreeOnly(t *testing.T) {
	h := start(t, tree)
	h.rec.waitFor(t, is(EvTaskReady, "grandchild"))
	parent, child, grandchild, sibling := h.pid("parent", 0), h.pid("child", 0), h.pid("grandchild", 0), h.pid("sibling", 0)

	require.NoError(t, unix.Kill(parent, unix.SIGKILL))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "grandchild"))

	events, _ := h.rec.snapshot()
	order := indexOf(t, events, EvTaskExited, "grandchild", grandchild)
	childExit := indexOf(t, events, EvTaskExited, "child", child)
	parentRestart := indexAfter(t, events, EvTaskStarted, "parent", indexOf(t, events, EvTaskExited, "parent", parent))
	require.GreaterOrEqual(t, order, 0, "grandchild never exited")
	assert.Less(t, order, childExit, "deepest first: grandchild stops before child")
	assert.Less(t, childExit, parentRestart, "the subtree is gone before the parent's new process starts")
	assert.True(t, gone(child) && gone(grandchild), "old subtree processes are gone")

	assert.NotEqual(t, child, h.pid("child", 0))
	assert.NotEqual(t, grandchild, h.pid("grandchild", 0))
	assert.Equal(t, sibling, h.pid("sibling", 0), "a task outside the subtree keeps its process")
	stopped := h.rec.waitFor(t, is(EvSubtreeStopped, "parent"))
	assert.Equal(t, []string{"child", "grandchild"}, stopped.Tasks)
	assert.Equal(t, 0, h.stop())
}

// A child that ends by itself while its own child is still stopping does not
// open the way for the parent's new process: nothing below may be left.
func TestParentWaitsForAStoppingGrandchildBehindAnEndedChild(t *testing.T) {
	h := start(t, `
[tasks.parent]
command = ["sleep", "1000"]
restart_delay = "0s"

[tasks.child]
command = ["sleep", "1000"]
parent = "parent"

[tasks.grandchild]
command = ["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"]
parent = "child"
stop_timeout = "1s"
`)
	h.rec.waitFor(t, is(EvTaskReady, "grandchild"))
	parent, child := h.pid("parent", 0), h.pid("child", 0)
	waitIgnoring(t, h.pid("grandchild", 0), unix.SIGTERM)
	require.NoError(t, unix.Kill(parent, unix.SIGKILL))
	h.waitState("grandchild", 0, Stopping)
	require.NoError(t, unix.Kill(child, unix.SIGKILL)) // the child ends by itself
	killed := h.rec.waitFor(t, is(EvTaskExited, "grandchild"))
	assert.Equal(t, "SIGKILL", killed.Signal, "the grandchild ran out its stop_timeout")
	restarted := h.rec.waitN(t, 2, 10*time.Second, is(EvTaskStarted, "parent"))[1]
	assert.True(t, restarted.Time.After(killed.Time), "the parent's new process started only once the grandchild was gone")
}

func TestShutdownStopsLeavesFirst(t *testing.T) {
	h := start(t, tree)
	h.rec.waitFor(t, is(EvTaskReady, "grandchild"))
	assert.Equal(t, 0, h.stop())
	events, _ := h.rec.snapshot()
	g := indexOf(t, events, EvTaskExited, "grandchild", 0)
	c := indexOf(t, events, EvTaskExited, "child", 0)
	p := indexOf(t, events, EvTaskExited, "parent", 0)
	assert.True(t, g < c && c < p, "exit order grandchild, child, parent: %d %d %d", g, c, p)
	for _, ev := range events {
		if ev.Type == EvTaskExited {
			assert.Equal(t, "SIGTERM", ev.Signal, "%s stopped by its stop signal", ev.Task)
		}
	}
}

func TestStopTimeoutKillsTheWholeGroup(t *testing.T) {
	h := start(t, `
[tasks.stubborn]
command = ["sh", "-c", "trap '' TERM; sleep 1000 & echo child=$!; sleep 1000 & echo child=$!; wait"]
stop_timeout = "300ms"
`)
	leader := h.pid("stubborn", 0)
	var kids []int
	require.Eventually(t, func() bool {
		kids = childPids(h.out.String())
		return len(kids) == 2
	}, 10*time.Second, time.Millisecond)

	began := time.Now()
	assert.Equal(t, 0, h.stop(), "a requested shutdown exits 0 even when it had to kill")
	took := time.Since(began)
	assert.GreaterOrEqual(t, took, 300*time.Millisecond)
	assert.Less(t, took, 2*time.Second)
	waitGone(t, append(kids, leader)...)
	h.rec.waitFor(t, is(EvStopTimeout, "stubborn"))
}

func TestStrayGroupMembersStopWithTheirLeader(t *testing.T) {
	h := start(t, `
[tasks.leaky]
command = ["sh", "-c", "sleep 1000 & echo child=$!; exit 0"]
restart = "never"
start_time = "0s"
`)
	assert.Equal(t, 0, h.wait(), "a service that exits with an expected code under restart=never ends as expected")
	kids := childPids(h.out.String())
	require.Len(t, kids, 1)
	waitGone(t, kids...)
}

var childLine = regexp.MustCompile(`child=(\d+)`)

func childPids(out string) []int {
	var pids []int
	for _, m := range childLine.FindAllStringSubmatch(out, -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// indexOf finds the first event of typ for task (and pid, unless 0); the test
// fails when there is none, so that an order check cannot pass on a missing event.
func indexOf(t testing.TB, events []Event, typ, task string, pid int) int {
	t.Helper()
	return indexAfter(t, events, typ, task, -1, pid)
}

func indexAfter(t testing.TB, events []Event, typ, task string, after int, pid ...int) int {
	t.Helper()
	return indexWhere(t, events, after, fmt.Sprintf("%s event of %s", typ, task), func(ev Event) bool {
		return ev.Type == typ && ev.Task == task && (len(pid) == 0 || pid[0] == 0 || ev.Pid == pid[0])
	})
}

// instanceEventAfter is indexAfter for one instance of task.
func instanceEventAfter(t testing.TB, events []Event, typ, task string, instance, after int) int {
	t.Helper()
	return indexWhere(t, events, after, fmt.Sprintf("%s event of %s.%d", typ, task, instance), func(ev Event) bool {
		return ev.Type == typ && ev.Task == task && ev.Instance == instance
	})
}

func indexWhere(t testing.TB, events []Event, after int, what string, match func(Event) bool) int {
	t.Helper()
	for n := after + 1; n < len(events); n++ {
		if match(events[n]) {
			return n
		}
	}
	t.Fatalf("no %s after #%d in:\n%s", what, after, describe(events))
	return -1
}

// A process outside every task's group is killed when procmon ends, and so are
// the children it leaves to procmon as it dies.
func TestStraysAndTheirChildrenDoNotOutliveProcmon(t *testing.T) {
	h := start(t, `
[tasks.daemon]
command = ["sh", "-c", "setsid sh -c 'sleep 1000 & echo grandchild=$$!; wait' & exec sleep 1000"]
`)
	said := regexp.MustCompile(`grandchild=(\d+)\n`)
	require.Eventually(t, func() bool { return said.MatchString(h.out.String()) }, 10*time.Second, time.Millisecond)
	grandchild, _ := strconv.Atoi(said.FindStringSubmatch(h.out.String())[1])
	h.stop()
	assert.True(t, gone(grandchild), "the stray's child %d is still alive", grandchild)
}

// A zombie left in a task's group by a parent outside it, which never waits,
// does not hold the shutdown once the group was SIGKILLed.
func TestAZombieInTheGroupDoesNotHoldTheShutdown(t *testing.T) {
	h := start(t, `
[procmon]
shutdown_timeout = "1s"

[tasks.app]
command = ["sh", "-c", "sh -c 'sleep 0.05 & exec setsid sleep 1000' & exec sleep 1000"]
stop_timeout = "100ms"
`)
	h.pid("app", 0)
	h.stop()
}

// While what a process left in its group is being stopped, its instance shows
// as stopping: the next spawn waits for that group, and "pending" would hide it.
func TestStatusShowsStoppingWhileLeftoversStop(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "trapped")
	h := start(t, fmt.Sprintf(`
[tasks.leaver]
command = ["sh", "-c", "sh -c 'trap \"\" TERM; touch %s; while :; do sleep 0.01; done' & while [ ! -e %s ]; do sleep 0.01; done"]
stop_timeout = "2s"
restart_delay = "0s"
start_time = "0s"
`, marker, marker))
	h.rec.waitFor(t, is(EvTaskExited, "leaver"))
	assert.Equal(t, Stopping, h.instance("leaver", 0).State)
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskStarted, "leaver"))
}
