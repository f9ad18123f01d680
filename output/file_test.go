package output

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bounds of the waits on conditions in this package's sink tests.
const (
	testWait = 10 * time.Second
	tick     = time.Millisecond
)

func fileLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestFileRotatesAtMaxSizeKeepingBackups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	log, hook := logtest.NewNullLogger()
	f, err := OpenFile(path, 20, 2, log)
	require.NoError(t, err)
	for n := 0; n < 10; n++ {
		f.WriteLine([]byte(fmt.Sprintf("line %d ---", n)), true) // 12 bytes with the newline: one line per file
	}
	assert.Empty(t, hook.AllEntries(), "nothing failed")
	require.NoError(t, f.Close())

	assert.Equal(t, []string{"line 9 ---"}, fileLines(t, path))
	assert.Equal(t, []string{"line 8 ---"}, fileLines(t, path+".1"))
	assert.Equal(t, []string{"line 7 ---"}, fileLines(t, path+".2"))
	_, err = os.Stat(path + ".3")
	assert.True(t, os.IsNotExist(err), "only 2 backups are kept")
}

func TestFileFillsUpToMaxSizeBeforeRotating(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o644))
	f, err := OpenFile(path, 12, 2, quiet())
	require.NoError(t, err)
	for _, l := range []string{"aaa", "bbb", "ccc", "a line longer than the limit"} {
		f.WriteLine([]byte(l), true)
	}
	require.NoError(t, f.Close())
	f.WriteLine([]byte("after close"), true) // dropped, no panic

	assert.Equal(t, []string{"old", "aaa", "bbb"}, fileLines(t, path+".2"), "the existing size counts, and 12 bytes fit")
	assert.Equal(t, []string{"ccc"}, fileLines(t, path+".1"))
	assert.Equal(t, []string{"a line longer than the limit"}, fileLines(t, path), "a long line is still written whole")
}

func TestFileRotatesBetweenLinesOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	f, err := OpenFile(path, 16, 3, quiet())
	require.NoError(t, err)
	f.WriteLine([]byte("first"), true)
	// A line that arrives in pieces (over maxLine) past the limit: its file
	// grows beyond maxSize rather than cut it.
	f.WriteLine([]byte("aaaa"), false)
	f.WriteLine([]byte("bbbb"), false)
	f.WriteLine([]byte("cc"), true)
	f.WriteLine([]byte("next"), true)
	// A line longer than maxSize cannot fit anywhere: it is split.
	f.WriteLine([]byte("0123456789"), false)
	f.WriteLine([]byte("0123456789"), true)
	require.NoError(t, f.Close())

	contents := func(p string) string { data, err := os.ReadFile(p); require.NoError(t, err); return string(data) }
	assert.Equal(t, "first\naaaabbbbcc\n", contents(path+".2"), "the long line waited for its end")
	assert.Equal(t, "next\n0123456789", contents(path+".1"))
	assert.Equal(t, "0123456789\n", contents(path))
}

func TestFileWithoutBackupsStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	f, err := OpenFile(path, 10, 0, quiet())
	require.NoError(t, err)
	defer f.Close()
	for _, l := range []string{"one", "two", "three"} {
		f.WriteLine([]byte(l), true)
	}
	assert.Equal(t, []string{"three"}, fileLines(t, path))
	_, err = os.Stat(path + ".1")
	assert.True(t, os.IsNotExist(err))
}

func TestFileReopenAfterRenameLosesNoLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	f, err := OpenFile(path, 0, 0, quiet())
	require.NoError(t, err)
	const total = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the hub's goroutine
		defer wg.Done()
		for n := 0; n < total; n++ {
			f.WriteLine([]byte(fmt.Sprint(n)), true)
		}
	}()
	// logrotate's create mode, twice, while lines are flowing.
	var moved []string
	for r := 1; r <= 2; r++ {
		require.Eventually(t, func() bool { fi, err := os.Stat(path); return err == nil && fi.Size() > 0 }, testWait, tick)
		old := fmt.Sprintf("%s.rotated%d", path, r)
		require.NoError(t, os.Rename(path, old))
		require.NoError(t, f.Reopen())
		moved = append(moved, old)
	}
	wg.Wait()
	require.NoError(t, f.Close())

	var all []string
	for _, p := range append(moved, path) {
		all = append(all, fileLines(t, p)...)
	}
	require.Equal(t, total, len(all))
	for n, l := range all {
		require.Equal(t, fmt.Sprint(n), l, "lines are all there, in order")
	}
}

// A rotation that cannot move the file away (PATH.1 is a directory that is not
// empty) is reported once, the lines still land in the file, and the recovery
// is reported when the way is clear.
func TestFileReportsFailuresOnceUntilTheyStop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	require.NoError(t, os.MkdirAll(filepath.Join(path+".1", "in-the-way"), 0o755))
	log, hook := logtest.NewNullLogger()
	f, err := OpenFile(path, 10, 1, log)
	require.NoError(t, err)
	defer f.Close()
	for n := range 3 {
		f.WriteLine([]byte(fmt.Sprintf("line %d ---", n)), true)
	}
	require.Len(t, hook.AllEntries(), 1, "one report for a run of failures")
	assert.Equal(t, "cannot write task output; further errors are not logged until it recovers", hook.LastEntry().Message)
	assert.Equal(t, path, hook.LastEntry().Data["file"])
	assert.Equal(t, []string{"line 0 ---", "line 1 ---", "line 2 ---"}, fileLines(t, path), "no line is lost")

	require.NoError(t, os.RemoveAll(path+".1"))
	f.WriteLine([]byte("line 3 ---"), true)
	require.Len(t, hook.AllEntries(), 2)
	assert.Equal(t, "task output file writable again", hook.LastEntry().Message)
	assert.Equal(t, []string{"line 3 ---"}, fileLines(t, path))
	assert.Equal(t, []string{"line 0 ---", "line 1 ---", "line 2 ---"}, fileLines(t, path+".1"))
}

func quiet() logrus.FieldLogger {
	log, _ := logtest.NewNullLogger()
	return log
}

// A file gets the task's bytes as they are: no newline between the pieces of a
// long line, none after an unfinished last line. `procmon logs` shows the pieces.
func TestFileGetsTheTaskBytesUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	f, err := OpenFile(path, 0, 0, quiet())
	require.NoError(t, err)
	ring := NewRing("web", 0, "web", 100)
	want := longLineAndTail()
	throughHub(t, ring.Sink("stdout", f), want)
	require.NoError(t, f.Close())

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, len(want), len(got))
	assert.True(t, bytes.Equal(want, got))
	var lengths []int
	for _, l := range ring.Last(-1) {
		lengths = append(lengths, len(l.Text))
	}
	pieces := append(slices.Repeat([]int{maxLine}, 200000/maxLine), 200000%maxLine)
	assert.Equal(t, append(pieces, len("short"), len("no-newline-tail")), lengths)
}
