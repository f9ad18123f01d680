package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExecOnceRetriesUntilSuccess(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "runs")
	script := `n=$(cat "$0" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0"; [ $n -ge 3 ]`
	cmd := procmon("exec", "--once", "--restart-delay", "10ms", "--", "sh", "-c", script, counter)
	out := startProcmon(t, cmd)
	assert.Equal(t, 0, waitExit(t, cmd, out, 20*time.Second), out.String())
	runs, err := os.ReadFile(counter)
	require.NoError(t, err)
	assert.Equal(t, "3\n", string(runs), "failed twice, then succeeded: three runs")
}

func TestExecRestartsWithoutOnce(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "runs")
	cmd := procmon("exec", "--restart-delay", "10ms", "--", "sh", "-c", `echo run >> "$0"`, counter)
	out := startProcmon(t, cmd)
	require.Eventually(t, func() bool {
		runs, _ := os.ReadFile(counter)
		return strings.Count(string(runs), "run") >= 3
	}, 20*time.Second, time.Millisecond, "an exiting command is started again")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	waitExit(t, cmd, out, 10*time.Second)
}

// --no-restart is tini's way: the command runs once, and its end is procmon's,
// with its code, whatever it is.
func TestExecNoRestartExitsWithTheCommandsCode(t *testing.T) {
	for _, c := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -KILL $$", 128 + int(syscall.SIGKILL)},
	} {
		counter := filepath.Join(t.TempDir(), "runs")
		cmd := procmon("exec", "--no-restart", "--restart-delay", "10ms", "--", "sh", "-c", `echo run >> "$0"; `+c.script, counter)
		out := startProcmon(t, cmd)
		assert.Equal(t, c.want, waitExit(t, cmd, out, 20*time.Second), out.String())
		runs, err := os.ReadFile(counter)
		require.NoError(t, err)
		assert.Equal(t, "run\n", string(runs), "%s: run once", c.script)
		if c.want == 0 {
			assert.Contains(t, out.String(), "level=info msg=\"critical task completed: shutting down\"", "success is no warning")
		}
	}
}

func TestExecUsageIsPrintedOnce(t *testing.T) {
	out, err := procmon("exec", "--bogus", "--", "true").CombinedOutput()
	require.Error(t, err)
	assert.Equal(t, 1, strings.Count(string(out), "usage:"), string(out))
	assert.Contains(t, string(out), "flag provided but not defined: -bogus")
	out, _ = procmon("exec", "--once", "--no-restart", "--", "true").CombinedOutput()
	assert.Contains(t, string(out), "--once and --no-restart exclude each other")
}

func TestExecPassesSignalsAndExitCodes(t *testing.T) {
	cases := []struct {
		name    string
		command []string
		signal  syscall.Signal
		want    int
	}{
		{"trapped", []string{"sh", "-c", `trap 'exit 7' TERM; echo armed; while :; do sleep 0.01; done`}, syscall.SIGTERM, 7},
		{"killed", []string{"sh", "-c", "echo armed; exec sleep 1000"}, syscall.SIGTERM, 128 + int(syscall.SIGTERM)},
		// ulimit: no core file left behind by the sleep that SIGQUIT ends
		{"quit", []string{"sh", "-c", "ulimit -c 0; echo armed; exec sleep 1000"}, syscall.SIGQUIT, 128 + int(syscall.SIGQUIT)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := procmon(append([]string{"exec", "--"}, c.command...)...)
			out := startProcmon(t, cmd)
			require.Eventually(t, func() bool { return strings.Contains(out.String(), "armed\n") }, 10*time.Second, time.Millisecond)
			require.NoError(t, cmd.Process.Signal(c.signal))
			assert.Equal(t, c.want, waitExit(t, cmd, out, 10*time.Second), out.String())
			assert.NotContains(t, out.String(), "| armed", "single-command mode does not prefix output")
		})
	}
}

func TestExecAsPID1ReapsOrphans(t *testing.T) {
	script := `i=0; while [ $i -lt 50 ]; do (sleep 0.05 &); i=$((i+1)); done
end=$(( $(date +%s) + 10 ))
while [ $(date +%s) -le $end ]; do
  z=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$3 == "Z"' | wc -l)
  s=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(sleep)"' | wc -l)
  if [ "$z" -eq 0 ] && [ "$s" -eq 0 ]; then echo clean; exit 0; fi
  sleep 0.05
done
exit 1`
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", os.Args[0], "exec", "--once", "--", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "PROCMON_AS_MAIN=1")
	out := startProcmon(t, cmd)
	assert.Equal(t, 0, waitExit(t, cmd, out, 30*time.Second), out.String())
	assert.Contains(t, out.String(), "clean")
}

func TestPidfileWrittenAndRemoved(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "procmon.pid")
	require.NoError(t, os.WriteFile(pidfile, []byte("999999\n"), 0o644), "a stale pidfile from a dead run")
	cmd := procmon("exec", "--pidfile", pidfile, "--", "sh", "-c", "echo ready; exec sleep 1000")
	out := startProcmon(t, cmd)
	require.Eventually(t, func() bool {
		pid, ok := readPid(pidfile)
		return ok && pid == cmd.Process.Pid
	}, 10*time.Second, time.Millisecond, out.String())
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	waitExit(t, cmd, out, 10*time.Second)
	_, err := os.Stat(pidfile)
	assert.True(t, os.IsNotExist(err), "removed on exit")
}

func TestSIGUSR2ReopensProcmonsLogFile(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "procmon.log")
	cfg := writeConfig(t, fmt.Sprintf(`
[procmon]
log_file = %q
socket = ""

[tasks.blink]
command = ["sh", "-c", "sleep 0.02"]
start_time = "0s"
restart_delay = "0s"
`, logPath))
	cmd := procmon("-c", cfg)
	out := startProcmon(t, cmd)
	grew := func(path string) bool {
		data, _ := os.ReadFile(path)
		return strings.Count(string(data), "task started") > 3
	}
	require.Eventually(t, func() bool { return grew(logPath) }, 10*time.Second, time.Millisecond)
	require.NoError(t, os.Rename(logPath, logPath+".1"))
	require.NoError(t, cmd.Process.Signal(syscall.SIGUSR2))
	require.Eventually(t, func() bool { return grew(logPath) }, 10*time.Second, time.Millisecond, out.String())
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, waitExit(t, cmd, out, 10*time.Second))
	old, _ := os.ReadFile(logPath + ".1")
	assert.Contains(t, string(old), "task started", "lines before the rotation stayed in the moved file")
}

// procmon exec names its task after the command, made valid as a configuration's
// task name would have to be.
func TestExecTaskNameIsAValidTaskName(t *testing.T) {
	assert.Equal(t, "my_server", taskName("/opt/bin/my server"))
	assert.Equal(t, "a_b", taskName("a\nb"))
	assert.Equal(t, "command", taskName(".."))
	assert.Equal(t, "command", taskName("-weird"))
}

// Without --, the command starts at the first argument that is no flag of
// exec's: its -c is the shell's, not procmon's configuration file.
func TestExecCommandWithoutDoubleDashKeepsItsFlags(t *testing.T) {
	cmd := procmon("exec", "--no-restart", "sh", "-c", "echo hi; exit 3")
	out := startProcmon(t, cmd)
	assert.Equal(t, 3, waitExit(t, cmd, out, 20*time.Second), out.String())
	assert.Contains(t, out.String(), "hi\n")
}

func TestExecCommandReadsProcmonsStdin(t *testing.T) {
	cmd := procmon("exec", "--once", "--", "cat")
	cmd.Stdin = strings.NewReader("through procmon's stdin\n")
	out := startProcmon(t, cmd)
	assert.Equal(t, 0, waitExit(t, cmd, out, 10*time.Second), out.String())
	assert.Contains(t, out.String(), "through procmon's stdin\n")
}

// onTerminal records what the far end of a pseudo-terminal shows.
func onTerminal(t *testing.T, master *os.File) *terminal {
	term := &terminal{t: t, master: master, screen: &output{}}
	go func() { _, _ = io.Copy(term.screen, master) }()
	return term
}

// Only the foreground process group may read a terminal or change its modes;
// any other is stopped by SIGTTIN or SIGTTOU. On its controlling terminal
// procmon hands the foreground to the command.
func TestExecCommandGetsTheForegroundOfTheTerminal(t *testing.T) {
	cmd := procmon("exec", "--once", "--", "sh", "-c", `stty -echo && echo armed && read line && echo "got $line"`)
	master, err := pty.Start(cmd) // procmon leads a session of its own, the terminal its controlling one
	require.NoError(t, err)
	t.Cleanup(func() {
		stopProcmon(cmd)
		master.Close()
	})
	term := onTerminal(t, master)
	term.waitCount("armed", 1)
	term.typeKeys("hello\r")
	assert.Equal(t, 0, waitExit(t, cmd, term.screen, 10*time.Second), term.screen.String())
	assert.Contains(t, term.screen.String(), "got hello")
}

// A terminal on stdin that is not procmon's controlling one has no foreground
// to hand over: it is passed on as it is.
func TestExecPassesOnATerminalItDoesNotControl(t *testing.T) {
	master, tty, err := pty.Open()
	require.NoError(t, err)
	defer master.Close()
	defer tty.Close()
	term := onTerminal(t, master)
	term.typeKeys("hello\r") // the terminal keeps the line until it is read
	cmd := procmon("exec", "--once", "--", "sh", "-c", `read line; echo "got $line"`)
	cmd.Stdin = tty
	out := startProcmon(t, cmd)
	assert.Equal(t, 0, waitExit(t, cmd, out, 10*time.Second), out.String())
	assert.Contains(t, out.String(), "got hello\n")
}

// Every signal procmon catches, but those that shut it down, goes to the command
// instead of triggering an action of procmon's own (maintenance, reload, ...).
func TestExecForwardsEveryOtherSignal(t *testing.T) {
	sigs := []struct {
		name string
		sig  syscall.Signal
	}{
		{"HUP", syscall.SIGHUP}, {"USR1", syscall.SIGUSR1}, {"USR2", syscall.SIGUSR2},
		{"WINCH", syscall.SIGWINCH}, {"ALRM", syscall.SIGALRM},
		{"37", syscall.Signal(37)}, // SIGRTMIN+3, systemd's halt
	}
	script := `for s in HUP USR1 USR2 WINCH ALRM 37; do trap "echo got $s" $s; done
echo armed; while :; do sleep 0.01; done`
	cmd := procmon("exec", "--", "sh", "-c", script)
	out := startProcmon(t, cmd)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "armed\n") }, 10*time.Second, time.Millisecond)
	for _, s := range sigs {
		require.NoError(t, cmd.Process.Signal(s.sig))
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "got "+s.name+"\n") },
			10*time.Second, time.Millisecond, "SIG%s was not passed on:\n%s", s.name, out.String())
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 128+int(syscall.SIGTERM), waitExit(t, cmd, out, 10*time.Second), out.String())
	assert.NotContains(t, out.String(), "log files reopened", "SIGUSR2 was the command's")
}

// A command that cannot be executed ends procmon at once with a shell's code,
// instead of being retried for ever.
func TestExecCommandThatCannotBeExecutedExitsLikeAShell(t *testing.T) {
	notExecutable := filepath.Join(t.TempDir(), "script")
	require.NoError(t, os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644))
	cases := []struct {
		name    string
		command string
		want    int
	}{
		{"missing", "/nonexistent/command", 127},
		{"not in PATH", "procmon-no-such-command", 127},
		{"not executable", notExecutable, 126},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := procmon("exec", "--", c.command)
			out := startProcmon(t, cmd)
			assert.Equal(t, c.want, waitExit(t, cmd, out, 10*time.Second), out.String())
		})
	}
}

// A command that never ran has no exit code to pass on: procmon must not
// report success for it.
func TestExecFailsWhenTheCommandNeverRan(t *testing.T) {
	cmd := procmon("exec", "--user", "procmon-no-such-user", "--", "true")
	out := startProcmon(t, cmd)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "task failed to start") }, 10*time.Second, time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 1, waitExit(t, cmd, out, 10*time.Second), out.String())
}

// The kernel drops a signal sent to PID 1 that PID 1 leaves at its default; the
// Go runtime's handlers for fault signals would crash procmon instead, and the
// container with it. A crash as PID 1 exits 2, not the command's 143.
func TestExecAsPID1IgnoresSentFaultSignals(t *testing.T) {
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", os.Args[0], "exec", "--", "sh", "-c", "echo armed; exec sleep 1000")
	cmd.Env = append(os.Environ(), "PROCMON_AS_MAIN=1")
	out := startProcmon(t, cmd)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "armed\n") }, 10*time.Second, time.Millisecond)
	pid := pid1(t, cmd)
	for _, sig := range []syscall.Signal{syscall.SIGABRT, syscall.SIGSYS, syscall.SIGTRAP, syscall.SIGILL,
		syscall.SIGSTKFLT, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE} {
		require.NoError(t, syscall.Kill(pid, sig))
	}
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	assert.Equal(t, 128+int(syscall.SIGTERM), waitExit(t, cmd, out, 10*time.Second), out.String())
	assert.NotContains(t, out.String(), "goroutine ")
}

// --log-level warn keeps procmon silent while all goes well, as tini is.
func TestExecLogLevelWarnIsSilent(t *testing.T) {
	stdout, stderr, code := runCmd(t, procmon("exec", "--log-level", "warn", "--no-restart", "--", "sh", "-c", "echo hi"))
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "hi\n", stdout)
	assert.Empty(t, stderr)
}
