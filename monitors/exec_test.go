package monitors

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

func execCheckOf(t *testing.T, deps Deps, argv ...string) checker {
	t.Helper()
	d := leaf("exec")
	d.Command = argv
	c, err := newExec(d, deps)
	require.NoError(t, err)
	return c
}

// recordGroups starts processes through the reaper and sends the process group of
// each one (its pid, as it uses Setpgid) on groups when it exits.
func recordGroups(groups chan<- int) signals.StartFunc {
	return func(cmd *exec.Cmd, onExit func(signals.Exit)) (signals.Started, error) {
		return reaper.Start(cmd, func(x signals.Exit) {
			groups <- x.Pid
			onExit(x)
		})
	}
}

func TestExecExitCodes(t *testing.T) {
	deps := testDeps(t)
	ctx := context.Background()
	assert.NoError(t, execCheckOf(t, deps, "sh", "-c", "exit 0").check(ctx))

	err := execCheckOf(t, deps, "sh", "-c", "echo first; echo second >&2; echo third; echo fourth; exit 3").check(ctx)
	assert.EqualError(t, err, "command sh: exit code 3: first | second | third")

	err = execCheckOf(t, deps, "/nonexistent/probe").check(ctx)
	assert.ErrorContains(t, err, "command /nonexistent/probe:")

	// A string command is named by the string the user wrote, not by /bin/sh.
	err = execCheckOf(t, deps, "/bin/sh", "-c", "exit 4").check(ctx)
	assert.EqualError(t, err, `command "exit 4": exit code 4`)
}

func TestExecEnvAndDir(t *testing.T) {
	deps := testDeps(t)
	deps.Env = func() []string { return []string{"PROBE=yes", "PATH=/usr/bin:/bin"} }
	deps.Dir = t.TempDir()
	dir, err := unix.Getwd()
	require.NoError(t, err)
	require.NotEqual(t, dir, deps.Dir)
	script := `test "$PROBE" = yes && test "$(pwd -P)" = "$(cd "$1" && pwd -P)"`
	assert.NoError(t, execCheckOf(t, deps, "sh", "-c", script, "sh", deps.Dir).check(context.Background()))
}

// TestExecTimeout runs a command that outlives its timeout through the runner: the
// failure is a timeout, and the command's whole process group is gone afterwards.
func TestExecTimeout(t *testing.T) {
	deps := testDeps(t)
	groups := make(chan int, 10)
	deps.Start = recordGroups(groups)
	d := leaf("exec")
	d.Command = []string{"sh", "-c", "echo started; sleep 30; echo never"}
	d.Timeout = 100 * time.Millisecond
	d.Interval = time.Hour
	m := build(t, "slow", map[string]*config.Monitor{"slow": d}, deps)

	begin := time.Now()
	rec, stop := run(t, m, Target{Mode: Polling})
	err := rec.waitLen(t, 1)[0]
	assert.Less(t, time.Since(begin), 10*time.Second)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.ErrorContains(t, err, "slow: timed out after 100ms")
	stop()

	pgid := <-groups
	require.Positive(t, pgid)
	require.Eventually(t, func() bool {
		return errors.Is(unix.Kill(-pgid, 0), unix.ESRCH)
	}, 10*time.Second, time.Millisecond, "process group %d still exists", pgid)
}

func TestExecKilledReason(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mark := filepath.Join(t.TempDir(), "started")
	c := execCheckOf(t, testDeps(t), "sh", "-c", `echo started; : > "$1"; sleep 30`, "sh", mark)
	done := make(chan error, 1)
	go func() { done <- c.check(ctx) }()
	// Cancel once the command has written its output, however slow the machine.
	require.Eventually(t, func() bool { _, err := os.Stat(mark); return err == nil },
		10*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.EqualError(t, err, "command sh: killed by SIGKILL: started")
	case <-time.After(10 * time.Second):
		t.Fatal("check did not return after cancel")
	}
}

func TestExecLeavesNothingBehind(t *testing.T) {
	deps := testDeps(t)
	groups := make(chan int, 1)
	deps.Start = recordGroups(groups)
	// The background sleep keeps the output pipe open: the check must not wait on it.
	begin := time.Now()
	assert.NoError(t, execCheckOf(t, deps, "sh", "-c", "sleep 30 & exit 0").check(context.Background()))
	assert.Less(t, time.Since(begin), 10*time.Second)
	pgid := <-groups
	require.Eventually(t, func() bool {
		return errors.Is(unix.Kill(-pgid, 0), unix.ESRCH)
	}, 10*time.Second, time.Millisecond, "process group %d still exists", pgid)
}
