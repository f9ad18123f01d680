package tasks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/services"
	"github.com/procmon/procmon/signals"
)

// maintained is a tree plus a maintenance command that reports how many task
// processes it can still see (their command lines are unique to this test).
const maintained = `
[tasks.db]
command = ["sleep", "1001"]

[tasks.app]
parent = "db"
command = ["sleep", "1001"]

[maintenance]
command = ["sh", "-c", "echo backup left=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\000' ' ' | grep -o 'sleep 100[1]' | wc -l)"]
`

func hup(h *harness) { h.sigs <- signals.Event{Action: signals.Maintenance, Signal: unix.SIGHUP} }

func TestMaintenanceStopsEverythingRunsOnceAndRestarts(t *testing.T) {
	h := start(t, maintained)
	h.rec.waitFor(t, is(EvTaskReady, "app"))
	db, app := h.pid("db", 0), h.pid("app", 0)
	hup(h)
	finished := h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvMaintenanceFinished })
	assert.Equal(t, 0, *finished.ExitCode)
	// The exit and the output come by different ways: the line may follow the event.
	require.Eventually(t, func() bool { return strings.Contains(h.out.String(), "maintenance | backup") }, 10*time.Second, time.Millisecond)
	assert.Contains(t, h.out.String(), "maintenance | backup left=0\n", "no task process was left when the command ran")
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "app"))
	assert.NotEqual(t, db, h.pid("db", 0))
	assert.NotEqual(t, app, h.pid("app", 0))
	events, _ := h.rec.snapshot()
	again := indexOf(t, events, EvMaintenanceFinished, "", 0)
	assert.Less(t, indexAfter(t, events, EvTaskReady, "db", again), indexAfter(t, events, EvTaskStarted, "app", again), "topological order again")
	assert.Equal(t, 1, strings.Count(h.out.String(), "backup"))
	assert.Zero(t, h.rec.count(func(ev Event) bool { return ev.Type == EvReload }), "nothing was reloaded")
}

// startGatedMaintenance runs db, begins a maintenance cycle whose command lasts
// until end is called, and returns once the command runs.
func startGatedMaintenance(t *testing.T) (h *harness, end func()) {
	gate := filepath.Join(t.TempDir(), "gate")
	h = start(t, fmt.Sprintf(`
[tasks.db]
command = ["sleep", "1000"]

[maintenance]
command = ["sh", "-c", "while [ ! -e \"$0\" ]; do sleep 0.01; done", %q]
`, gate))
	h.rec.waitFor(t, is(EvTaskReady, "db"))
	hup(h)
	h.rec.waitFor(t, is(EvMaintenanceStarted, ""))
	return h, func() { require.NoError(t, os.WriteFile(gate, nil, 0o644)) }
}

func TestSecondHUPDuringMaintenanceIsIgnored(t *testing.T) {
	h, end := startGatedMaintenance(t)
	hup(h)
	require.Eventually(t, func() bool {
		return strings.Contains(h.log.String(), "maintenance requested during a maintenance cycle: ignored")
	}, 10*time.Second, time.Millisecond)
	end()
	h.rec.waitFor(t, is(EvMaintenanceFinished, ""))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "db"))
	assert.Equal(t, 1, h.rec.count(func(ev Event) bool { return ev.Type == EvMaintenanceStarted }))
}

func TestShutdownDuringMaintenanceDoesNotRestartTasks(t *testing.T) {
	h := start(t, `
[tasks.db]
command = ["sleep", "1000"]

[maintenance]
command = ["sh", "-c", "echo pid=$$$$; exec sleep 1000"]
`)
	h.rec.waitFor(t, is(EvTaskReady, "db"))
	hup(h)
	var pid []int
	require.Eventually(t, func() bool {
		pid = childPids(strings.ReplaceAll(h.out.String(), "pid=", "child="))
		return len(pid) == 1
	},
		10*time.Second, time.Millisecond)
	assert.Equal(t, 0, h.stop())
	waitGone(t, pid...)
	assert.Equal(t, 1, h.rec.count(is(EvTaskStarted, "db")), "tasks are not started again")
}

func TestMaintenanceTimeout(t *testing.T) {
	for _, onFailure := range []string{"resume", "exit"} {
		t.Run(onFailure, func(t *testing.T) {
			h := start(t, fmt.Sprintf(`
[tasks.db]
command = ["sleep", "1000"]

[maintenance]
command = ["sleep", "1000"]
timeout = "100ms"
on_failure = %q
`, onFailure))
			h.rec.waitFor(t, is(EvTaskReady, "db"))
			hup(h)
			finished := h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvMaintenanceFinished })
			assert.Equal(t, 128+15, *finished.ExitCode, "stopped by SIGTERM, as a task is")
			assert.Contains(t, h.log.String(), `level=warning msg="maintenance finished"`, "a failed cycle stands out")
			if onFailure == "exit" {
				assert.Equal(t, 143, h.wait())
				return
			}
			h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "db"))
		})
	}
}

func TestHUPWithoutMaintenanceChangesNothing(t *testing.T) {
	h := start(t, `
[tasks.db]
command = ["sleep", "1000"]
`)
	pid := h.pid("db", 0)
	hup(h)
	require.Eventually(t, func() bool { return strings.Contains(h.log.String(), "no [maintenance] is configured") },
		10*time.Second, time.Millisecond)
	assert.Equal(t, pid, h.pid("db", 0))
	assert.ErrorIs(t, h.sup.Maintenance(), ErrConflict)
}

// A process the command left outside its group still writes to the command's
// output after the cycle: the file stays open until the last writer is gone.
func TestMaintenanceOutputOutlivesTheCommand(t *testing.T) {
	dir := t.TempDir()
	out, detached, gate := filepath.Join(dir, "backup.log"), filepath.Join(dir, "detached"), filepath.Join(dir, "gate")
	// The command ends only once its child is in a session of its own (out of
	// reach of the group's SIGKILL); the child writes once the cycle is over.
	h := start(t, fmt.Sprintf(`
[tasks.db]
command = ["sleep", "1000"]

[maintenance]
command = ["sh", "-c", "echo early; setsid -f sh -c 'touch \"$0\"; while [ ! -e \"$1\" ]; do sleep 0.01; done; echo late' \"$0\" \"$1\"; while [ ! -e \"$0\" ]; do sleep 0.01; done", %q, %q]
stdout = %q
`, detached, gate, out))
	h.rec.waitFor(t, is(EvTaskReady, "db"))
	hup(h)
	h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvMaintenanceFinished })
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(out)
		return string(b) == "early\nlate\n"
	}, 10*time.Second, time.Millisecond)
}

func TestServiceAddedDuringMaintenanceStartsAfterIt(t *testing.T) {
	extra := filepath.Join(t.TempDir(), "extra")
	writeScript(t, extra, "exec sleep 1000", 0o755)
	h, end := startGatedMaintenance(t)
	require.NoError(t, h.sup.SetServices([]services.Service{{Name: "extra", Path: extra, Version: "1"}}))
	assert.Empty(t, h.instance("extra", 0).Name, "nothing starts during the cycle")
	end()
	h.pid("extra", 0)
}

// SIGUSR1 has nobody to tell "not now": a reload asked during a cycle is applied
// as the cycle ends, before the tasks start again, so none runs its old
// definition once more.
func TestSIGUSR1DuringMaintenanceIsAppliedAfterIt(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	path := filepath.Join(t.TempDir(), "procmon.toml")
	maint := fmt.Sprintf("[maintenance]\ncommand = [\"sh\", \"-c\", \"while [ ! -e \\\"$0\\\" ]; do sleep 0.01; done\", %q]\n", gate)
	job := func(v string) string {
		return "[tasks.job]\ntype = \"oneshot\"\ncommand = [\"echo\", \"run " + v + "\"]\n"
	}
	writeFile(t, path, "[tasks.db]\ncommand = [\"sleep\", \"1000\"]\n"+job("v1")+maint)
	h := startFile(t, path)
	h.rec.waitFor(t, is(EvTaskReady, "db"))
	h.rec.waitFor(t, is(EvTaskExited, "job"))
	hup(h)
	h.rec.waitFor(t, is(EvMaintenanceStarted, ""))
	writeFile(t, path, "[tasks.db]\ncommand = [\"sleep\", \"1000\"]\n[tasks.added]\ncommand = [\"sleep\", \"1000\"]\n"+job("v2")+maint)
	h.sigs <- signals.Event{Action: signals.Reload, Signal: unix.SIGUSR1}
	require.Eventually(t, func() bool {
		return strings.Contains(h.log.String(), "reload requested during maintenance: applied when the cycle ends")
	}, 10*time.Second, time.Millisecond)
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	h.rec.waitFor(t, is(EvTaskReady, "added"))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskExited, "job"))
	require.Eventually(t, func() bool { return strings.Contains(h.out.String(), "job | run v2\n") }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 1, strings.Count(h.out.String(), "job | run v1\n"), "the old definition did not run again")
	events, _ := h.rec.snapshot()
	assert.Less(t, indexOf(t, events, EvMaintenanceFinished, "", 0), indexOf(t, events, EvTaskStarted, "added", 0))
}

// What the maintenance command leaves in its process group is stopped as a
// task's strays are, gracefully, and the tasks start again once it is gone.
func TestMaintenanceLeftoversStopBeforeTheTasksReturn(t *testing.T) {
	dir := t.TempDir()
	termed, armed := filepath.Join(dir, "termed"), filepath.Join(dir, "armed")
	// The command ends once the leftover has its trap set: a SIGTERM before that
	// would kill it without a word.
	h := start(t, fmt.Sprintf(`
[tasks.db]
command = ["sleep", "1000"]

[maintenance]
command = ["sh", "-c", "(trap 'echo yes > %s; exit 0' TERM; : > %s; while :; do sleep 0.01; done) & while [ ! -e %s ]; do sleep 0.01; done"]
`, termed, armed, armed))
	h.rec.waitFor(t, is(EvTaskReady, "db"))
	hup(h)
	h.rec.waitFor(t, is(EvMaintenanceFinished, ""))
	data, err := os.ReadFile(termed)
	require.NoError(t, err, "the leftover got the stop signal, and was gone before the cycle ended")
	assert.Equal(t, "yes\n", string(data))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "db"))
}

func TestHUPDuringShutdownIsLoggedAndIgnored(t *testing.T) {
	h := start(t, maintained+`
[tasks.slow]
command = ["sh", "-c", "trap '' TERM; while :; do sleep 0.01; done"]
stop_timeout = "2s"
`)
	waitIgnoring(t, h.pid("slow", 0), unix.SIGTERM)
	h.sigs <- signals.Event{Action: signals.Shutdown, Signal: unix.SIGTERM}
	h.rec.waitFor(t, is(EvShutdownStarted, ""))
	hup(h)
	require.Eventually(t, func() bool {
		return strings.Contains(h.log.String(), "maintenance requested during shutdown: ignored")
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, 0, h.wait())
	assert.Zero(t, h.rec.count(is(EvMaintenanceStarted, "")))
}

// A command past its timeout gets SIGTERM first, as a task would, so that it
// can clean up; the cycle fails even when it then exits 0.
func TestMaintenanceTimeoutLetsTheCommandCleanUp(t *testing.T) {
	cleaned := filepath.Join(t.TempDir(), "cleaned")
	h := start(t, fmt.Sprintf(`
[tasks.db]
command = ["sleep", "1000"]

[maintenance]
command = ["sh", "-c", "trap 'touch %s; exit 0' TERM; while :; do sleep 0.01; done"]
timeout = "1s"
`, cleaned))
	h.rec.waitFor(t, is(EvTaskReady, "db"))
	hup(h)
	finished := h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvMaintenanceFinished })
	assert.Equal(t, 1, *finished.ExitCode, "it ran out of time: a failure, though it exited 0")
	assert.FileExists(t, cleaned)
}
