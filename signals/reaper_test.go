package signals

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var (
	reaper   *Reaper
	listener *Listener
	orphans  = make(chan Exit, 1024)
)

func TestMain(m *testing.M) {
	reaper = NewReaper(func(e Exit) { orphans <- e })
	listener = Listen(reaper)
	BecomeInit(true, logrus.New())
	code := m.Run()
	listener.Stop()
	os.Exit(code)
}

// Many goroutines start processes that exit at once, racing the reaper: every
// exit must reach its own callback exactly once.
func TestEveryExitArrivesExactlyOnce(t *testing.T) {
	const n = 300
	var (
		mu      sync.Mutex
		seen    = map[int]int{}
		started = map[int]time.Time{}
		reaped  = map[int]time.Time{}
		wg      sync.WaitGroup
		count   atomic.Int32
		done    = make(chan struct{})
	)
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/6; i++ {
				cmd := exec.Command("sh", "-c", "exit 3")
				s, err := reaper.Start(cmd, func(e Exit) {
					mu.Lock()
					seen[e.Pid]++
					reaped[e.Pid] = e.Time
					mu.Unlock()
					assert.Equal(t, 3, e.Code())
					if count.Add(1) == n {
						close(done)
					}
				})
				require.NoError(t, err)
				// The start time is read before the process can be reaped,
				// however soon it exits.
				assert.NotZero(t, s.Ticks, "start time of pid %d", s.Pid)
				mu.Lock()
				started[s.Pid] = s.At
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("only %d of %d exits arrived", count.Load(), n)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, seen, n)
	for pid, times := range seen {
		assert.Equal(t, 1, times, "pid %d reported %d times", pid, times)
		assert.False(t, reaped[pid].Before(started[pid]), "pid %d reaped before its start time", pid)
	}
}

// orphan starts a shell that leaves `sleep DURATION` behind and exits; it returns
// once the shell has been reaped, so the sleep is procmon's orphan by then.
func orphan(t *testing.T, duration string) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", "sleep "+duration+" & echo $!")
	out, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdout = w
	exited := make(chan Exit, 1)
	_, err = reaper.Start(cmd, func(e Exit) { exited <- e })
	require.NoError(t, err)
	w.Close()
	var pid int
	_, err = fmt.Fscan(out, &pid)
	require.NoError(t, err)
	<-exited
	return pid
}

func TestOrphansGoToTheOrphanCallback(t *testing.T) {
	orphanPid := orphan(t, "0.05")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-orphans:
			if e.Pid == orphanPid {
				assert.Equal(t, 0, e.Code())
				return
			}
		case <-deadline:
			t.Fatal("the orphan's exit never arrived")
		}
	}
}

func TestStartRefusesStreamsOnlyCmdWaitCouldFlush(t *testing.T) {
	cmd := exec.Command("true")
	cmd.Stdout = &bytes.Buffer{}
	_, err := reaper.Start(cmd, func(Exit) {})
	assert.ErrorIs(t, err, ErrUnsupportedIO)
}

func TestExitCodeOfASignalIsShellStyle(t *testing.T) {
	cmd := exec.Command("sleep", "1000")
	exited := make(chan Exit, 1)
	started, err := reaper.Start(cmd, func(e Exit) { exited <- e })
	pid := started.Pid
	require.NoError(t, err)
	require.NoError(t, unix.Kill(pid, unix.SIGKILL))
	e := <-exited
	assert.Equal(t, pid, e.Pid)
	assert.Equal(t, 137, e.Code())
	assert.Equal(t, unix.SIGKILL, e.Signal())
	assert.Equal(t, "killed by SIGKILL", e.String())
}

func TestAdoptedListsOnlyProcessesProcmonDidNotStart(t *testing.T) {
	started, err := reaper.Start(exec.Command("sleep", "1000"), func(Exit) {})
	require.NoError(t, err)
	pid := started.Pid
	defer unix.Kill(pid, unix.SIGKILL)

	daemon := orphan(t, "1000")
	defer unix.Kill(daemon, unix.SIGKILL)

	adopted := reaper.Adopted()
	assert.Contains(t, adopted, daemon)
	assert.NotContains(t, adopted, pid)
}

// Every descriptor procmon holds is copied by each later fork and closed by each
// exec, so Start must not leave os/exec's pidfd behind.
func TestStartKeepsNoDescriptorOfTheProcess(t *testing.T) {
	pidfds := func() int {
		n := 0
		entries, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		for _, e := range entries {
			if target, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.Contains(target, "pidfd") {
				n++
			}
		}
		return n
	}
	before := pidfds()
	var pids []int
	for range 20 {
		started, err := reaper.Start(exec.Command("sleep", "1000"), func(Exit) {})
		require.NoError(t, err)
		pids = append(pids, started.Pid)
	}
	defer func() {
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}()
	assert.Equal(t, before, pidfds())
}

// Signal actions that nobody takes yet (a busy supervisor) must not hold up
// reaping.
func TestReapingGoesOnWhileSignalActionsWait(t *testing.T) {
	for len(listener.events) < cap(listener.events) {
		queued := len(listener.events)
		require.NoError(t, unix.Kill(os.Getpid(), unix.SIGUSR2))
		require.Eventually(t, func() bool { return len(listener.events) > queued }, 10*time.Second, time.Millisecond)
	}
	require.NoError(t, unix.Kill(os.Getpid(), unix.SIGUSR2)) // one more than the stream holds
	defer func() {
		for len(listener.events) > 0 {
			<-listener.events
		}
	}()
	exited := make(chan Exit, 1)
	_, err := reaper.Start(exec.Command("true"), func(e Exit) { exited <- e })
	require.NoError(t, err)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the exit was not reaped while signal actions waited")
	}
}

// A SIGCHLD between Listen's registration and its first reap request fills the
// one slot it has: Listen must return all the same (a child of procmon's
// parent's, exec'd into procmon, may exit at that very moment). The window is a
// few microseconds: a storm of SIGCHLDs hits it in most runs, not in all.
func TestListenReturnsWhenASIGCHLDComesFirst(t *testing.T) {
	stop := make(chan struct{})
	storm := make(chan struct{})
	go func() {
		defer close(storm)
		for {
			select {
			case <-stop:
				return
			default:
				_ = unix.Kill(os.Getpid(), unix.SIGCHLD)
			}
		}
	}()
	defer func() { close(stop); <-storm }()
	for range 10000 {
		returned := make(chan *Listener, 1)
		go func() { returned <- Listen(NewReaper(nil)) }()
		select {
		case l := <-returned:
			l.Stop()
		case <-time.After(10 * time.Second):
			t.Fatal("Listen blocked on its own reap request")
		}
	}
}
