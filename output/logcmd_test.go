package output

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/signals"
)

var (
	reaperOnce sync.Once
	reaper     *signals.Reaper
)

// startFunc is the test binary's single wait(2) caller, as procmon's is. It is
// made on first use rather than in TestMain, so the other tests of the package
// are not affected by a reaper they do not need.
func startFunc() signals.StartFunc {
	reaperOnce.Do(func() {
		reaper = signals.NewReaper(nil)
		signals.Listen(reaper)
	})
	return reaper.Start
}

func startLogger(t *testing.T, script string) (*LogCommand, *logtest.Hook) {
	t.Helper()
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	c, err := StartLogCommand([]string{"sh", "-c", script}, startFunc(), log)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c, hook
}

func readFileLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestLogCommandPipesLinesToTheLogger(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	c, _ := startLogger(t, "cat >> "+out)
	var want []string
	for n := 0; n < 500; n++ {
		want = append(want, fmt.Sprint("line ", n))
		c.WriteLine([]byte(want[n]), true)
	}
	c.Close() // hands over the queue, then EOF: cat writes everything and exits
	assert.Equal(t, want, readFileLines(out))
	assert.Zero(t, c.Dropped())
	c.WriteLine([]byte("after close"), true) // dropped, no panic
	c.Close()
}

func TestLogCommandGetsTheTaskBytesUnchanged(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	c, _ := startLogger(t, "cat >> "+out)
	want := longLineAndTail()
	throughHub(t, c, want)
	c.Close()
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, len(want), len(got))
	assert.True(t, bytes.Equal(want, got), "no newline between the pieces of a long line, none after the last")
}

func TestLogCommandRestartsALoggerThatDies(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	c, hook := startLogger(t, "head -n 3 >> "+out) // exits after 3 lines
	n := 0
	// Keep writing: lines that reach a dying logger's pipe are lost with it, the
	// others must go to its successors, three lines each.
	require.Eventually(t, func() bool {
		c.WriteLine([]byte(strconv.Itoa(n)), true)
		n++
		return len(readFileLines(out)) >= 9
	}, testWait, 5*time.Millisecond)

	got := readFileLines(out)
	prev := -1
	for _, l := range got {
		v, err := strconv.Atoi(l)
		require.NoError(t, err)
		require.Greater(t, v, prev, "lines arrive in order: %v", got)
		prev = v
	}
	var restarts int
	for _, e := range hook.AllEntries() {
		if e.Message == "log_command exited: restarting it" {
			restarts++
		}
	}
	assert.GreaterOrEqual(t, restarts, 2)
}

func TestLogCommandNeverBlocksOnAStuckLogger(t *testing.T) {
	c, hook := startLogger(t, "exec sleep 1000") // never reads its stdin
	const lines = 100000
	done := make(chan struct{})
	go func() {
		defer close(done)
		line := []byte(strings.Repeat("x", 100))
		for n := 0; n < lines; n++ {
			c.WriteLine(line, true)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WriteLine blocked on a logger that does not read")
	}
	// The pipe and the queue take some lines, the rest is counted.
	assert.Greater(t, c.Dropped(), int64(lines/2))
	assert.Equal(t, "log_command does not keep up: dropping lines", hook.AllEntries()[0].Message)

	start := time.Now()
	c.Close()
	assert.Less(t, time.Since(start), 5*time.Second, "Close does not wait for a stuck logger for long")
}

func TestStartLogCommandReportsAMissingCommand(t *testing.T) {
	log, _ := logtest.NewNullLogger()
	_, err := StartLogCommand([]string{"/nonexistent/logger"}, startFunc(), log)
	assert.Error(t, err)
	_, err = StartLogCommand(nil, startFunc(), log)
	assert.Error(t, err)
}
