package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/api"
)

// longOutput writes a line far longer than the 8 KiB pieces procmon reads
// output in, then a last line without a newline.
const longOutput = `head -c 200000 /dev/zero | tr '\0' x; echo; printf no-newline-tail`

var wantLongOutput = strings.Repeat("x", 200000) + "\nno-newline-tail"

// requireSameBytes compares without printing 200 kB on failure.
func requireSameBytes(t *testing.T, want, got string) {
	t.Helper()
	require.Equal(t, len(want), len(got), "length")
	require.True(t, want == got, "content differs")
}

func TestExecStdoutFileGetsTheBytesUnchanged(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "out")
	cmd := procmon("exec", "--once", "--stdout", file, "--", "sh", "-c", longOutput)
	out := startProcmon(t, cmd)
	require.Equal(t, 0, waitExit(t, cmd, out, 20*time.Second), out.String())
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	requireSameBytes(t, wantLongOutput, string(got))
}

func TestTaskStdoutFileGetsTheBytesUnchangedAndLogsThePieces(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "out")
	s := startServer(t, fmt.Sprintf(`
[tasks.long]
type = "oneshot"
command = ["sh", "-c", %q]
stdout = %q
[tasks.keep] # procmon ends when every task has
command = "sleep 1000"
`, longOutput, file))
	require.Eventually(t, func() bool {
		fi, err := os.Stat(file)
		return err == nil && fi.Size() >= int64(len(wantLongOutput))
	}, 10*time.Second, 5*time.Millisecond)
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	requireSameBytes(t, wantLongOutput, string(got))

	out, stderr, code := s.ctl(t, "logs", "-n", "3", "long")
	require.Equal(t, 0, code, stderr)
	last := 200000 % 8192
	assert.Equal(t, strings.Repeat("x", 8192)+"\n"+strings.Repeat("x", last)+"\nno-newline-tail\n", out,
		"logs shows a long line in 8 KiB pieces")
}

// followTask prints "waiting" until gate exists, so that a follower knows it is
// following, then runs script.
func followTask(name, gate, script string) string {
	cmd := fmt.Sprintf(`while [ ! -e %s ]; do echo waiting; sleep 0.02; done; %s; exec sleep 1000`, gate, script)
	return fmt.Sprintf("[tasks.%s]\ncommand = [\"sh\", \"-c\", %q]\nstdout = %q\n", name, cmd, gate+".out")
}

// follow runs `logs -f -n 0 name` and returns once it follows.
func follow(t *testing.T, s *server, name string) (*output, *os.Process) {
	t.Helper()
	cmd := procmon("-s", s.sock, "logs", "-f", "-n", "0", name)
	followed := startProcmon(t, cmd)
	require.Eventually(t, func() bool { return strings.Contains(followed.String(), "waiting\n") },
		10*time.Second, 5*time.Millisecond, "logs -f shows nothing: %s", followed)
	return followed, cmd.Process
}

// afterWaiting is what a follower got once the task stopped waiting.
func afterWaiting(followed *output) string {
	out := followed.String()
	return out[strings.LastIndex(out, "waiting\n")+len("waiting\n"):]
}

func TestLogsFollowGetsABurstWhole(t *testing.T) {
	t.Parallel()
	gate := filepath.Join(t.TempDir(), "gate")
	s := startServer(t, followTask("burst", gate, "seq 1 20000"))
	followed, _ := follow(t, s, "burst")
	require.NoError(t, os.WriteFile(gate, nil, 0o644))

	var want strings.Builder
	for n := 1; n <= 20000; n++ {
		fmt.Fprintln(&want, n)
	}
	require.Eventually(t, func() bool { return strings.HasSuffix(followed.String(), "\n20000\n") },
		20*time.Second, 5*time.Millisecond, "the burst's last line never came")
	got := afterWaiting(followed)
	require.Equal(t, want.Len(), len(got), "every line, once")
	assert.True(t, want.String() == got, "in order")
}

func TestLogsFollowSaysHowManyLinesItLost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gate, again := filepath.Join(dir, "gate"), filepath.Join(dir, "again")
	const flood = 100000 // lines of 40 bytes: far more than a follower's queue holds
	script := fmt.Sprintf(`yes 0123456789012345678901234567890123456789 | head -n %d; echo flooded;
		while [ ! -e %s ]; do sleep 0.02; done; echo end`, flood, again)
	s := startServer(t, followTask("flood", gate, script))
	followed, proc := follow(t, s, "flood")

	require.NoError(t, proc.Signal(syscall.SIGSTOP)) // a follower that does not read
	defer proc.Signal(syscall.SIGCONT)
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	require.Eventually(t, func() bool {
		lines, err := s.client.Logs(context.Background(), "flood", 1)
		return err == nil && len(lines) == 1 && lines[0].Text == "flooded"
	}, 20*time.Second, 5*time.Millisecond, "the flood never ended")
	require.NoError(t, proc.Signal(syscall.SIGCONT))

	dropped := regexp.MustCompile(`\.\.\. (\d+) lines dropped: logs -f fell behind\n`)
	require.Eventually(t, func() bool { return dropped.MatchString(followed.String()) },
		20*time.Second, 5*time.Millisecond, "no word of the lost lines")
	require.NoError(t, os.WriteFile(again, nil, 0o644))
	require.Eventually(t, func() bool { return strings.HasSuffix(followed.String(), "\nend\n") },
		20*time.Second, 5*time.Millisecond, "following goes on after a loss")

	got := afterWaiting(followed)
	mark := dropped.FindStringSubmatchIndex(got)
	lost, err := strconv.Atoi(got[mark[2]:mark[3]])
	require.NoError(t, err)
	before, after := got[:mark[0]], got[mark[1]:]
	assert.Equal(t, flood+1, strings.Count(before, "\n")+lost, "the lines shown and the lines lost make up the flood")
	assert.Equal(t, "end\n", after, "the mark stands where the lines were lost")
}

// A stdout and stderr that nobody reads (a terminal paused with ^S, a stuck log
// driver) cost lines, never supervision: a killed task comes back, the API
// answers, and SIGTERM ends procmon.
func TestAStdoutNobodyReadsStallsNothing(t *testing.T) {
	dir := shortTempDir(t)
	fifo := filepath.Join(dir, "out")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	reader, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0) // held open, never read
	require.NoError(t, err)
	defer reader.Close()
	stalled, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer stalled.Close()

	sock := filepath.Join(dir, "procmon.sock")
	cfg := writeConfig(t, fmt.Sprintf(`
[procmon]
socket = %q
shutdown_timeout = "3s"

[tasks.chatty]
command = ["sh", "-c", "while :; do echo a line that fills the pipe; done"]

[tasks.victim]
command = ["sleep", "1000"]
`, sock))
	cmd := procmon("-c", cfg)
	cmd.Stdout, cmd.Stderr = stalled, stalled
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { stopProcmon(cmd) })
	s := &server{cmd: cmd, out: &output{}, sock: sock, config: cfg, client: api.NewClient(sock)}
	victim := s.waitState(t, "victim", allReady(1))[0].Pid
	require.NoError(t, syscall.Kill(victim, syscall.SIGKILL))
	s.waitState(t, "victim", func(is []api.Instance) bool { return len(is) == 1 && is[0].Pid != 0 && is[0].Pid != victim })

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, waitExit(t, cmd, s.out, 10*time.Second), "procmon ends, its last lines unread")
}
