package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

func TestExecPassesSignalsAndExitCodes(t *testing.T) {
	cases := []struct {
		name    string
		command []string
		want    int
	}{
		{"trapped", []string{"sh", "-c", `trap 'exit 7' TERM; echo armed; while :; do sleep 0.01; done`}, 7},
		{"killed", []string{"sh", "-c", "echo armed; exec sleep 1000"}, 128 + int(syscall.SIGTERM)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := procmon(append([]string{"exec", "--"}, c.command...)...)
			out := startProcmon(t, cmd)
			require.Eventually(t, func() bool { return strings.Contains(out.String(), "armed\n") }, 10*time.Second, time.Millisecond)
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
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
}
