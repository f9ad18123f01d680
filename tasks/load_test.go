package tasks

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestParseLoadReadings(t *testing.T) {
	v, err := parseLoadAverage([]byte("3.25 1.10 0.50 2/345 6789\n"))
	require.NoError(t, err)
	assert.Equal(t, 3.25, v)
	v, err = parsePressure([]byte("some avg10=1.00 avg60=42.50 avg300=3.00 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"))
	require.NoError(t, err)
	assert.Equal(t, 42.5, v)
	_, err = parsePressure([]byte("full avg10=0.00\n"))
	assert.Error(t, err)
	real, err := readLoadAverage()
	require.NoError(t, err, "this machine's /proc/loadavg reads")
	assert.False(t, math.IsNaN(real))
}

// processState is the state letter of /proc/PID/stat: T while stopped.
func processState(pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return fields[0]
}

func TestLoadPausesAndResumes(t *testing.T) {
	var load atomic.Value
	var reads atomic.Int32
	load.Store(0.5)
	h := startConfig(t, loadConfig(t, `
[tasks.batch]
command = ["sleep", "1000"]
load_high = 4
load_low = 2

[tasks.child]
parent = "batch"
command = ["sleep", "1000"]
`), func(o *Options) {
		o.Load = func() (float64, error) { reads.Add(1); return load.Load().(float64), nil }
		o.LoadInterval = 5 * time.Millisecond
	})
	h.rec.waitFor(t, is(EvTaskReady, "child"))
	pid, child := h.pid("batch", 0), h.pid("child", 0)

	load.Store(6.0)
	h.waitState("batch", 0, Paused)
	require.Eventually(t, func() bool { return processState(pid) == "T" }, 10*time.Second, time.Millisecond)
	assert.Equal(t, child, h.pid("child", 0), "the tasks below a paused one keep running")

	load.Store(3.0)
	seen := reads.Load()
	require.Eventually(t, func() bool { return reads.Load() > seen+3 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, Paused, h.instance("batch", 0).State, "between load_low and load_high a paused task stays paused")
	load.Store(1.0)
	h.waitState("batch", 0, Ready)
	require.Eventually(t, func() bool { return processState(pid) == "S" }, 10*time.Second, time.Millisecond)

	load.Store(6.0)
	h.waitState("batch", 0, Paused)
	began := time.Now()
	assert.Equal(t, 0, h.stop())
	assert.Less(t, time.Since(began), 5*time.Second, "a paused task is continued after its stop signal, not left to the kill")
	exited := h.rec.waitFor(t, is(EvTaskExited, "batch"))
	assert.Equal(t, "SIGTERM", exited.Signal)
}

// A oneshot at work is paused too (a batch job is what pausing is most for),
// and while paused it has not completed: the tasks below it still wait.
func TestLoadPausesARunningOneshot(t *testing.T) {
	var load atomic.Value
	load.Store(0.5)
	// The oneshot waits on a FIFO, in open(2): a process that forks (a shell
	// loop) may be caught stopped in vfork, where it shows D rather than T.
	gate := filepath.Join(t.TempDir(), "gate")
	require.NoError(t, unix.Mkfifo(gate, 0o600))
	h := startConfig(t, loadConfig(t, `
[tasks.backup]
type = "oneshot"
command = ["sh", "-c", "read line < \"$0\"", "`+gate+`"]
load_high = 4

[tasks.after]
parent = "backup"
command = ["sleep", "1000"]
`), func(o *Options) {
		o.Load = func() (float64, error) { return load.Load().(float64), nil }
		o.LoadInterval = 5 * time.Millisecond
	})
	pid := h.pid("backup", 0)
	load.Store(6.0)
	h.waitState("backup", 0, Paused)
	require.Eventually(t, func() bool { return processState(pid) == "T" }, 10*time.Second, time.Millisecond, "state %q", processState(pid))
	assert.False(t, h.instance("backup", 0).Ready, "a paused oneshot has not completed")
	load.Store(1.0)
	h.waitState("backup", 0, Starting)
	require.NoError(t, os.WriteFile(gate, []byte("done\n"), 0o600)) // opens once the oneshot reads
	h.rec.waitFor(t, is(EvTaskReady, "after"))
	events, _ := h.rec.snapshot()
	assert.Less(t, indexOf(t, events, EvTaskExited, "backup", pid), indexOf(t, events, EvTaskStarted, "after", 0),
		"the task below waited for the oneshot to complete")
	assert.Equal(t, 0, *h.rec.waitFor(t, is(EvTaskExited, "backup")).ExitCode)
}

// A liveness failure that was under way when the task was paused does not stop
// it: the pause is on purpose.
func TestLivenessFailureFromBeforeAPauseIsIgnored(t *testing.T) {
	h := startConfig(t, loadConfig(t, `
[tasks.batch]
command = ["sleep", "1000"]
load_high = 4
`), func(o *Options) { o.Load = func() (float64, error) { return 0, nil } })
	h.rec.waitFor(t, is(EvTaskReady, "batch"))
	h.sup.Do(func() {
		i := h.sup.tasks["batch"].instances[0]
		h.sup.pause(i, 6)
		h.sup.onMonitor(monitorEvent{kind: kindLiveness, run: i.run, name: "late", err: errors.New("connection refused")})
	})
	assert.Equal(t, Paused, h.instance("batch", 0).State)
	assert.Zero(t, h.rec.count(is(EvMonitorFailed, "batch")))
}

func TestNoLoadSamplingWithoutLoadTasks(t *testing.T) {
	var reads atomic.Int32
	h := startConfig(t, loadConfig(t, "[tasks.a]\ncommand = [\"sleep\", \"1000\"]\n"), func(o *Options) {
		o.Load = func() (float64, error) { reads.Add(1); return 0, nil }
		o.LoadInterval = time.Millisecond
	})
	h.rec.waitFor(t, is(EvTaskReady, "a"))
	assert.False(t, h.sup.samplesLoadForTest())
	assert.Equal(t, int32(0), reads.Load())
}

// samplers counts the goroutines sampling the load, in every supervisor alive.
func samplers() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "tasks.(*Supervisor).sampleLoad")
}

func TestLoadSamplingEndsWhenReloadRemovesLoadHigh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procmon.toml")
	const on, off = "[tasks.a]\ncommand = [\"sleep\", \"1000\"]\nload_high = 4\n", "[tasks.a]\ncommand = [\"sleep\", \"1000\"]\n"
	writeFile(t, path, off)
	h := startFile(t, path, func(o *Options) { o.Load = func() (float64, error) { return 0, nil } })
	h.pid("a", 0)
	// Tests run one after the other: the samplers of those before end soon.
	require.Eventually(t, func() bool { return samplers() == 0 }, 10*time.Second, time.Millisecond)
	for range 3 {
		writeFile(t, path, on)
		require.NoError(t, h.sup.Reload())
		writeFile(t, path, off)
		require.NoError(t, h.sup.Reload())
	}
	require.Eventually(t, func() bool { return samplers() == 0 }, 10*time.Second, time.Millisecond,
		"one goroutine left behind for each time load_high was turned off")
	writeFile(t, path, on)
	require.NoError(t, h.sup.Reload())
	require.Eventually(t, func() bool { return samplers() == 1 }, 10*time.Second, time.Millisecond)
}
