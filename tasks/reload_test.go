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

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/output"
	"github.com/procmon/procmon/signals"
)

const before = `
[tasks.db]
command = ["sleep", "1000"]

[tasks.api]
parent = "db"
command = ["sleep", "1000"]

[tasks.web]
parent = "api"
command = ["sleep", "1000"]

[tasks.cron]
command = ["sleep", "1000"]

[tasks.old]
command = ["sleep", "1000"]

[tasks.oldchild]
parent = "old"
command = ["sleep", "1000"]
`

// after: api changed (so web restarts under it), cron moved under db, old and
// oldchild removed, metrics added under db.
const after = `
[tasks.db]
command = ["sleep", "1000"]

[tasks.api]
parent = "db"
command = ["sleep", "1001"]

[tasks.web]
parent = "api"
command = ["sleep", "1000"]

[tasks.cron]
parent = "db"
command = ["sleep", "1000"]

[tasks.metrics]
parent = "db"
command = ["sleep", "1000"]
`

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

func pids(h *harness, names ...string) map[string]int {
	out := map[string]int{}
	for _, n := range names {
		out[n] = h.pid(n, 0)
	}
	return out
}

func TestReloadAppliesOnlyWhatChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, before)
	h := startFile(t, path)
	for _, n := range []string{"web", "cron", "oldchild"} {
		h.rec.waitFor(t, is(EvTaskReady, n))
	}
	old := pids(h, "db", "api", "web", "cron", "old", "oldchild")

	writeFile(t, path, after)
	require.NoError(t, h.sup.Reload())
	h.rec.waitFor(t, is(EvTaskReady, "metrics"))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "web"))
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "cron"))
	waitGone(t, old["api"], old["web"], old["old"], old["oldchild"], old["cron"])

	now := pids(h, "db", "api", "web", "cron", "metrics")
	assert.Equal(t, old["db"], now["db"], "unchanged tasks keep their processes")
	assert.NotEqual(t, old["api"], now["api"])
	assert.NotEqual(t, old["web"], now["web"], "a changed task restarts with its subtree")
	assert.Equal(t, []string{"db"}, h.instance("cron", 0).Parents, "a task given a parent moves in the tree")
	require.Eventually(t, func() bool { return len(h.sup.Status()) == 5 }, 10*time.Second, time.Millisecond, "removed tasks are gone")

	events, _ := h.rec.snapshot()
	assert.Less(t, indexOf(t, events, EvTaskExited, "oldchild", old["oldchild"]), indexOf(t, events, EvTaskExited, "old", old["old"]),
		"a removed task stops after its subtree")
	reload := h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvReload })
	assert.Equal(t, []string{"api", "cron", "metrics", "old", "oldchild"}, reload.Tasks, "web restarts, but as part of api's subtree")
}

func TestInvalidReloadChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, before)
	h := startFile(t, path)
	h.rec.waitFor(t, is(EvTaskReady, "web"))
	old := h.sup.Status()

	writeFile(t, path, before+"\n[tasks.bad]\ncommand = []\nparent = \"nope\"\n")
	err := h.sup.Reload()
	var list config.Errors
	require.ErrorAs(t, err, &list)
	assert.Len(t, list, 2, "every error is reported")
	assert.Contains(t, h.log.String(), "reload rejected")
	assert.Contains(t, h.log.String(), `unknown parent \"nope\"`)
	assert.Equal(t, old, h.sup.Status(), "same processes, same states")
}

func TestSIGUSR1Reloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, "[tasks.a]\ncommand = [\"sleep\", \"1000\"]\n")
	h := startFile(t, path)
	a := h.pid("a", 0)
	writeFile(t, path, "[tasks.a]\ncommand = [\"sleep\", \"1000\"]\n[tasks.b]\ncommand = [\"sleep\", \"1000\"]\n")
	h.sigs <- signals.Event{Action: signals.Reload, Signal: unix.SIGUSR1}
	h.rec.waitFor(t, is(EvTaskReady, "b"))
	assert.Equal(t, a, h.pid("a", 0))
}

func TestReloadFixesAFatalTask(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, "[tasks.keep]\ncommand = [\"sleep\", \"1000\"]\n[tasks.broken]\ncommand = [\"/nonexistent\"]\nstart_retries = 0\n")
	h := startFile(t, path)
	h.rec.waitFor(t, is(EvTaskFatal, "broken"))
	writeFile(t, path, "[tasks.keep]\ncommand = [\"sleep\", \"1000\"]\n[tasks.broken]\ncommand = [\"sleep\", \"1000\"]\nstart_retries = 0\n")
	require.NoError(t, h.sup.Reload())
	h.rec.waitFor(t, is(EvTaskReady, "broken"))
}

// A reload that removes a task with no process forgets it at once. That must not
// skip the task after it: here x2 and x3, running, are removed too and must stop.
func TestReloadRemovingIdleTasksStopsTheOthersRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, `
[tasks.keep]
command = ["sleep", "1000"]

[tasks.x1]
autostart = false
command = ["sleep", "1000"]

[tasks.x2]
command = ["sleep", "1000"]

[tasks.x3]
command = ["sleep", "1000"]
`)
	h := startFile(t, path)
	x2, x3 := h.pid("x2", 0), h.pid("x3", 0)
	h.pid("keep", 0)
	writeFile(t, path, "[tasks.keep]\ncommand = [\"sleep\", \"1000\"]\n")
	require.NoError(t, h.sup.Reload())
	waitGone(t, x2, x3)
	require.Eventually(t, func() bool { return len(h.sup.Status()) == 1 }, 10*time.Second, time.Millisecond,
		"only keep is left: %+v", h.sup.Status())
	notReady, err := h.sup.NotReady()
	require.NoError(t, err)
	assert.Empty(t, notReady, "removed tasks do not hold readiness back")
}

// When the only task left after a reload has completed, procmon has nothing more
// to run and exits, however the removed ones had ended.
func TestReloadRemovingACompletedTaskLetsProcmonEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, `
[tasks.a]
type = "oneshot"
command = ["true"]

[tasks.b]
type = "oneshot"
command = ["sh", "-c", "while [ ! -e $GATE ]; do sleep 0.01; done"]
env = { GATE = "`+filepath.Join(filepath.Dir(path), "gate")+`" }
`)
	h := startFile(t, path)
	h.waitState("a", 0, Completed)
	writeFile(t, path, `
[tasks.b]
type = "oneshot"
command = ["sh", "-c", "while [ ! -e $GATE ]; do sleep 0.01; done"]
env = { GATE = "`+filepath.Join(filepath.Dir(path), "gate")+`" }
`)
	require.NoError(t, h.sup.Reload())
	writeFile(t, filepath.Join(filepath.Dir(path), "gate"), "")
	assert.Equal(t, 0, h.wait())
}

// A task changed while its ended process's group still drains runs under its
// new definition once the group is gone.
func TestReloadDuringADrainRunsTheNewDefinition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, drainingJob(3, "1s"))
	h := startFile(t, path)
	h.rec.waitFor(t, is(EvTaskExited, "job"))
	writeFile(t, path, drainingJob(4, "1s"))
	require.NoError(t, h.sup.Reload())
	exits := h.rec.waitN(t, 2, 10*time.Second, is(EvTaskExited, "job"))
	assert.Equal(t, 4, *exits[1].ExitCode)
}

// A task stopped by `procmon stop` stays stopped through a reload that changes
// it; one whose autostart the reload turns on starts.
func TestReloadKeepsAStoppedTaskStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, `
[tasks.worker]
command = ["sleep", "1000"]

[tasks.idle]
command = ["sleep", "1000"]
autostart = false
`)
	h := startFile(t, path)
	worker := h.pid("worker", 0)
	require.NoError(t, h.sup.Stop("worker"))
	waitGone(t, worker)
	writeFile(t, path, `
[tasks.worker]
command = ["sleep", "1001"]

[tasks.idle]
command = ["sleep", "1000"]
`)
	require.NoError(t, h.sup.Reload())
	h.pid("idle", 0)
	assert.Equal(t, Stopped, h.instance("worker", 0).State)
	assert.Zero(t, h.instance("worker", 0).Pid)
}

// A new stop_signal or stop_timeout (a task's own, or [procmon]'s that tasks
// inherit) restarts nothing: the next stop uses it.
func TestReloadOfHowToStopRestartsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	const trapper = "[tasks.b]\ncommand = [\"sh\", \"-c\", \"trap 'exit 7' USR1; sleep 1000 & wait\"]\n"
	writeFile(t, path, "[procmon]\nstop_timeout = \"2s\"\n[tasks.a]\ncommand = [\"sleep\", \"1000\"]\n"+trapper)
	h := startFile(t, path)
	h.rec.waitFor(t, is(EvTaskReady, "b"))
	a, b := h.pid("a", 0), h.pid("b", 0)
	waitCatching(t, b, unix.SIGUSR1)
	writeFile(t, path, "[procmon]\nstop_timeout = \"3s\"\n[tasks.a]\ncommand = [\"sleep\", \"1000\"]\n"+trapper+"stop_signal = \"USR1\"\n")
	require.NoError(t, h.sup.Reload())
	reload := h.rec.waitFor(t, is(EvReload, ""))
	assert.Empty(t, reload.Tasks, "nothing added, changed or removed")
	assert.Equal(t, a, h.pid("a", 0))
	assert.Equal(t, b, h.pid("b", 0))
	require.NoError(t, h.sup.Stop("b"))
	exited := h.rec.waitFor(t, is(EvTaskExited, "b"))
	require.NotNil(t, exited.ExitCode)
	assert.Equal(t, 7, *exited.ExitCode, "stopped with the new stop_signal")
}

// A task removed by a reload and defined again while its process still stops
// does not run twice: the new process starts once the old one is gone.
func TestTaskBackBeforeItsProcessIsGoneRunsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	const base = "[tasks.base]\ncommand = [\"sleep\", \"1000\"]\n"
	const stubborn = "[tasks.stubborn]\nparent = \"base\"\ncommand = [\"sh\", \"-c\", \"trap '' TERM; sleep 1000 & wait; wait\"]\nstop_timeout = \"1s\"\n"
	writeFile(t, path, base+stubborn)
	h := startFile(t, path)
	old := h.pid("stubborn", 0)
	waitIgnoring(t, old, unix.SIGTERM)
	writeFile(t, path, base)
	require.NoError(t, h.sup.Reload())
	h.waitState("stubborn", 0, Stopping)
	writeFile(t, path, base+stubborn+"env = { V = \"2\" }\n")
	require.NoError(t, h.sup.Reload())
	started := h.rec.waitN(t, 2, 10*time.Second, is(EvTaskStarted, "stubborn"))[1]
	killed := h.rec.waitFor(t, is(EvTaskExited, "stubborn"))
	assert.Equal(t, "SIGKILL", killed.Signal, "the old process ran out its stop_timeout")
	assert.True(t, gone(old))
	assert.True(t, started.Time.After(killed.Time), "the new process started after the old one was gone")
	rows := 0
	for _, st := range h.sup.Status() {
		if st.Name == "stubborn" {
			rows++
		}
	}
	assert.Equal(t, 1, rows, "one stubborn, not two")
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", h.pid("stubborn", 0)))
	require.NoError(t, err)
	assert.Contains(t, strings.Split(string(environ), "\x00"), "V=2", "under the new definition")
}

// A task that comes back with autostart off does not start, revived or not.
func TestTaskBackWithAutostartOffStaysStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	const base = "[tasks.base]\ncommand = [\"sleep\", \"1000\"]\n"
	writeFile(t, path, base+"[tasks.w]\ninstances = 2\nstop_timeout = \"1s\"\n"+
		"command = [\"sh\", \"-c\", \"[ $PROCMON_INSTANCE = 1 ] && trap '' TERM; sleep 1000 & wait; wait\"]\n")
	h := startFile(t, path)
	waitIgnoring(t, h.pid("w", 1), unix.SIGTERM)
	writeFile(t, path, base)
	require.NoError(t, h.sup.Reload())
	h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvTaskExited && ev.Task == "w" && ev.Instance == 0 })
	h.waitState("w", 1, Stopping)
	writeFile(t, path, base+"[tasks.w]\ninstances = 1\nautostart = false\ncommand = [\"sleep\", \"1000\"]\n")
	require.NoError(t, h.sup.Reload())
	killed := h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvTaskExited && ev.Task == "w" && ev.Instance == 1 })
	assert.Equal(t, "SIGKILL", killed.Signal)
	require.Eventually(t, func() bool { return h.instance("w", 1).Name == "" }, 10*time.Second, time.Millisecond, "w.1 is dropped once gone")
	assert.Equal(t, Stopped, h.instance("w", 0).State)
	assert.Zero(t, h.instance("w", 0).Pid)
	assert.Equal(t, 2, h.rec.count(is(EvTaskStarted, "w")), "nothing of w started again")
}

// Reloads that overlap apply the files in the order they were read: the newest
// file wins, however long an older one took to parse.
func TestOverlappingReloadsEndWithTheNewestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, "[tasks.first]\ncommand = [\"sleep\", \"1000\"]\n")
	h := startFile(t, path)
	h.rec.waitFor(t, is(EvTaskReady, "first"))

	var older strings.Builder // slow to parse: thousands of tasks that do not start
	older.WriteString("[tasks.older]\ncommand = [\"sleep\", \"1000\"]\n")
	for i := range 3000 {
		fmt.Fprintf(&older, "[tasks.idle%d]\ncommand = [\"sleep\", \"1000\"]\nautostart = false\n", i)
	}
	writeFile(t, path, older.String())
	read := watchReads(t, path)
	slow := make(chan error, 1)
	go func() { slow <- h.sup.Reload() }()
	<-read // the older file is read, and now being parsed

	newer := path + ".new"
	writeFile(t, newer, "[tasks.newer]\ncommand = [\"sleep\", \"1000\"]\n")
	require.NoError(t, os.Rename(newer, path))
	require.NoError(t, h.sup.Reload())
	require.NoError(t, <-slow)
	h.rec.waitFor(t, is(EvTaskReady, "newer"))
	require.Eventually(t, func() bool {
		st := h.sup.Status()
		return len(st) == 1 && st[0].Name == "newer"
	}, 10*time.Second, time.Millisecond, "only the newest file's task is left")
}

// watchReads signals once a process has read path and closed it.
func watchReads(t *testing.T, path string) <-chan struct{} {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	require.NoError(t, err)
	_, err = unix.InotifyAddWatch(fd, path, unix.IN_CLOSE_NOWRITE)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer unix.Close(fd)
		buf := make([]byte, 4096)
		_, _ = unix.Read(fd, buf)
		close(done)
	}()
	return done
}

// A reload that removes a task ends its followers (`logs -f`), as kubectl's
// does when its pod goes: the name may come back as another task.
func TestRemovedTaskEndsItsFollowers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, "[tasks.lazy]\ncommand = [\"sleep\", \"1000\"]\n[tasks.other]\ncommand = [\"sleep\", \"1000\"]\n")
	h := startFile(t, path)
	h.pid("lazy", 0)
	f := output.NewFollower(1 << 20)
	_, stop, err := h.sup.Follow("lazy", 0, f)
	require.NoError(t, err)
	defer stop()
	writeFile(t, path, "[tasks.other]\ncommand = [\"sleep\", \"1000\"]\n")
	require.NoError(t, h.sup.Reload())
	select {
	case <-f.Ended():
	case <-time.After(10 * time.Second):
		t.Fatal("the follower of a removed task never ended")
	}
}

// Another number of instances in the file scales the task, as `procmon scale`
// does: the instances that run keep their processes.
func TestReloadOfInstancesScales(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	writeFile(t, path, "[tasks.web]\ncommand = [\"sleep\", \"1000\"]\ninstances = 2\n")
	h := startFile(t, path)
	old := []int{h.pid("web", 0), h.pid("web", 1)}
	writeFile(t, path, "[tasks.web]\ncommand = [\"sleep\", \"1000\"]\ninstances = 3\n")
	require.NoError(t, h.sup.Reload())
	h.pid("web", 2)
	assert.Equal(t, old, []int{h.pid("web", 0), h.pid("web", 1)})
	reload := h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvReload })
	assert.Equal(t, []string{"web"}, reload.Tasks)

	writeFile(t, path, "[tasks.web]\ncommand = [\"sleep\", \"1000\"]\ninstances = 1\n")
	require.NoError(t, h.sup.Reload())
	waitGone(t, old[1])
	assert.Equal(t, old[0], h.pid("web", 0))
}

func TestReloadWarnsOfProcmonKeysThatNeedARestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "procmon.toml")
	writeFile(t, path, "[procmon]\nshutdown_timeout = \"5s\"\n[tasks.a]\ncommand = [\"sleep\", \"1000\"]\n")
	h := startFile(t, path)
	h.pid("a", 0)
	writeFile(t, path, fmt.Sprintf("[procmon]\nshutdown_timeout = \"3s\"\njournal = %q\n[tasks.a]\ncommand = [\"sleep\", \"1000\"]\n",
		filepath.Join(dir, "journal")))
	require.NoError(t, h.sup.Reload())
	assert.Contains(t, h.log.String(), `msg="reload: these [procmon] keys differ from those procmon started with, and take effect only when it restarts" keys="[journal]"`)
}

// A reload's new log_max_size applies to the file the restarted task opens.
func TestReloadOfLogMaxSizeApplies(t *testing.T) {
	dir := t.TempDir()
	path, out := filepath.Join(dir, "procmon.toml"), filepath.Join(dir, "out.log")
	task := func(size string) string {
		return fmt.Sprintf("[tasks.w]\ncommand = [\"sh\", \"-c\", \"while :; do echo 0123456789012345678901234567890123456789; sleep 0.01; done\"]\nstdout = %q\nlog_max_size = %q\nlog_backups = 1\n", out, size)
	}
	writeFile(t, path, task("0"))
	h := startFile(t, path)
	h.pid("w", 0)
	writeFile(t, path, task("400"))
	require.NoError(t, h.sup.Reload())
	require.Eventually(t, func() bool { _, err := os.Stat(out + ".1"); return err == nil }, 10*time.Second, 5*time.Millisecond,
		"the file never rotated at the new log_max_size")
}

// services_dir is watched as procmon started: one that a reload adds, which
// nothing watches, does not keep procmon running once every task has ended.
func TestAServicesDirAddedByAReloadDoesNotKeepProcmonRunning(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "procmon.toml")
	const job = "[tasks.job]\ntype = \"oneshot\"\ncommand = [\"sh\", \"-c\", \"while [ ! -e \\\"$0\\\" ]; do sleep 0.01; done\", %q]\n"
	gate := filepath.Join(dir, "gate")
	writeFile(t, path, fmt.Sprintf(job, gate))
	h := startFile(t, path)
	writeFile(t, path, fmt.Sprintf("[procmon]\nservices_dir = %q\n"+job, dir, gate))
	require.NoError(t, h.sup.Reload())
	assert.Contains(t, h.log.String(), `keys="[services_dir]"`)
	writeFile(t, gate, "")
	assert.Equal(t, 0, h.wait())
}
