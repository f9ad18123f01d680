package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/api"
	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/tasks"
)

const treeTasks = `
[tasks.db]
command = "sleep 1000"
[tasks.app]
command = "sleep 1000"
parent = "db"
[tasks.web]
command = "sleep 1000"
parent = "app"
instances = 2
`

func TestStatusTableAndJSON(t *testing.T) {
	t.Parallel()
	s := startServer(t, treeTasks)
	s.waitState(t, "web", allReady(2))

	out, stderr, code := s.ctl(t, "status")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5, out)
	assert.Regexp(t, `^NAME +STATE +PID +UPTIME +RESTARTS +LAST EXIT$`, lines[0])
	for i, name := range []string{"db", "app", "web.0", "web.1"} {
		assert.Regexp(t, `^`+regexp.QuoteMeta(name)+` +ready +\d+ +\d+s +0 +-$`, lines[i+1])
	}
	col := strings.Index(lines[0], "STATE")
	for _, l := range lines[1:] {
		assert.Equal(t, "ready", l[col:col+5], "columns are aligned: %q", l)
	}

	out, stderr, code = s.ctl(t, "status", "--json", "web", "db")
	require.Equal(t, 0, code, stderr)
	var got []api.Instance
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got, 3)
	assert.Equal(t, []string{"web", "web", "db"}, []string{got[0].Name, got[1].Name, got[2].Name})
	assert.Equal(t, 1, got[1].Instance)
	assert.Equal(t, []string{"app"}, got[0].Parents)
}

func TestStopParentStopsSubtreeAndStartBringsItBack(t *testing.T) {
	t.Parallel()
	s := startServer(t, treeTasks)
	before := s.waitState(t, "web", allReady(2))

	_, stderr, code := s.ctl(t, "stop", "app")
	require.Equal(t, 0, code, stderr)
	s.waitState(t, "app", allInState("stopped"))
	web := s.waitState(t, "web", func(is []api.Instance) bool { return len(is) == 2 && is[0].Pid == 0 && is[1].Pid == 0 })
	assert.False(t, web[0].Ready)
	for _, i := range before {
		assert.True(t, deadOrZombie(i.Pid), "web.%d (pid %d) still runs below a stopped parent", i.Instance, i.Pid)
	}
	db := s.waitState(t, "db", allReady(1))

	_, stderr, code = s.ctl(t, "start", "app")
	require.Equal(t, 0, code, stderr)
	after := s.waitState(t, "web", allReady(2))
	assert.NotEqual(t, before[0].Pid, after[0].Pid, "the subtree runs again, in new processes")
	assert.Equal(t, db[0].Pid, s.waitState(t, "db", allReady(1))[0].Pid, "outside the subtree nothing moved")
}

func TestScaleToZeroAndBack(t *testing.T) {
	t.Parallel()
	s := startServer(t, treeTasks)
	s.waitState(t, "web", allReady(2))
	_, stderr, code := s.ctl(t, "scale", "web", "0")
	require.Equal(t, 0, code, stderr)
	s.waitState(t, "web", func(is []api.Instance) bool { return len(is) == 0 })
	out, stderr, code := s.ctl(t, "status")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out, "web")

	_, stderr, code = s.ctl(t, "scale", "web", "3")
	require.Equal(t, 0, code, stderr)
	s.waitState(t, "web", allReady(3))

	_, stderr, code = s.ctl(t, "scale", "web", "many")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `procmon scale: instances must be a whole number, 0 or more (got "many")`)
}

// An instance keeps the name it was made with: status, the prefix of procmon's
// output and logs all call the first process of a task scaled from one "solo".
func TestScaledInstancesKeepTheirNamesEverywhere(t *testing.T) {
	t.Parallel()
	s := startServer(t, `
[tasks.solo]
command = ["sh", "-c", "echo hello $PROCMON_INSTANCE; exec sleep 1000"]
`)
	s.waitState(t, "solo", allReady(1))
	_, stderr, code := s.ctl(t, "scale", "solo", "2")
	require.Equal(t, 0, code, stderr)
	s.waitState(t, "solo", allReady(2))

	out, stderr, code := s.ctl(t, "status", "solo")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Regexp(t, `^solo +ready `, lines[1])
	assert.Regexp(t, `^solo\.1 +ready `, lines[2])

	for _, line := range []string{"solo | hello 0\n", "solo.1 | hello 1\n"} {
		require.Eventually(t, func() bool { return strings.Contains(s.out.String(), line) },
			10*time.Second, 5*time.Millisecond, "procmon's output: %s", s.out)
	}
	out, stderr, code = s.ctl(t, "logs", "solo")
	require.Equal(t, 0, code, stderr)
	assert.ElementsMatch(t, []string{"solo | hello 0", "solo.1 | hello 1"}, strings.Split(strings.TrimSpace(out), "\n"))
}

func TestSignalReachesTaskAndLogsFollowShowsIt(t *testing.T) {
	t.Parallel()
	s := startServer(t, `
[tasks.trap]
command = ["sh", "-c", "trap 'echo got-usr1' USR1; echo started; while :; do sleep 0.05; done"]
`)
	s.waitState(t, "trap", allReady(1))
	follow := procmon("-s", s.sock, "logs", "-f", "trap")
	followed := startProcmon(t, follow)
	require.Eventually(t, func() bool { return strings.Contains(followed.String(), "started\n") },
		10*time.Second, 5*time.Millisecond, "the backlog comes first: %q", followed)

	_, stderr, code := s.ctl(t, "signal", "trap", "SIGUSR1")
	require.Equal(t, 0, code, stderr)
	require.Eventually(t, func() bool { return strings.Contains(followed.String(), "got-usr1\n") },
		10*time.Second, 5*time.Millisecond, "follow shows new lines: %q", followed)

	require.NoError(t, follow.Process.Signal(os.Interrupt))
	assert.Equal(t, 0, waitExit(t, follow, followed, 10*time.Second), "^C ends logs -f normally")

	_, stderr, code = s.ctl(t, "signal", "trap", "NOPE")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown signal "NOPE"`)
}

func TestLogsLastLines(t *testing.T) {
	t.Parallel()
	s := startServer(t, `
[tasks.count]
command = ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; exec sleep 1000"]
[tasks.pair]
command = ["sh", "-c", "echo I am $PROCMON_INSTANCE; exec sleep 1000"]
instances = 2
`)
	require.Eventually(t, func() bool {
		out, _, _ := s.ctl(t, "logs", "count")
		return out == "line 1\nline 2\nline 3\nline 4\nline 5\n"
	}, 10*time.Second, 5*time.Millisecond)
	out, stderr, code := s.ctl(t, "logs", "-n", "2", "count")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "line 4\nline 5\n", out)
	out, _, _ = s.ctl(t, "logs", "count", "-n=1")
	assert.Equal(t, "line 5\n", out)

	require.Eventually(t, func() bool {
		out, _, _ := s.ctl(t, "logs", "pair")
		return strings.Contains(out, "pair.0 | I am 0\n") && strings.Contains(out, "pair.1 | I am 1\n")
	}, 10*time.Second, 5*time.Millisecond, "several instances are told apart")
}

func TestShutdownCommandEndsProcmonWithZero(t *testing.T) {
	t.Parallel()
	s := startServer(t, treeTasks)
	s.waitState(t, "web", allReady(2))
	_, stderr, code := s.ctl(t, "shutdown")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, 0, waitExit(t, s.cmd, s.out, 20*time.Second), s.out.String())
	_, err := os.Lstat(s.sock)
	assert.True(t, os.IsNotExist(err), "the socket is removed at exit")
}

func TestReadyIsOneThenZero(t *testing.T) {
	t.Parallel()
	flag := filepath.Join(t.TempDir(), "flag")
	s := startServer(t, `
[monitors.flag]
type = "exec"
command = ["test", "-f", "`+flag+`"]
interval = "20ms"
[tasks.gate]
command = "sleep 1000"
ready = "flag"
`)
	out, _, code := s.ctl(t, "ready")
	assert.Equal(t, 1, code)
	assert.Equal(t, "not ready: gate\n", out)
	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	require.Eventually(t, func() bool {
		_, _, code := s.ctl(t, "ready")
		return code == 0
	}, 10*time.Second, 5*time.Millisecond)
}

func TestNoServerExitsTwoNamingTheSocket(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(shortTempDir(t), "nobody.sock")
	cfg := writeConfig(t, "[procmon]\nsocket = \""+sock+"\"\n[tasks.x]\ncommand = \"true\"\n")
	envSock := filepath.Join(shortTempDir(t), "env.sock")
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"-s", sock, "status"}, "", sock},
		{[]string{"status"}, envSock, envSock},
		{[]string{"stop", "x", "-c", cfg}, "", sock},
		{[]string{"-s", sock, "ready"}, "", sock},
	} {
		cmd := procmon(c.args...)
		if c.env != "" {
			cmd.Env = append(cmd.Env, "PROCMON_SOCKET="+c.env)
		}
		_, stderr, code := runCmd(t, cmd)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.Contains(t, stderr, "cannot reach procmon on socket "+c.want+": ", "%v", c.args)
	}
}

func TestUnknownTaskAndWrongUsage(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[tasks.db]\ncommand = \"sleep 1000\"\n")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"stop", "nosuch"}, 1, `procmon stop: unknown task "nosuch"`},
		{[]string{"status", "nosuch"}, 1, `procmon status: unknown task "nosuch"`},
		{[]string{"logs", "nosuch"}, 1, `procmon logs: unknown task "nosuch"`},
		{[]string{"restart", "db", "nosuch"}, 1, `procmon restart: unknown task "nosuch"`},
		{[]string{"start"}, 2, "usage: procmon start [--no-wait] NAME..."},
		{[]string{"stop", "-x", "db"}, 2, "procmon stop: unknown flag -x"},
		{[]string{"logs", "-x", "db"}, 2, "procmon logs: unknown flag -x"},
		{[]string{"maintenance"}, 1, "procmon maintenance: not possible in this state"},
	} {
		_, stderr, code := s.ctl(t, c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
	}
}

// stop waits until no process of the task is left, so that `stop db && backup`
// does not race it; start says why a task did not become ready.
func TestStopAndStartWaitForTheirEffect(t *testing.T) {
	t.Parallel()
	trapped := filepath.Join(t.TempDir(), "trapped")
	s := startServer(t, fmt.Sprintf(`
[tasks.db]
command = ["sh", "-c", "trap '' TERM; touch %s; while :; do sleep 0.01; done"]
stop_timeout = "300ms"

[tasks.web]
parent = "db"
command = ["sleep", "1000"]
`, trapped))
	db := s.waitState(t, "db", allReady(1))
	require.Eventually(t, func() bool { _, err := os.Stat(trapped); return err == nil }, 10*time.Second, time.Millisecond)
	_, stderr, code := s.ctl(t, "stop", "db")
	assert.Equal(t, 0, code, stderr)
	assert.ErrorIs(t, syscall.Kill(db[0].Pid, 0), syscall.ESRCH, "stop returned before the process was gone")

	_, stderr, code = s.ctl(t, "start", "web")
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stderr, "procmon start: did not take effect: web waits for parents that will not be ready by themselves: db (stopped)")

	_, stderr, code = s.ctl(t, "start", "--no-wait", "db")
	assert.Equal(t, 0, code, stderr)
	s.waitState(t, "web", allReady(1))
}

// ^C ends the wait, not the start: the CLI says so.
func TestInterruptedWaitSaysTheActionGoesOn(t *testing.T) {
	t.Parallel()
	s := startServer(t, `
[tasks.slow]
command = ["sleep", "1000"]
autostart = false
ready = ["never"]

[monitors.never]
type = "exec"
command = ["false"]
`)
	var stderr bytes.Buffer
	cli := procmon("-s", s.sock, "start", "slow")
	cli.Stderr = &stderr
	require.NoError(t, cli.Start())
	s.waitState(t, "slow", func(st []api.Instance) bool { return len(st) == 1 && st[0].State == tasks.Starting })
	require.NoError(t, cli.Process.Signal(os.Interrupt))
	err := cli.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Equal(t, "procmon start: interrupted: stopped waiting for slow (a start already asked for goes on)\n", stderr.String())
}

func TestReloadPrintsEveryConfigErrorAndExitsTwo(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[tasks.db]\ncommand = \"sleep 1000\"\n")
	db := s.waitState(t, "db", allReady(1))
	bad := "[procmon]\nsocket = \"" + s.sock + "\"\n[tasks.db]\ncommand = \"sleep 1000\"\n[tasks.web]\nparent = \"dbb\"\n"
	require.NoError(t, os.WriteFile(s.config, []byte(bad), 0o644))
	_, stderr, code := s.ctl(t, "reload")
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "procmon reload: invalid configuration\n")
	assert.Contains(t, stderr, `procmon.toml:6: tasks.web.parent: unknown parent "dbb" (did you mean "db"?)`)
	assert.Contains(t, stderr, `procmon.toml:5: tasks.web: missing command`)
	assert.Equal(t, db[0].Pid, s.waitState(t, "db", allReady(1))[0].Pid, "nothing changed")
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, waitExit(t, s.cmd, s.out, 10*time.Second))
}

func TestReloadTakesTheNewNotifyChannels(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	sent := filepath.Join(dir, "sent")
	s := startServer(t, "[tasks.db]\ncommand = \"sleep 1000\"\n")
	s.waitState(t, "db", allReady(1))
	withNotify := fmt.Sprintf(`[procmon]
socket = %q

[[notify]]
type = "exec"
events = ["reload", "task_exited"]
command = ["sh", "-c", "cat >> %s"]

[tasks.db]
command = "sleep 1000"
`, s.sock, sent)
	require.NoError(t, os.WriteFile(s.config, []byte(withNotify), 0o644))
	_, stderr, code := s.ctl(t, "reload")
	require.Equal(t, 0, code, stderr)
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(sent)
		return strings.Contains(string(data), `"reload"`)
	}, 10*time.Second, 5*time.Millisecond, "the new channel sent the reload itself; procmon said:\n%s", s.out)
	db := s.waitState(t, "db", allReady(1))
	require.NoError(t, syscall.Kill(db[0].Pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(sent)
		return strings.Contains(string(data), `"task_exited"`)
	}, 10*time.Second, 5*time.Millisecond, "the channel added by the reload sent the exit; procmon said:\n%s", s.out)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, waitExit(t, s.cmd, s.out, 10*time.Second))
}

// A file with errors elsewhere still names the socket of the server that runs
// with it: status and ready reach that server, and reload prints the errors the
// server found. A file whose socket cannot be read sends nothing anywhere.
func TestControlCommandsFollowTheSocketOfAFileWithErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[tasks.db]\ncommand = \"sleep 1000\"\n")
	s.waitState(t, "db", allReady(1))
	good, err := os.ReadFile(s.config)
	require.NoError(t, err)
	byFile := func(args ...string) (stdout, stderr string, code int) {
		return runCmd(t, procmon(append([]string{"-c", s.config}, args...)...))
	}

	require.NoError(t, os.WriteFile(s.config, append(good, "bogus = 1\n"...), 0o644))
	out, stderr, code := byFile("ready")
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "ready\n", out)
	out, stderr, code = byFile("status")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "db ")
	_, stderr, code = byFile("reload")
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "procmon reload: invalid configuration\n")
	assert.Contains(t, stderr, `procmon.toml:6: tasks.db.bogus: unknown key "bogus"`)

	// A file that does not parse says nothing of its socket: a command that
	// only reads tries the default one, and the user is told why; one that acts
	// must not reach what may be another procmon.
	require.NoError(t, os.WriteFile(s.config, append(good, "oops = \"x\n"...), 0o644))
	_, stderr, code = byFile("status")
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, s.config+":6: ")
	assert.Contains(t, stderr, "procmon: trying the default socket "+config.DefaultSocket()+"\n")
	for _, acting := range [][]string{{"shutdown"}, {"reload"}, {"stop", "db"}} {
		_, stderr, code = byFile(acting...)
		assert.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, "procmon "+acting[0]+": cannot tell the socket from "+s.config+" (name it with -s PATH): "+s.config+":6: ")
		assert.NotContains(t, stderr, "trying the default socket")
	}

	for text, want := range map[string]string{
		"[procmon]\nsocket = 5\n":    "procmon status: cannot tell the socket from " + s.config + " (name it with -s PATH): " + s.config + ":2: ",
		"[procmon]\nsocket = \"\"\n": "procmon status: " + s.config + ` turns the control socket off (socket = ""): name one with -s PATH`,
	} {
		require.NoError(t, os.WriteFile(s.config, []byte(text), 0o644))
		_, stderr, code = byFile("status")
		assert.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, want, "nothing is sent to another server")
	}
	_, stderr, code = s.ctl(t, "status")
	assert.Equal(t, 0, code, "-s still reaches the server: %s", stderr)
}

// With no server to report them, reload prints the file's errors itself.
func TestReloadWithoutAServerPrintsTheFilesErrors(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(shortTempDir(t), "nobody.sock")
	cfg := writeConfig(t, "[procmon]\nsocket = \""+sock+"\"\n[tasks.web]\ncommand = \"w\"\nparent = \"dbb\"\n")
	_, stderr, code := runCmd(t, procmon("-c", cfg, "reload"))
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "procmon reload: cannot reach procmon on socket "+sock+": ")
	assert.Contains(t, stderr, `procmon.toml:5: tasks.web.parent: unknown parent "dbb"`)
}
