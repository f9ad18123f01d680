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
)

func TestFailedStartsBackOffThenGoFatal(t *testing.T) {
	h := start(t, `
[tasks.crash]
command = ["sh", "-c", "exit 3"]
restart_delay = "10ms"
restart_delay_max = "40ms"
start_retries = 3
`)
	assert.Equal(t, 1, h.wait(), "procmon exits 1 when its only task went fatal")
	assert.Equal(t, 4, h.rec.count(is(EvTaskExited, "crash")), "the 4th consecutive failed start is fatal")
	var delays []string
	for _, ev := range h.rec.waitN(t, 3, time.Second, is(EvTaskBackoff, "crash")) {
		delays = append(delays, ev.Delay)
	}
	assert.Equal(t, []string{"10ms", "20ms", "40ms"}, delays, "restart_delay doubles up to restart_delay_max")
	fatal := h.rec.waitFor(t, is(EvTaskFatal, "crash"))
	assert.Contains(t, fatal.Error, "exit code 3")
	assert.Equal(t, 3, *h.rec.waitFor(t, is(EvTaskExited, "crash")).ExitCode)
}

// A run that outlived start_time ends a streak of failed starts, even when
// procmon stopped it (a restart, its parent's): the next failure is the first.
func TestAHealthyRunStoppedByProcmonEndsTheFailedStreak(t *testing.T) {
	runs := filepath.Join(t.TempDir(), "runs")
	h := start(t, fmt.Sprintf(`
[tasks.flaky]
command = ["sh", "-c", "echo >> %[1]s; [ $(wc -l < %[1]s) -eq 3 ] && exec sleep 1000; exit 1"]
restart_delay = "10ms"
restart_delay_max = "10ms"
start_time = "200ms"
start_retries = 2
`, runs))
	healthy := h.rec.waitN(t, 3, 10*time.Second, is(EvTaskStarted, "flaky"))[2]
	require.Eventually(t, func() bool { return time.Since(healthy.Time) > 300*time.Millisecond }, 10*time.Second, time.Millisecond)
	require.NoError(t, h.sup.Restart("flaky"))
	fatal := h.rec.waitFor(t, is(EvTaskFatal, "flaky"))
	assert.Equal(t, "3 failed start(s), last: exit code 1", fatal.Error, "runs 4, 5 and 6 failed: a new streak")
	assert.Equal(t, 6, h.rec.count(is(EvTaskStarted, "flaky")))
}

// TestRestartPolicies runs each case with an exit after start_time and before
// it: the policy decides first, so a quick exit the policy does not run again is
// "exited" too, not a failed start (SPEC 3.1).
func TestRestartPolicies(t *testing.T) {
	cases := []struct {
		restart   string
		exit      int
		exitCodes string
		restarts  bool
		procmon   int // exit code when the task ends for good
	}{
		{"always", 0, "[0]", true, 0},
		{"on-failure", 0, "[0]", false, 0},
		{"on-failure", 4, "[0]", true, 0},
		{"on-failure", 4, "[0, 4]", false, 0},
		{"never", 4, "[0]", false, 1},
		{"never", 0, "[0]", false, 0},
	}
	for _, c := range cases {
		for _, startTime := range []string{"10ms", "1h"} {
			t.Run(fmt.Sprintf("%s/exit%d/%s/start_time=%s", c.restart, c.exit, c.exitCodes, startTime), func(t *testing.T) {
				h := start(t, fmt.Sprintf(`
[tasks.svc]
command = ["sh", "-c", "sleep 0.05; exit %d"]
restart = %q
exit_codes = %s
start_time = %q
restart_delay = "0s"
`, c.exit, c.restart, c.exitCodes, startTime))
				if c.restarts {
					h.rec.waitN(t, 3, 10*time.Second, is(EvTaskStarted, "svc"))
					assert.Equal(t, 0, h.stop())
					return
				}
				assert.Equal(t, c.procmon, h.wait())
				assert.Equal(t, 1, h.rec.count(is(EvTaskStarted, "svc")))
				assert.Equal(t, Exited, h.sup.finalState("svc", 0))
			})
		}
	}
}

// A task held back by a parent that ended shares its verdict: a parent that
// exited as expected under restart = "never" leaves procmon exiting 0, one that
// failed leaves it exiting 1.
func TestTasksHeldByAnEndedParentShareItsVerdict(t *testing.T) {
	for code, want := range map[int]int{0: 0, 4: 1} {
		h := start(t, fmt.Sprintf(`
[tasks.p]
command = ["sh", "-c", "sleep 0.2; exit %d"]
restart = "never"
start_time = "0s"

[tasks.c]
parent = "p"
command = ["sleep", "1000"]
`, code))
		assert.Equal(t, want, h.wait(), "parent exit %d", code)
	}
}

// A critical task that exits at once, and is not run again, passes its own exit
// code on to procmon.
func TestCriticalQuickExitGivesItsCode(t *testing.T) {
	h := start(t, `
[tasks.job]
command = ["sh", "-c", "exit 7"]
restart = "never"
critical = true

[tasks.other]
command = ["sleep", "1000"]
`)
	assert.Equal(t, 7, h.wait())
	assert.Equal(t, Exited, h.sup.finalState("job", 0))
}

func TestOneshotGatesItsChildren(t *testing.T) {
	dir := t.TempDir()
	h := start(t, fmt.Sprintf(`
[tasks.setup]
type = "oneshot"
command = ["sh", "-c", "echo prepared > %[1]s/setup"]

[tasks.app]
type = "oneshot"
parent = "setup"
command = ["cat", "%[1]s/setup"]
`, dir))
	assert.Equal(t, 0, h.wait(), "every task completed")
	assert.Contains(t, h.out.String(), "app | prepared")
}

func TestInstancesGetTheirIndex(t *testing.T) {
	h := start(t, `
[tasks.multi]
type = "oneshot"
instances = 3
command = ["sh", "-c", "echo task=$PROCMON_TASK index=$PROCMON_INSTANCE"]
`)
	assert.Equal(t, 0, h.wait())
	for i := 0; i < 3; i++ {
		assert.Contains(t, h.out.String(), fmt.Sprintf("multi.%d | task=multi index=%d\n", i, i))
	}
}

func TestMaxRuntimeStopsAndRestarts(t *testing.T) {
	h := start(t, `
[tasks.bounded]
command = ["sleep", "1000"]
max_runtime = "100ms"
start_time = "0s"
restart_delay = "0s"
`)
	first := h.rec.waitFor(t, is(EvTaskExited, "bounded"))
	assert.Equal(t, "SIGTERM", first.Signal)
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskStarted, "bounded"))
	assert.Equal(t, 0, h.stop())
}

// max_runtime stops a run by design: however short it is against start_time,
// the runs it ends are no failed starts, and the task never goes fatal.
func TestMaxRuntimeShorterThanStartTimeIsNoFailedStart(t *testing.T) {
	h := start(t, `
[tasks.bounded]
command = ["sleep", "1000"]
max_runtime = "50ms"
start_time = "10s"
start_retries = 1
restart_delay = "1ms"
`)
	backoffs := h.rec.waitN(t, 4, 10*time.Second, is(EvTaskBackoff, "bounded"))
	for _, b := range backoffs {
		assert.Equal(t, "1ms", b.Delay, "no streak of failed starts doubles the delay")
	}
	assert.Zero(t, h.rec.count(is(EvTaskFatal, "bounded")))
	assert.Equal(t, 0, h.stop())
}

func TestCriticalTaskKilledEndsProcmonWithOne(t *testing.T) {
	h := start(t, `
[tasks.main]
critical = true
command = ["sleep", "1000"]
restart = "never"
start_time = "0s"
`)
	require.NoError(t, unix.Kill(h.pid("main", 0), unix.SIGKILL))
	assert.Equal(t, 1, h.wait(), "SPEC 3.6: 1 when the critical task was killed")
}

func TestCriticalTaskEndsProcmonWithItsCode(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate") // main fails once the test has seen side
	h := start(t, fmt.Sprintf(`
[tasks.main]
type = "oneshot"
critical = true
command = ["sh", "-c", "while [ ! -e \"$0\" ]; do sleep 0.01; done; exit 7", %q]
restart = "never"

[tasks.side]
command = ["sleep", "1000"]
`, gate))
	side := h.pid("side", 0)
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	assert.Equal(t, 1, h.wait(), "a critical oneshot that failed under restart=never went fatal: exit 1")
	waitGone(t, side)

	h = start(t, `
[tasks.main]
critical = true
command = ["sh", "-c", "sleep 0.1; exit 7"]
restart = "never"
start_time = "0s"
`)
	assert.Equal(t, 7, h.wait(), "a critical service that exited for good: its own code")
}

func TestMissingCommandIsAFailedStart(t *testing.T) {
	h := start(t, `
[tasks.ghost]
command = ["/nonexistent/ghost"]
start_retries = 1
restart_delay = "1ms"
`)
	assert.Equal(t, 1, h.wait())
	failed := h.rec.waitFor(t, is(EvStartFailed, "ghost"))
	assert.Contains(t, failed.Error, "no such file")
	assert.Equal(t, 2, h.rec.count(is(EvStartFailed, "ghost")))
	assert.Contains(t, h.log.String(), "/nonexistent/ghost")
}

func TestRestartDelayDoublingIsCapped(t *testing.T) {
	cfg := loadConfig(t, `
[tasks.x]
command = ["true"]
restart_delay = "1s"
restart_delay_max = "5s"
`).Tasks["x"]
	var got []time.Duration
	for n := 0; n <= 5; n++ {
		got = append(got, restartDelay(cfg, n))
	}
	assert.Equal(t, []time.Duration{time.Second, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, got)
}

func TestManyShortTasksNoExitLostOrDoubled(t *testing.T) {
	var b strings.Builder
	for n := 0; n < 200; n++ {
		fmt.Fprintf(&b, "[tasks.t%03d]\ntype = \"oneshot\"\ncommand = [\"sh\", \"-c\", \"(true &); exit 0\"]\n", n)
	}
	h := start(t, b.String())
	require.Equal(t, 0, h.wait(), "all 200 oneshots completed")
	for n := 0; n < 200; n++ {
		name := fmt.Sprintf("t%03d", n)
		assert.Equal(t, 1, h.rec.count(is(EvTaskExited, name)), "exactly one exit for %s", name)
		assert.Equal(t, 1, h.rec.count(is(EvTaskStarted, name)), "exactly one start for %s", name)
	}
	assert.NotContains(t, h.log.String(), "no child processes")
}

// The tasks of one reconcile pass are forked side by side; a spawn that fails
// among them must not disturb the others.
func TestFailedSpawnInABatchLeavesTheOthersRunning(t *testing.T) {
	toml := manySleepers(30) + "[tasks.ghost]\ncommand = [\"/nonexistent/ghost\"]\nstart_retries = 0\n"
	h := start(t, toml)
	ready := h.rec.waitN(t, 30, 10*time.Second, func(ev Event) bool { return ev.Type == EvTaskReady })
	pids := map[int]bool{}
	for _, ev := range ready {
		pids[ev.Pid] = true
		assert.NoError(t, unix.Kill(ev.Pid, 0), "%s is running as %d", ev.Task, ev.Pid)
		assert.Equal(t, ev.Pid, h.pid(ev.Task, 0))
	}
	assert.Len(t, pids, 30, "thirty processes, thirty pids")
	h.waitState("ghost", 0, Fatal)
	assert.Equal(t, 0, h.rec.count(is(EvTaskStarted, "ghost")))
	h.stop()
}

// Exits carry the time they were reaped and starts the time their exec was done,
// taken before the reaper could collect them: even a process that exits at once
// never appears to end before it began.
func TestEventTimesOfARunAreInOrder(t *testing.T) {
	h := start(t, `
[tasks.blink]
command = ["true"]
start_time = "0s"
restart_delay = "0s"
`)
	h.rec.waitN(t, 100, 30*time.Second, is(EvTaskExited, "blink"))
	h.stop()
	events, _ := h.rec.snapshot()
	byPid := map[int]map[string]time.Time{}
	for _, ev := range events {
		if ev.Task != "blink" || ev.Pid == 0 {
			continue
		}
		if byPid[ev.Pid] == nil {
			byPid[ev.Pid] = map[string]time.Time{}
		}
		byPid[ev.Pid][ev.Type] = ev.Time
	}
	runs := 0
	for pid, at := range byPid {
		started, ready, exited := at[EvTaskStarted], at[EvTaskReady], at[EvTaskExited]
		if started.IsZero() || exited.IsZero() {
			continue
		}
		runs++
		assert.False(t, ready.Before(started), "run %d: ready before started", pid)
		assert.False(t, exited.Before(ready), "run %d: exited %v before ready", pid, ready.Sub(exited))
	}
	assert.GreaterOrEqual(t, runs, 100)
}

// The umask helper execs the task's program, but the program is found in PATH
// before the spawn, so a missing one is a failed start, as without a umask.
func TestMissingCommandWithAUmaskIsAFailedStart(t *testing.T) {
	h := start(t, `
[tasks.ghost]
command = ["procmon-test-no-such-program"]
umask = "022"
start_retries = 0
`)
	assert.Equal(t, 1, h.wait(), "a fatal task: procmon gives up")
	h.rec.waitFor(t, is(EvTaskFatal, "ghost"))
	failed := h.rec.waitFor(t, is(EvStartFailed, "ghost"))
	assert.Contains(t, failed.Error, "executable file not found")
	assert.Equal(t, 0, h.rec.count(is(EvTaskStarted, "ghost")))
}
