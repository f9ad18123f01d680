package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/api"
)

// server is a running procmon with its own control socket.
type server struct {
	cmd    *exec.Cmd
	out    *output
	sock   string
	config string
	client *api.Client
}

// shortTempDir: a Unix socket path must fit in 108 bytes, and test names are long.
func shortTempDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "pm")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startServer runs procmon on tasks (TOML) and waits until its API answers.
func startServer(t *testing.T, tasks string) *server {
	t.Helper()
	sock := filepath.Join(shortTempDir(t), "procmon.sock")
	cfg := writeConfig(t, fmt.Sprintf("[procmon]\nsocket = %q\n\n%s", sock, tasks))
	cmd := procmon("-c", cfg)
	s := &server{cmd: cmd, out: startProcmon(t, cmd), sock: sock, config: cfg, client: api.NewClient(sock)}
	require.Eventually(t, func() bool {
		_, err := s.client.Status(context.Background(), "")
		return err == nil
	}, 10*time.Second, 5*time.Millisecond, "the API did not answer; procmon said:\n%s", s.out)
	return s
}

// ctl runs a control command against s.
func (s *server) ctl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runCmd(t, procmon(append([]string{"-s", s.sock}, args...)...))
}

func runCmd(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// waitState waits until the instances of name satisfy ok.
func (s *server) waitState(t *testing.T, name string, ok func([]api.Instance) bool) []api.Instance {
	t.Helper()
	var last []api.Instance
	require.Eventually(t, func() bool {
		var err error
		last, err = s.client.Status(context.Background(), name)
		return err == nil && ok(last)
	}, 10*time.Second, 5*time.Millisecond, "%s never got there; last status %+v; procmon said:\n%s", name, &last, s.out)
	return last
}

func allReady(n int) func([]api.Instance) bool {
	return func(is []api.Instance) bool {
		for _, i := range is {
			if !i.Ready || i.Pid == 0 {
				return false
			}
		}
		return len(is) == n
	}
}

func allInState(state string) func([]api.Instance) bool {
	return func(is []api.Instance) bool {
		for _, i := range is {
			if i.State.String() != state {
				return false
			}
		}
		return len(is) > 0
	}
}
