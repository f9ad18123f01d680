package monitors

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/config"
)

func notifyDefs() map[string]*config.Monitor {
	return map[string]*config.Monitor{"up": {Type: "notify"}}
}

func socketOf(t *testing.T, m Monitor) string {
	t.Helper()
	env := Environ(m)
	require.Len(t, env, 1)
	path, ok := strings.CutPrefix(env[0], "NOTIFY_SOCKET=")
	require.True(t, ok, env[0])
	return path
}

func send(t *testing.T, path, msg string) {
	t.Helper()
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte(msg))
	require.NoError(t, err)
}

// TestNotify: READY=1 from this test process (outside the task's group) is ignored;
// READY=1 from the helper child, in its own group, makes the task ready.
func TestNotify(t *testing.T) {
	deps := testDeps(t)
	log, hook := quietLog()
	deps.Log = log
	m := build(t, "up", notifyDefs(), deps)
	path := socketOf(t, m)

	goAhead, hold, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=notify")
	cmd.Env = append(cmd.Env, Environ(m)...)
	cmd.Stdin = goAhead
	helper := startChild(t, cmd)
	require.NoError(t, goAhead.Close())

	rec, stop := run(t, m, Target{Mode: Polling, Pgid: helper.pgid})
	send(t, path, "READY=1")
	require.Eventually(t, func() bool {
		for _, e := range hook.AllEntries() {
			if e.Level == logrus.WarnLevel && strings.Contains(e.Message, "outside the task's process group") {
				return true
			}
		}
		return false
	}, 10*time.Second, time.Millisecond)
	assert.Empty(t, rec.results(), "a stranger's READY=1 does not count")

	require.NoError(t, hold.Close()) // the helper notifies now
	assert.NoError(t, rec.waitLen(t, 1)[0])
	select {
	case x := <-helper.exited:
		assert.Zero(t, x.Code(), "helper: %s", x)
		helper.exited = nil
	case <-time.After(10 * time.Second):
		t.Fatal("helper did not exit")
	}
	stop()
	assert.Len(t, rec.results(), 1, "ready is reported once")
	// The task keeps its socket after Run: far more datagrams than a socket
	// queues go through, since they are still read.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetWriteDeadline(time.Now().Add(10*time.Second)))
	for range 5000 {
		_, err := conn.Write([]byte("STATUS=busy"))
		require.NoError(t, err)
	}
	Close(m)
	assert.NoFileExists(t, path, "Close removes the socket")
}

func TestNotifyClose(t *testing.T) {
	deps := testDeps(t)
	m, err := New("up", notifyDefs(), deps)
	require.NoError(t, err)
	path := socketOf(t, m)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSocket, info.Mode().Type())
	Close(m)
	Close(m)
	assert.NoFileExists(t, path)
}

func TestNotifySocketDir(t *testing.T) {
	deps := testDeps(t)
	deps.SocketDir = func() string { return "" }
	_, err := New("up", notifyDefs(), deps)
	assert.ErrorContains(t, err, "SocketDir")
	deps.SocketDir = func() string { return "/" + strings.Repeat("d", 100) }
	_, err = New("up", notifyDefs(), deps)
	assert.ErrorContains(t, err, "longer than")
}

func TestHasReady(t *testing.T) {
	for msg, want := range map[string]bool{
		"READY=1":                   true,
		"READY=1\n":                 true,
		"STATUS=up\nREADY=1\nX=y\n": true,
		"READY=0":                   false,
		"NOTREADY=1":                false,
		"STATUS=READY=1":            false,
		"":                          false,
	} {
		assert.Equal(t, want, hasReady([]byte(msg)), "%q", msg)
	}
}

func TestFromGroup(t *testing.T) {
	groups := map[int]int{100: 100, 101: 100, 200: 200}
	getpgid := func(pid int) (int, error) {
		if g, ok := groups[pid]; ok {
			return g, nil
		}
		return 0, unix.ESRCH
	}
	for _, tc := range []struct {
		pid, pgid int
		want      bool
	}{
		{100, 100, true},  // the leader
		{101, 100, true},  // a member
		{200, 100, false}, // another group
		{100, 200, false},
		{300, 300, true},  // exited, was the leader
		{301, 300, false}, // exited, cannot tell
		{0, 100, false},   // no credentials
		{100, 0, false},   // not spawned yet
	} {
		assert.Equal(t, tc.want, fromGroup(tc.pid, tc.pgid, getpgid), "pid %d pgid %d", tc.pid, tc.pgid)
	}
}
