package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary doubles as procmon: with PROCMON_AS_MAIN set it runs main, so
// the integration tests exercise the real program (as PID 1, too) without a build step.
func TestMain(m *testing.M) {
	if os.Getenv("PROCMON_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// procmon returns a command that runs procmon with args.
func procmon(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PROCMON_AS_MAIN=1")
	return cmd
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "procmon.toml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	return path
}

// output collects a running process's combined output safely.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

func startProcmon(t *testing.T, cmd *exec.Cmd) *output {
	t.Helper()
	out := &output{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { stopProcmon(cmd) })
	return out
}

// stopProcmon ends a procmon the test may have left running. SIGTERM first: it
// stops each task's whole process group, where SIGKILL would leave the tasks'
// own children (the sleep under a task's sh) behind, re-parented to init.
func stopProcmon(cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func waitExit(t *testing.T, cmd *exec.Cmd, out *output, timeout time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("procmon did not exit in %s; output:\n%s", timeout, out.String())
		return -1
	}
}

func TestAsPID1ThousandOrphansLeaveNoZombie(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatal("unshare (util-linux) is required")
	}
	cfg := writeConfig(t, `
[procmon]
socket = ""

[tasks.orphans]
type = "oneshot"
# setsid, waited for: real daemons, out of the task's process group before the
# task exits (procmon stops what is left in the group then)
command = ["sh", "-c", "i=0; while [ $i -lt 1000 ]; do setsid sh -c 'sleep 0.2 &'; i=$((i+1)); done"]

[tasks.census]
type = "oneshot"
parent = "orphans"
command = ["sh", "-c", """
end=$(( $(date +%s) + 20 ))
while :; do
  z=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$3 == "Z"' | wc -l)
  s=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(sleep)"' | wc -l)
  if [ "$z" -eq 0 ] && [ "$s" -eq 0 ]; then echo "zombies=0 sleeps=0 pid1=$(cat /proc/1/comm)"; exit 0; fi
  if [ $(date +%s) -gt $end ]; then echo "zombies=$z sleeps=$s"; exit 1; fi
  sleep 0.05
done
"""]
restart = "never"
`)
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", os.Args[0], "-c", cfg)
	cmd.Env = append(os.Environ(), "PROCMON_AS_MAIN=1")
	out := startProcmon(t, cmd)
	code := waitExit(t, cmd, out, 60*time.Second)
	assert.Contains(t, out.String(), "census | zombies=0 sleeps=0 pid1=")
	assert.Equal(t, 0, code, out.String())
	assert.NotContains(t, out.String(), "no child processes")
}

func TestAsPID1SIGTERMStopsEverythingAndExitsZero(t *testing.T) {
	cfg := writeConfig(t, `
[procmon]
socket = ""

[tasks.web]
command = ["sh", "-c", "echo up; exec sleep 1000"]
`)
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", os.Args[0], "-c", cfg)
	cmd.Env = append(os.Environ(), "PROCMON_AS_MAIN=1")
	out := startProcmon(t, cmd)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "web | up") }, 10*time.Second, time.Millisecond)
	require.NoError(t, syscall.Kill(pid1(t, cmd), syscall.SIGTERM))
	assert.Equal(t, 0, waitExit(t, cmd, out, 10*time.Second), out.String())
	assert.Contains(t, out.String(), `signal=SIGTERM`)
	assert.Contains(t, out.String(), "procmon stopped")
}

// pid1 is the host pid of the procmon that runs as PID 1 under unshare.
func pid1(t *testing.T, unshare *exec.Cmd) int {
	t.Helper()
	pid := strconv.Itoa(unshare.Process.Pid)
	children, err := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children")
	require.NoError(t, err)
	inner, err := strconv.Atoi(strings.TrimSpace(string(children)))
	require.NoError(t, err, "unshare's only child is procmon, PID 1 inside")
	return inner
}

// orphanLine is what the task prints: its own pid ($$ in the shell, written $$$$
// in the configuration, where $$ is a literal $).
var orphanLine = regexp.MustCompile(`orphan=(\d+)`)

func TestTasksAndChecksDieWithProcmon(t *testing.T) {
	checkPid := filepath.Join(t.TempDir(), "check.pid")
	cfg := writeConfig(t, fmt.Sprintf(`
[procmon]
socket = ""

[tasks.orphaned]
command = ["sh", "-c", "echo orphan=$$$$; exec sleep 1000"]

[tasks.waiting]
command = ["sleep", "1000"]
ready = ["slow"]

[monitors.slow]
type = "exec"
command = ["sh", "-c", "echo $$$$ > %s; exec sleep 1000"]
timeout = "1m"
`, checkPid))
	cmd := procmon("-c", cfg)
	out := startProcmon(t, cmd)
	var pid, check int
	require.Eventually(t, func() bool {
		if m := orphanLine.FindStringSubmatch(out.String()); m != nil {
			pid, _ = strconv.Atoi(m[1])
		}
		data, _ := os.ReadFile(checkPid)
		check, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		return pid != 0 && check != 0
	}, 10*time.Second, time.Millisecond, out.String())
	require.NoError(t, cmd.Process.Kill())
	require.Eventually(t, func() bool { return deadOrZombie(pid) }, 10*time.Second, time.Millisecond,
		"the task outlived procmon")
	require.Eventually(t, func() bool { return deadOrZombie(check) }, 10*time.Second, time.Millisecond,
		"the exec check outlived procmon")
}

// deadOrZombie: once procmon is gone, the task's new parent may not reap it at once.
func deadOrZombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func TestCheckPrintsTreeAndWhatIf(t *testing.T) {
	cfg := writeConfig(t, `
[procmon]
socket = ""

[tasks.db]
command = "sleep 1000"
[tasks.api]
command = "sleep 1000"
parent = "db"
[tasks.web]
command = "sleep 1000"
parents = ["api"]
[tasks.cron]
command = "sleep 1000"
`)
	out, err := procmon("check", "-c", cfg).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "cron (service)\ndb (service)\n  api (service)\n    web (service)\n")

	out, err = procmon("-c", cfg, "check", "--what-if", "api").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, "stop web\nstop api\nstart api\nstart web\n", string(out))
}

func TestInvalidConfigExitsTwoNamingFileLineAndKey(t *testing.T) {
	cfg := writeConfig(t, `
[procmon]
socket = ""

[tasks.redis]
command = "redis-server"

[tasks.web]
command = "sleep 1"
parent = "redsi"
`)
	for _, sub := range []string{"check", "run"} {
		cmd := procmon(sub, "-c", cfg)
		out, _ := cmd.CombinedOutput()
		assert.Equal(t, 2, cmd.ProcessState.ExitCode(), sub)
		assert.Contains(t, string(out), `procmon.toml:10: tasks.web.parent: unknown parent "redsi" (did you mean "redis"?)`, sub)
	}
}

// procmon started with a signal ignored (as nohup or a shell's & do) must not
// pass SIG_IGN on to its tasks.
func TestIgnoredSignalsAreNotInherited(t *testing.T) {
	cfg := writeConfig(t, `
[procmon]
socket = ""

[tasks.sigs]
type = "oneshot"
command = ["grep", "^SigIgn", "/proc/self/status"]
`)
	cmd := exec.Command("sh", "-c", `trap '' PIPE INT HUP TSTP TTIN TTOU CONT; exec "$0" -c "$1"`, os.Args[0], cfg)
	cmd.Env = append(os.Environ(), "PROCMON_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "sigs | SigIgn:\t0000000000000000")
}

// A reader of procmon's stdout that goes away (`procmon | head`, a log shipper
// that died) makes procmon's writes fail; it must not kill procmon, which as
// PID 1 would take the container down with no teardown.
func TestClosedStdoutDoesNotKillProcmon(t *testing.T) {
	count := filepath.Join(t.TempDir(), "count")
	cfg := writeConfig(t, `
[procmon]
socket = ""

[tasks.chatty]
command = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; echo $i > `+count+`; sleep 0.01; done"]
`)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := procmon("-c", cfg)
	cmd.Stdout = w
	logs := &output{}
	cmd.Stderr = logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { stopProcmon(cmd) })
	w.Close()
	_, err = r.Read(make([]byte, 64))
	require.NoError(t, err, "output flows")
	r.Close()

	ticks := func() int {
		data, _ := os.ReadFile(count)
		n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		return n
	}
	closedAt := ticks()
	require.Eventually(t, func() bool { return ticks() >= closedAt+20 }, 10*time.Second, time.Millisecond,
		"the task went on writing; procmon said:\n%s", logs)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM), "procmon is still running")
	assert.Equal(t, 0, waitExit(t, cmd, logs, 10*time.Second))
}

// As PID 1 only a supervisor holds on to the signals it catches early: a client
// command (here the shell, as `docker run -it IMAGE shell` starts it) still
// dies of SIGTERM.
func TestAsPID1AClientCommandDiesOfSIGTERM(t *testing.T) {
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", os.Args[0], "shell", "-s", "/nonexistent/procmon.sock")
	cmd.Env = append(os.Environ(), "PROCMON_AS_MAIN=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	out := startProcmon(t, cmd)
	_, err = io.WriteString(stdin, "status\n")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "cannot reach procmon") }, 10*time.Second, time.Millisecond,
		"the shell ran its first command; it said:\n%s", out)
	require.NoError(t, syscall.Kill(pid1(t, cmd), syscall.SIGTERM))
	waitExit(t, cmd, out, 10*time.Second)
}
