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

	"github.com/procmon/procmon/signals"
)

func TestOutputDestinations(t *testing.T) {
	dir := t.TempDir()
	h := start(t, fmt.Sprintf(`
[tasks.both]
type = "oneshot"
command = ["sh", "-c", "echo out; echo err >&2; printf partial"]
stdout = "%[1]s/both.log"
stderr = "stdout"

[tasks.split]
type = "oneshot"
command = ["sh", "-c", "echo out; echo err >&2"]
stdout = "discard"
stderr = "%[1]s/split.err"

[tasks.shown]
type = "oneshot"
command = ["sh", "-c", "echo out; echo err >&2"]
`, dir))
	require.Equal(t, 0, h.wait(), h.log.String())
	both, err := os.ReadFile(filepath.Join(dir, "both.log"))
	require.NoError(t, err)
	assert.Equal(t, "out\nerr\npartial", string(both), "a file gets the bytes as written: no newline is added")
	split, err := os.ReadFile(filepath.Join(dir, "split.err"))
	require.NoError(t, err)
	assert.Equal(t, "err\n", string(split))
	assert.Contains(t, h.out.String(), "shown | out\n")
	assert.Contains(t, h.out.String(), "shown | err\n")
	assert.NotContains(t, h.out.String(), "both |")
}

func TestEnvironmentDirAndCredentials(t *testing.T) {
	dir, err := os.MkdirTemp("", "procmon-dir-") // t.TempDir's parent is closed to other users
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Setenv("PROCMON_TEST_INHERITED", "from-procmon")
	t.Setenv("NOTIFY_SOCKET", "/run/not-for-tasks")
	h := start(t, fmt.Sprintf(`
[tasks.env]
type = "oneshot"
command = ["sh", "-c", "echo pwd=$(pwd) a=$A inherited=$PROCMON_TEST_INHERITED notify=$${NOTIFY_SOCKET:-unset} uid=$(id -u) home=$HOME"]
dir = %q
env = { A = "b c" }
user = "nobody"

[tasks.mask]
type = "oneshot"
command = ["sh", "-c", "echo umask=$(umask)"]
umask = "027"
`, dir))
	require.Equal(t, 0, h.wait(), h.log.String())
	assert.Contains(t, h.out.String(),
		fmt.Sprintf("env | pwd=%s a=b c inherited=from-procmon notify=unset uid=65534 home=/nonexistent\n", dir))
	assert.Contains(t, h.out.String(), "mask | umask=0027\n")
}

// A child must start with every signal at its default disposition and none
// blocked, whatever procmon itself does with signals.
func TestChildrenGetDefaultSignalDispositions(t *testing.T) {
	h := start(t, `
[tasks.sigs]
type = "oneshot"
command = ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]
`)
	require.Equal(t, 0, h.wait())
	assert.Contains(t, h.out.String(), "sigs | SigBlk:\t0000000000000000\n")
	assert.Contains(t, h.out.String(), "sigs | SigIgn:\t0000000000000000\n")
}

func TestSecondSignalKillsAtOnce(t *testing.T) {
	h := start(t, `
[tasks.stubborn]
command = ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
stop_timeout = "1h"
`)
	pid := h.pid("stubborn", 0)
	h.sigs <- signals.Event{Action: signals.Shutdown, Signal: unix.SIGTERM}
	h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvShutdownStarted })
	h.sigs <- signals.Event{Action: signals.Shutdown, Signal: unix.SIGINT}
	assert.Equal(t, 0, h.wait())
	waitGone(t, pid)
}

// A shutdown that began without a signal (here `procmon shutdown`; a critical
// task's end is the same) is joined by the first SIGTERM, say docker stop's: the
// task still gets its graceful stop, only a second signal kills.
func TestFirstSignalJoinsAShutdownUnderWay(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	h := start(t, `
[tasks.db]
command = ["sh", "-c", "trap 'until [ -e `+gate+` ]; do sleep 0.01; done; exit 0' TERM; echo trapped; while :; do sleep 0.01; done"]
stop_timeout = "1h"
`)
	pid := h.pid("db", 0)
	require.Eventually(t, func() bool { return strings.Contains(h.out.String(), "db | trapped\n") },
		10*time.Second, time.Millisecond, "a stop signal before the trap would end db at once")
	h.sup.Shutdown()
	h.rec.waitFor(t, func(ev Event) bool { return ev.Type == EvShutdownStarted })
	h.sigs <- signals.Event{Action: signals.Shutdown, Signal: unix.SIGTERM}
	require.Eventually(t, func() bool { return strings.Contains(h.log.String(), "shutdown already under way") },
		10*time.Second, time.Millisecond)
	require.False(t, gone(pid), "the first signal killed the task")
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	assert.Equal(t, 0, h.wait())
	exit := h.rec.waitFor(t, is(EvTaskExited, "db"))
	assert.Empty(t, exit.Signal, "db ended by itself, after its stop signal")
}

func TestShutdownTimeoutBoundsTheShutdown(t *testing.T) {
	h := start(t, `
[procmon]
shutdown_timeout = "200ms"

[tasks.stubborn]
command = ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
stop_timeout = "1h"
`)
	pid := h.pid("stubborn", 0)
	began := time.Now()
	assert.Equal(t, 0, h.stop())
	assert.Less(t, time.Since(began), 5*time.Second)
	waitGone(t, pid)
}

func TestEscapedDaemonsAreKilledAtExit(t *testing.T) {
	h := start(t, `
[tasks.daemonizer]
command = ["sh", "-c", "setsid sh -c 'echo child=$$$$; exec sleep 1000' & exec sleep 1000"]
`)
	var kids []int
	require.Eventually(t, func() bool { kids = childPids(h.out.String()); return len(kids) == 1 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 0, h.stop())
	waitGone(t, kids...)
	assert.True(t, strings.Contains(h.log.String(), "killing stray processes"), h.log.String())
}

func TestReopenAfterLogrotateLosesNoLine(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "counter.log")
	h := start(t, fmt.Sprintf(`
[tasks.counter]
command = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.001; done"]
stdout = %q
`, log))
	lineCount := func(path string) int {
		data, _ := os.ReadFile(path)
		return strings.Count(string(data), "\n")
	}
	require.Eventually(t, func() bool { return lineCount(log) > 20 }, 10*time.Second, time.Millisecond)
	require.NoError(t, os.Rename(log, log+".1"))
	h.sigs <- signals.Event{Action: signals.ReopenLogs, Signal: unix.SIGUSR2}
	require.Eventually(t, func() bool { return lineCount(log) > 20 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 0, h.stop())

	old, err := os.ReadFile(log + ".1")
	require.NoError(t, err)
	current, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.Fields(string(old) + string(current))
	for n, l := range lines {
		require.Equal(t, fmt.Sprint(n+1), l, "line %d: every line, in order, in one file or the other", n+1)
	}
}

func TestLogCommandReceivesTheOutput(t *testing.T) {
	dir := t.TempDir()
	h := start(t, fmt.Sprintf(`
[tasks.talker]
type = "oneshot"
command = ["sh", "-c", "echo one; echo two >&2"]
log_command = ["sh", "-c", "cat >> %s/logged"]
`, dir))
	require.Equal(t, 0, h.wait())
	data, err := os.ReadFile(filepath.Join(dir, "logged"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"one", "two"}, strings.Fields(string(data)))
	assert.NotContains(t, h.out.String(), "talker |", "the logger takes the output instead")
}

// Instances and streams that write to one path share one file, so it rotates once
// at its size, however many write to it.
func TestSharedOutputFileRotatesAsOne(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "shared.log")
	h := start(t, fmt.Sprintf(`
[tasks.noisy]
type = "oneshot"
instances = 3
command = ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo out-$PROCMON_INSTANCE-$i; echo err-$PROCMON_INSTANCE-$i >&2; done"]
stdout = %[1]q
stderr = %[1]q
log_max_size = "400"
log_backups = 5
`, log))
	require.Equal(t, 0, h.wait())
	var all []string
	for _, path := range []string{log, log + ".1", log + ".2", log + ".3", log + ".4", log + ".5"} {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		assert.LessOrEqual(t, len(data), 400, "%s is within log_max_size", path)
		all = append(all, strings.Fields(string(data))...)
	}
	assert.Len(t, all, 60, "every line of every stream and instance, in one of the files")
}

// A dir that does not exist fails the spawn with the same error as a missing
// program: the message must name the dir.
func TestAMissingDirIsNamedInTheError(t *testing.T) {
	h := start(t, `
[tasks.d]
command = ["pwd"]
dir = "/nonexistent/dir"
start_retries = 0
`)
	failed := h.rec.waitFor(t, is(EvStartFailed, "d"))
	assert.Contains(t, failed.Error, "dir /nonexistent/dir: ")
}

func TestStartedEventsCarryTheProcessStartTime(t *testing.T) {
	h := start(t, `
[tasks.live]
command = ["sleep", "1000"]

[tasks.brief]
type = "oneshot"
command = ["true"]
`)
	live := h.rec.waitN(t, 1, 10*time.Second, is(EvTaskStarted, "live"))[0]
	st, err := signals.ReadProcStat(live.Pid)
	require.NoError(t, err)
	assert.Equal(t, st.Start, live.StartTime, "what /proc says of the running process")
	h.rec.waitN(t, 1, 10*time.Second, is(EvTaskExited, "brief"))
	brief := h.rec.waitN(t, 1, time.Second, is(EvTaskStarted, "brief"))[0]
	assert.NotZero(t, brief.StartTime, "read before the process could be reaped, however soon it exited")
}

// Loggers are let go off the supervisor's goroutine: one that ignores EOF and
// SIGTERM holds nothing up while it is flushed and stopped.
func TestStubbornLoggersDoNotHoldTheSupervisor(t *testing.T) {
	loggers := filepath.Join(t.TempDir(), "loggers")
	h := start(t, fmt.Sprintf(`
[tasks.chatty]
command = ["sleep", "1000"]
instances = 3
log_command = ["sh", "-c", "trap '' TERM; echo $$$$ >> %s; exec sleep 1000"]
`, loggers))
	var pids []int
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(loggers)
		pids = pids[:0]
		for _, f := range strings.Fields(string(data)) {
			var pid int
			fmt.Sscan(f, &pid)
			pids = append(pids, pid)
		}
		return len(pids) == 3
	}, 10*time.Second, time.Millisecond)
	tasks := []int{h.pid("chatty", 0), h.pid("chatty", 1), h.pid("chatty", 2)}
	require.NoError(t, h.sup.Scale("chatty", 0))
	waitGone(t, tasks...)
	h.sup.Status() // answered by the supervisor's goroutine
	alive := 0
	for _, pid := range pids {
		if unix.Kill(pid, 0) == nil {
			alive++
		}
	}
	assert.NotZero(t, alive, "the supervisor answered only once every logger was stopped")
	waitGone(t, pids...)
}

// A task's program, and its exec checks', are found in the PATH of the task's
// env, as a shell given that environment would find them.
func TestProgramsAreFoundInTheTasksOwnPath(t *testing.T) {
	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "served"), []byte("#!/bin/sh\nexec sleep 1000\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bin, "probe"), []byte("#!/bin/sh\nexit 0\n"), 0o755))
	h := start(t, fmt.Sprintf(`
[tasks.own]
command = ["served"]
env = { PATH = "%s:/usr/bin:/bin" }
ready = ["probed"]

[monitors.probed]
type = "exec"
command = ["probe"]
`, bin))
	h.rec.waitFor(t, is(EvTaskReady, "own"))
}
