package api

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/output"
)

func TestSocketIsPrivateAndRemovedOnClose(t *testing.T) {
	sock := socketPath(t)
	s, err := Listen(Options{Engine: newFakeEngine(), Socket: sock, Log: quietLog()})
	require.NoError(t, err)
	info, err := os.Stat(sock)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	entries, err := os.ReadDir(filepath.Dir(sock))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary name is left")

	require.NoError(t, s.Close(context.Background()))
	_, err = os.Lstat(sock)
	assert.True(t, os.IsNotExist(err), "socket file left behind")
}

// pathOfLength builds a socket path of exactly n bytes ending in name, padded
// with a directory under a short fresh one in /tmp (t.TempDir is too long).
func pathOfLength(t *testing.T, n int, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	pad := n - len(dir) - len("//") - len(name)
	require.Positive(t, pad)
	path := filepath.Join(dir, strings.Repeat("d", pad), name)
	require.Len(t, path, n)
	return path
}

func TestSocketPathsUpToTheSunPathLimit(t *testing.T) {
	// Every split of the 107 bytes between directory and name: the temporary name
	// must fit wherever the final one does.
	for _, name := range []string{"s", "pm", "procmon.sock", strings.Repeat("n", 80)} {
		sock := pathOfLength(t, 107, name)
		serve(t, Options{Engine: newFakeEngine(), Socket: sock})
		_, err := NewClient(sock).Status(context.Background(), "")
		assert.NoError(t, err, "name %q", name)
		entries, err := os.ReadDir(filepath.Dir(sock))
		require.NoError(t, err)
		assert.Len(t, entries, 1, "no temporary name is left beside %q", name)
	}
}

func TestSocketPathTooLongIsRefused(t *testing.T) {
	sock := pathOfLength(t, 108, "procmon.sock")
	_, err := Listen(Options{Engine: newFakeEngine(), Socket: sock, Log: quietLog()})
	require.EqualError(t, err, "socket "+sock+": the path is 108 bytes long, but a unix socket path can have at most 107")
	assert.NoDirExists(t, filepath.Dir(sock), "refused before anything is created")
}

func TestStaleSocketOfADeadProcmonIsReplaced(t *testing.T) {
	sock := socketPath(t)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	require.NoError(t, err)
	l.SetUnlinkOnClose(false)
	require.NoError(t, l.Close()) // what a killed procmon leaves
	serve(t, Options{Engine: newFakeEngine(), Socket: sock})
	_, err = NewClient(sock).Status(context.Background(), "")
	assert.NoError(t, err)
}

func TestRefusesASocketALiveServerAnswersOn(t *testing.T) {
	sock := socketPath(t)
	serve(t, Options{Engine: newFakeEngine(), Socket: sock})
	_, err := Listen(Options{Engine: newFakeEngine(), Socket: sock, Log: quietLog()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "socket "+sock+": another procmon is running")
	_, err = NewClient(sock).Status(context.Background(), "")
	assert.NoError(t, err, "the first server still serves")
}

func TestRefusesAPathThatIsNotASocket(t *testing.T) {
	path := socketPath(t)
	require.NoError(t, os.WriteFile(path, []byte("precious"), 0o644))
	_, err := Listen(Options{Engine: newFakeEngine(), Socket: path, Log: quietLog()})
	require.ErrorContains(t, err, "exists and is not a socket")
	data, _ := os.ReadFile(path)
	assert.Equal(t, "precious", string(data))
}

func TestClientNamesTheSocketItCouldNotReach(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	_, err := NewClient(sock).Status(context.Background(), "")
	var unreachable *UnreachableError
	require.ErrorAs(t, err, &unreachable)
	assert.Contains(t, err.Error(), "cannot reach procmon on socket "+sock)
}

func TestLogsLastLinesAndFollowUntilClientLeaves(t *testing.T) {
	eng := newFakeEngine()
	for _, text := range []string{"one", "two", "three"} {
		eng.print(text)
	}
	sock := socketPath(t)
	s := serve(t, Options{Engine: eng, Socket: sock})
	c := NewClient(sock)
	lines, err := c.Logs(context.Background(), "web", 2)
	require.NoError(t, err)
	require.Len(t, lines, 2)
	assert.Equal(t, "three", lines[1].Text)
	_, err = c.Logs(context.Background(), "nosuch", 2)
	assert.ErrorContains(t, err, `unknown task "nosuch"`)

	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 10)
	done := make(chan error, 1)
	go func() { done <- c.Follow(ctx, "web", 1, func(l output.Line) { got <- l.Text }) }()
	assert.Equal(t, "three", receive(t, got), "the backlog comes first")
	eng.waitFollowers(t, 1)
	eng.print("four")
	assert.Equal(t, "four", receive(t, got), "a new line is streamed at once")
	cancel()
	require.NoError(t, <-done)
	eng.waitFollowers(t, 0) // the handler saw the client go

	go func() { done <- c.Follow(context.Background(), "web", 0, func(output.Line) {}) }()
	eng.waitFollowers(t, 1)
	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	require.NoError(t, <-done, "closing the server ends a follow stream")
	require.NoError(t, <-closed)
}

func receive(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received")
		return ""
	}
}
