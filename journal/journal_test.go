package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/tasks"
)

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %q", sc.Text())
		out = append(out, m)
	}
	return out
}

func TestOpenRefusesASecondProcmonOnTheSameJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	log, _ := quietLog()
	j, err := Open(path, log)
	require.NoError(t, err)

	_, err = Open(path, log)
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrLocked))
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), fmt.Sprintf("another procmon (pid %d) holds its lock", os.Getpid()))

	require.NoError(t, j.Close())
	require.NoError(t, j.Close(), "Close twice is harmless")
	j2, err := Open(path, log)
	require.NoError(t, err, "the lock goes with Close")
	require.NoError(t, j2.Close())
}

func TestObserveWritesJournalTypesAsJSONLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	log, _ := quietLog()
	j, err := Open(path, log)
	require.NoError(t, err)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	code := 3
	for _, ev := range []tasks.Event{
		{Time: at, Type: tasks.EvProcmonStarted},
		{Time: at, Type: tasks.EvTaskStarted, Task: "web", Instance: 1, Pid: os.Getpid()},
		{Time: at, Type: tasks.EvOrphanReaped, Pid: 99}, // log-only: not journaled
		{Time: at, Type: tasks.EvMonitorFailed, Task: "web", Instance: 1, Monitor: "http", Error: "503"},
		{Time: at, Type: tasks.EvTaskExited, Task: "web", Instance: 1, Pid: 77, ExitCode: &code},
		{Time: at, Type: tasks.EvSubtreeStopped, Task: "db", Tasks: []string{"web", "api"}},
		{Time: at, Type: tasks.EvTaskBackoff, Task: "web", Delay: "2s"},
		{Time: at, Type: tasks.EvProcmonStopped},
	} {
		j.Observe(ev)
	}
	require.NoError(t, j.Close())
	j.Observe(tasks.Event{Type: tasks.EvReload}) // after Close: ignored

	lines := readLines(t, path)
	require.Len(t, lines, 7)
	assert.Equal(t, map[string]any{"time": "2025-01-02T03:04:05Z", "type": "procmon_started"}, lines[0])
	started := lines[1]
	assert.Equal(t, "web", started["task"])
	assert.EqualValues(t, 1, started["instance"])
	assert.EqualValues(t, os.Getpid(), started["pid"])
	st, err := readStat(os.Getpid())
	require.NoError(t, err)
	assert.EqualValues(t, st.start, started["start_time"]) // JSON numbers decode as float64
	assert.Equal(t, map[string]any{"time": "2025-01-02T03:04:05Z", "type": "monitor_failed", "task": "web",
		"instance": float64(1), "monitor": "http", "error": "503"}, lines[2])
	assert.EqualValues(t, 3, lines[3]["exit_code"])
	assert.Equal(t, []any{"web", "api"}, lines[4]["tasks"])
	assert.Equal(t, "2s", lines[5]["delay"])
	assert.Equal(t, "procmon_stopped", lines[6]["type"])
}

func TestJournalRotatesAtItsSizeLimitAndKeepsItsLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	log, hook := quietLog()
	j, err := Open(path, log, MaxSize(1000))
	require.NoError(t, err)
	defer j.Close()
	j.Observe(tasks.Event{Type: tasks.EvTaskStarted, Task: "long", Pid: os.Getpid()})
	j.Observe(tasks.Event{Type: tasks.EvTaskStarted, Task: "short", Pid: 2})
	j.Observe(tasks.Event{Type: tasks.EvTaskExited, Task: "short", Pid: 2})
	for n := 0; n < 60; n++ {
		j.Observe(tasks.Event{Type: tasks.EvTaskReady, Task: "task" + strconv.Itoa(n)})
	}
	for _, p := range []string{path, path + ".1"} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Less(t, fi.Size(), int64(1100), p)
	}
	lines := readLines(t, path)
	assert.Equal(t, "journal_rotated", lines[0]["type"])
	assert.Equal(t, path+".1", lines[0]["file"])
	assert.Equal(t, "task_started", lines[1]["type"], "a process still running is carried over")
	assert.Equal(t, "long", lines[1]["task"])
	assert.Equal(t, true, lines[1]["carried"])
	assert.NotNil(t, lines[1]["start_time"])
	assert.Equal(t, "task_ready", lines[2]["type"], "an exited one is not")
	assert.Equal(t, "task59", lines[len(lines)-1]["task"], "the newest line is in the current file")
	_, err = os.Stat(path + ".new")
	assert.True(t, os.IsNotExist(err), "no temporary file is left")
	assert.Equal(t, "journal rotated", hook.LastEntry().Message)

	_, err = Open(path, log)
	assert.ErrorIs(t, err, ErrLocked, "the new file is locked too")
}
