package monitors

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/config"
)

// startRedis runs a throwaway redis-server on a free port through the reaper.
func startRedis(t *testing.T) (*child, string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not on PATH; the redis monitor is tested against a real server: " +
			"install it (apt-get install -y redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	cmd.Dir = t.TempDir()
	return startChild(t, cmd), "127.0.0.1:" + strconv.Itoa(port)
}

func TestRedis(t *testing.T) {
	server, addr := startRedis(t)
	d := leaf("redis")
	d.Address = []string{addr}
	d.Timeout = 500 * time.Millisecond
	m := build(t, "cache", map[string]*config.Monitor{"cache": d}, testDeps(t))
	rec, _ := run(t, m, Target{Mode: Polling})

	rec.waitFor(t, "PONG", func(err error) bool { return err == nil })
	server.kill(t)
	rec.waitFor(t, "failure", func(err error) bool { return err != nil })
	got := rec.results()
	assert.ErrorContains(t, got[len(got)-1], "cache: redis "+addr+": PING: ")
}

func TestRedisWrongDB(t *testing.T) {
	_, addr := startRedis(t)
	check := func(db int) error {
		d := leaf("redis")
		d.Address, d.DB = []string{addr}, db
		c, err := newRedis(d)
		require.NoError(t, err)
		defer c.(releaser).release()
		return c.check(context.Background())
	}
	require.Eventually(t, func() bool { return check(0) == nil }, 10*time.Second, 5*time.Millisecond,
		"waiting for redis-server to answer")
	assert.ErrorContains(t, check(99), "DB index is out of range") // 16 databases by default
}

// A check stuck on a server that took PING and never answers ends as soon as it
// is cancelled (the task stops), not when its timeout runs out.
func TestRedisCheckEndsWhenCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	pinged := make(chan struct{})
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 64)
		_, _ = conn.Read(buf) // PING, never answered
		close(pinged)
		_, _ = conn.Read(buf)
	}()
	d := leaf("redis")
	d.Address = []string{l.Addr().String()}
	d.Timeout = time.Minute
	c, err := newRedis(d)
	require.NoError(t, err)
	defer c.(releaser).release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.check(ctx) }()
	<-pinged
	cancel()
	select {
	case err := <-done:
		assert.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the check ignored its cancellation")
	}
}
