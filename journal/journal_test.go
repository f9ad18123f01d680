package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

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
		{Time: at, Type: tasks.EvTaskStarted, Task: "web", Instance: 1, Pid: 4242, StartTime: 913377},
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
	assert.EqualValues(t, 4242, started["pid"])
	assert.EqualValues(t, 913377, started["start_time"]) // JSON numbers decode as float64
	assert.Equal(t, bootID(), started["boot_id"])
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
	j.Observe(startedEvent(t, "long", os.Getpid()))
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

// limitFileSize makes writes past n bytes of any file of this process fail
// (EFBIG) after writing what fits, as a full disk does (ENOSPC); the returned
// function lifts the limit.
func limitFileSize(t *testing.T, n int64) func() {
	t.Helper()
	var was unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_FSIZE, &was))
	lift := func() { require.NoError(t, unix.Setrlimit(unix.RLIMIT_FSIZE, &was)) }
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: uint64(n), Max: was.Max}))
	t.Cleanup(lift)
	return lift
}

// writeCutShort observes ev with room in the journal for only part of its line.
func writeCutShort(t *testing.T, j *Journal, path string, ev tasks.Event) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	lift := limitFileSize(t, fi.Size()+10)
	j.Observe(ev)
	lift()
}

func TestAWriteCutShortIsCutOffSoTheNextRecordIsReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	log, hook := quietLog()
	j, err := Open(path, log)
	require.NoError(t, err)
	defer j.Close()
	j.Observe(tasks.Event{Type: tasks.EvProcmonStarted})
	writeCutShort(t, j, path, tasks.Event{Type: tasks.EvTaskReady, Task: "db"})
	j.Observe(startedEvent(t, "web", os.Getpid()))

	lines := readLines(t, path) // every line is JSON
	require.Len(t, lines, 2)
	assert.Equal(t, "task_started", lines[1]["type"])
	recs, err := unfinished(path)
	require.NoError(t, err)
	require.Len(t, recs, 1, "Cleanup finds the task")
	assert.Equal(t, "web", recs[0].Task)
	assert.Equal(t, []string{"cannot write journal; further errors are not logged until it recovers",
		"journal writable again"}, messages(hook.AllEntries()))
}

// fsAppendFL is FS_APPEND_FL of <linux/fs.h>, which x/sys/unix does not name.
const fsAppendFL = 0x20

// setAppendOnly gives path the append-only attribute (chattr +a), under which a
// file can be written but not truncated; it skips the test where that cannot be.
func setAppendOnly(t *testing.T, path string) {
	t.Helper()
	var flags uint32
	err := withFd(path, func(fd int) (err error) {
		flags, err = unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
		return err
	})
	if err == nil {
		err = withFd(path, setFlags(flags|fsAppendFL))
	}
	if err != nil {
		t.Skipf("cannot make %s append-only: %v", path, err)
	}
	t.Cleanup(func() { // or the temporary directory cannot be removed
		require.NoError(t, withFd(path, setFlags(flags)))
	})
}

func setFlags(flags uint32) func(fd int) error {
	return func(fd int) error { return unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags)) }
}

func withFd(path string, do func(fd int) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return do(int(f.Fd()))
}

func TestAWriteCutShortThatCannotBeCutOffEndsBeforeTheNextRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	log, _ := quietLog()
	j, err := Open(path, log)
	require.NoError(t, err)
	defer j.Close()
	j.Observe(tasks.Event{Type: tasks.EvProcmonStarted})
	setAppendOnly(t, path)
	writeCutShort(t, j, path, tasks.Event{Type: tasks.EvTaskReady, Task: "db"})
	j.Observe(startedEvent(t, "web", os.Getpid()))

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 3, "the torn line stays, on a line of its own")
	assert.NotEmpty(t, lines[1])
	assert.True(t, strings.HasPrefix(`{"time":"0001-01-01T00:00:00Z","type":"task_ready","task":"db"}`, lines[1]), lines[1])
	recs, err := unfinished(path)
	require.NoError(t, err)
	require.Len(t, recs, 1, "Cleanup finds the task")
	assert.Equal(t, "web", recs[0].Task)
}

func messages(entries []*logrus.Entry) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Message)
	}
	return out
}

// blockRotation makes every rotation of the journal at path fail, until the
// returned function is called: PATH.new, which a rotation must create, is a
// directory that cannot be removed.
func blockRotation(t *testing.T, path string) func() {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(path+".new", "in-the-way"), 0o755))
	return func() { require.NoError(t, os.RemoveAll(path+".new")) }
}

// observeUntilRotated observes events until the journal rotates, and returns
// the size of PATH.1 then.
func observeUntilRotated(t *testing.T, j *Journal, path string) int64 {
	t.Helper()
	for n := 0; n < 1000; n++ {
		j.Observe(tasks.Event{Type: tasks.EvTaskReady, Task: "later" + strconv.Itoa(n)})
		if fi, err := os.Stat(path + ".1"); err == nil {
			return fi.Size()
		}
	}
	t.Fatal("the journal did not rotate")
	return 0
}

func TestAFailingRotationIsLoggedOnceWhileWritesGoOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	log, hook := quietLog()
	unblock := blockRotation(t, path)
	j, err := Open(path, log, MaxSize(1000))
	require.NoError(t, err)
	defer j.Close()
	for n := 0; n < 100; n++ {
		j.Observe(tasks.Event{Type: tasks.EvTaskReady, Task: "task" + strconv.Itoa(n)})
	}
	assert.Equal(t, []string{"cannot rotate journal; further errors are not logged until it recovers"},
		messages(hook.AllEntries()))
	assert.Len(t, readLines(t, path), 100, "no event is lost")

	unblock()
	observeUntilRotated(t, j, path)
	assert.Equal(t, []string{"cannot rotate journal; further errors are not logged until it recovers",
		"journal rotates again", "journal rotated"}, messages(hook.AllEntries()))
}

func TestAFailedRotationIsRetriedOnceTheJournalGrewByATenthOfItsLimit(t *testing.T) {
	const limit = 10000
	path := filepath.Join(t.TempDir(), "journal")
	log, hook := quietLog()
	unblock := blockRotation(t, path)
	j, err := Open(path, log, MaxSize(limit))
	require.NoError(t, err)
	defer j.Close()
	for n := 0; len(hook.AllEntries()) == 0; n++ { // until the first rotation fails
		require.Less(t, n, 1000, "no rotation was tried")
		j.Observe(tasks.Event{Type: tasks.EvTaskReady, Task: "task" + strconv.Itoa(n)})
	}
	fi, err := os.Stat(path)
	require.NoError(t, err)
	failedAt := fi.Size()

	unblock()
	rotatedAt := observeUntilRotated(t, j, path)
	assert.GreaterOrEqual(t, rotatedAt, failedAt+limit/10, "not before the journal grew by a tenth")
	assert.Less(t, rotatedAt, failedAt+limit/10+100, "but then at once")
}
