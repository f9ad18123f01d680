package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/output"
	"github.com/procmon/procmon/tasks"
)

// fakeEngine knows the tasks web (2 instances, running), idle (stopped) and
// empty (scaled to 0), and records the requests it gets.
type fakeEngine struct {
	mu          sync.Mutex
	calls       []string
	notReady    []string
	reloadErr   error
	maintErr    error
	stopped     bool
	ring        *output.Ring // web's output
	followers   int
	followerSet chan struct{} // closed and renewed whenever followers change
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{ring: output.NewRing("web", 0, "web", 1000), followerSet: make(chan struct{})}
}

func (f *fakeEngine) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeEngine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeEngine) check(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return tasks.ErrStopped
	}
	if name != "web" && name != "idle" && name != "empty" {
		return fmt.Errorf("%w %q", tasks.ErrUnknownTask, name)
	}
	return nil
}

func (f *fakeEngine) Status() []tasks.InstanceStatus {
	started := time.Now().Add(-time.Minute)
	code := 1
	return []tasks.InstanceStatus{
		{Name: "web", Instance: 0, State: tasks.Ready, Pid: 100, Ready: true, StartedAt: &started, Parents: []string{}},
		{Name: "web", Instance: 1, State: tasks.Ready, Pid: 101, Ready: true, Restarts: 2, StartedAt: &started, Parents: []string{}},
		{Name: "idle", State: tasks.Stopped, ExitCode: &code, Parents: []string{"web"}},
	}
}

func (f *fakeEngine) TaskNames() []string { return []string{"web", "idle", "empty"} }

func (f *fakeEngine) TaskStatus(name string) ([]tasks.InstanceStatus, error) {
	if err := f.check(name); err != nil {
		return nil, err
	}
	var mine []tasks.InstanceStatus
	for _, st := range f.Status() {
		if st.Name == name {
			mine = append(mine, st)
		}
	}
	return mine, nil
}

func (f *fakeEngine) act(what, name string) error {
	if err := f.check(name); err != nil {
		return err
	}
	f.record("%s %s", what, name)
	return nil
}

func (f *fakeEngine) Start(name string) error   { return f.act("start", name) }
func (f *fakeEngine) Stop(name string) error    { return f.act("stop", name) }
func (f *fakeEngine) Restart(name string) error { return f.act("restart", name) }
func (f *fakeEngine) Await(_ context.Context, name, action string) error {
	return f.act("await "+action, name)
}
func (f *fakeEngine) Scale(name string, n int) error { return f.act(fmt.Sprintf("scale %d", n), name) }

func (f *fakeEngine) Signal(name string, sig syscall.Signal) error {
	if err := f.check(name); err != nil {
		return err
	}
	if name != "web" {
		return fmt.Errorf("%w: %s has no running process", tasks.ErrConflict, name)
	}
	f.record("signal %s %d", name, int(sig))
	return nil
}

func (f *fakeEngine) Logs(name string, n int) ([]output.Line, error) {
	if err := f.check(name); err != nil {
		return nil, err
	}
	return f.ring.Last(n), nil
}

func (f *fakeEngine) Follow(name string, n int, fl *output.Follower) ([]output.Line, func(), error) {
	if err := f.check(name); err != nil {
		return nil, nil, err
	}
	backlog, stop := f.ring.Follow(n, fl)
	f.addFollowers(1)
	return backlog, func() {
		stop()
		f.addFollowers(-1)
	}, nil
}

func (f *fakeEngine) Done() <-chan struct{} { return nil }

func (f *fakeEngine) addFollowers(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.followers += n
	close(f.followerSet)
	f.followerSet = make(chan struct{})
}

// waitFollowers waits until n followers are subscribed.
func (f *fakeEngine) waitFollowers(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		got, changed := f.followers, f.followerSet
		f.mu.Unlock()
		if got == n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("waiting for %d followers, have %d", n, got)
		}
	}
}

// print is web writing a line: kept for Logs and queued for followers.
func (f *fakeEngine) print(text string) {
	f.ring.Sink("stdout", nil).WriteLine([]byte(text), true)
}

func (f *fakeEngine) Reload() error {
	f.record("reload")
	return f.reloadErr
}

func (f *fakeEngine) Maintenance() error {
	f.record("maintenance")
	return f.maintErr
}

func (f *fakeEngine) Shutdown() {
	f.record("shutdown")
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
}

func (f *fakeEngine) NotReady() ([]string, error) {
	if err := f.check("web"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notReady), nil
}

// socketPath is short: a Unix socket path must fit in 108 bytes.
func socketPath(t testing.TB) string {
	dir, err := os.MkdirTemp("", "pm")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "procmon.sock")
}

func quietLog() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	return log
}

// serve starts a server for eng and closes it when the test ends.
func serve(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Log == nil {
		opts.Log = quietLog()
	}
	s, err := Listen(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, s.Close(ctx))
	})
	return s
}
