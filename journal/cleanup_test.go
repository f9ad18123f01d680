package journal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/signals"
	"github.com/procmon/procmon/tasks"
)

// previousRun writes a journal as a procmon that died would have left it: its
// tasks started and never exited.
func previousRun(t *testing.T, pids ...int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal")
	log, _ := quietLog()
	j, err := Open(path, log)
	require.NoError(t, err)
	j.Observe(tasks.Event{Type: tasks.EvProcmonStarted})
	for n, pid := range pids {
		j.Observe(startedEvent(t, "task"+strconv.Itoa(n), pid))
	}
	require.NoError(t, j.Close())
	return path
}

func appendRecord(t *testing.T, path string, rec record) {
	t.Helper()
	line, err := json.Marshal(rec)
	require.NoError(t, err)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	_, err = f.Write(append(line, '\n'))
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestCleanupStopsATaskLeftByAPreviousRun(t *testing.T) {
	p := startProc(t, "sleep", "1000")
	path := previousRun(t, p.pid)
	log, hook := quietLog()

	start := time.Now()
	require.NoError(t, Cleanup(path, term(10*time.Second), log))
	assert.Less(t, time.Since(start), 5*time.Second, "SIGTERM was enough: no wait for the timeout")
	assert.Equal(t, unix.SIGTERM, p.exit(t).Signal())
	assert.Equal(t, "stopping a process left running by a previous procmon", hook.Entries[0].Message)
	assert.Equal(t, "task0", hook.Entries[0].Data["task"])
}

func TestCleanupKillsALeftoverThatIgnoresSIGTERM(t *testing.T) {
	p := startProc(t, "sh", "-c", `trap "" TERM; sleep 1000`)
	// The trap must be in place, or SIGTERM would do and nothing would be tested.
	require.Eventually(t, func() bool { return ignoresTERM(p.pid) }, 10*time.Second, time.Millisecond)
	path := previousRun(t, p.pid)
	log, _ := quietLog()

	require.NoError(t, Cleanup(path, term(50*time.Millisecond), log))
	assert.Equal(t, unix.SIGKILL, p.exit(t).Signal())
}

// term stops every leftover as a task with the default stop_signal would be.
func term(timeout time.Duration) StopFunc {
	return func(string) (unix.Signal, time.Duration) { return unix.SIGTERM, timeout }
}

func TestCleanupStopsEachLeftoverAsItsTaskIsStopped(t *testing.T) {
	p := startProc(t, "sh", "-c", `trap "" TERM; trap "exit 0" INT; while :; do sleep 1; done`)
	require.Eventually(t, func() bool { return ignoresTERM(p.pid) }, 10*time.Second, time.Millisecond)
	path := previousRun(t, p.pid)
	log, _ := quietLog()
	var asked []string
	stop := func(task string) (unix.Signal, time.Duration) {
		asked = append(asked, task)
		return unix.SIGINT, 10 * time.Second
	}

	start := time.Now()
	require.NoError(t, Cleanup(path, stop, log))
	assert.Less(t, time.Since(start), 5*time.Second, "its own stop signal was enough: no SIGKILL")
	assert.Equal(t, 0, p.exit(t).Code(), "the trap on SIGINT ended it")
	assert.Equal(t, []string{"task0"}, asked)
}

func ignoresTERM(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(rest), 16, 64)
			return err == nil && mask&(1<<(unix.SIGTERM-1)) != 0
		}
	}
	return false
}

func TestCleanupLeavesAPidNowHeldByAnotherProcess(t *testing.T) {
	p := startProc(t, "sleep", "1000")
	st, err := signals.ReadProcStat(p.pid)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "journal")
	// The recorded process started earlier: this one only got its pid later.
	appendRecord(t, path, record{Event: tasks.Event{Type: tasks.EvTaskStarted, Task: "old", Pid: p.pid, StartTime: st.Start - 1}, BootID: bootID()})
	log, _ := quietLog()

	require.NoError(t, Cleanup(path, term(50*time.Millisecond), log))
	assert.True(t, p.running(), "an unrelated process must survive")
}

func TestCleanupLeavesTasksThatExitedAndOtherBoots(t *testing.T) {
	exited := startProc(t, "sleep", "1000")
	otherBoot := startProc(t, "sleep", "1000")
	path := previousRun(t, exited.pid)
	appendRecord(t, path, record{Event: tasks.Event{Type: tasks.EvTaskExited, Task: "task0", Pid: exited.pid}})
	st, err := signals.ReadProcStat(otherBoot.pid)
	require.NoError(t, err)
	appendRecord(t, path, record{Event: tasks.Event{Type: tasks.EvTaskStarted, Pid: otherBoot.pid, StartTime: st.Start}, BootID: "another-boot"})
	log, _ := quietLog()

	require.NoError(t, Cleanup(path, term(50*time.Millisecond), log))
	assert.True(t, exited.running(), "its task_exited says the recorded process is gone")
	assert.True(t, otherBoot.running(), "start times of another boot compare with nothing")
}

func TestCleanupReadsTheRotatedJournalToo(t *testing.T) {
	p := startProc(t, "sleep", "1000")
	path := previousRun(t, p.pid)
	require.NoError(t, os.Rename(path, path+".1"))
	appendRecord(t, path, record{Event: tasks.Event{Type: typeRotated}, File: path + ".1"})
	log, _ := quietLog()

	require.NoError(t, Cleanup(path, term(10*time.Second), log))
	assert.Equal(t, unix.SIGTERM, p.exit(t).Signal())
}

func TestCleanupWithoutAJournalDoesNothing(t *testing.T) {
	log, _ := quietLog()
	assert.NoError(t, Cleanup(filepath.Join(t.TempDir(), "none"), term(time.Second), log))
}

func TestCleanupFindsATaskStartedManyRotationsAgo(t *testing.T) {
	p := startProc(t, "sleep", "1000")
	path := filepath.Join(t.TempDir(), "journal")
	log, _ := quietLog()
	j, err := Open(path, log, MaxSize(500))
	require.NoError(t, err)
	j.Observe(startedEvent(t, "old", p.pid))
	for n := 0; n < 100; n++ { // several rotations: the original line is long gone
		j.Observe(tasks.Event{Type: tasks.EvTaskReady, Task: "other"})
	}
	require.NoError(t, j.Close())
	for _, f := range []string{path, path + ".1"} {
		for _, l := range readLines(t, f) {
			if l["task"] == "old" {
				require.Equal(t, true, l["carried"], "only carried copies are left")
			}
		}
	}

	require.NoError(t, Cleanup(path, term(10*time.Second), log))
	assert.Equal(t, unix.SIGTERM, p.exit(t).Signal())
}
