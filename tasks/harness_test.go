package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

// The test binary plays procmon: one reaper and one signal listener for the whole
// run, as a subreaper so that the orphans of tasks come back to it.
var testReaper *signals.Reaper

func TestMain(m *testing.M) {
	RunUmaskHelper(os.Args)
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	testReaper = signals.NewReaper(nil)
	l := signals.Listen(testReaper)
	signals.BecomeInit(true, logrus.New())
	code := m.Run()
	l.Stop()
	os.Exit(code)
}

// recorder keeps every event and lets tests wait for one without sleeping.
type recorder struct {
	mu      sync.Mutex
	events  []Event
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) Observe(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// since returns the events from index from on, and a channel closed at the next one.
func (r *recorder) since(from int) ([]Event, chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events[from:]...), r.changed
}

func (r *recorder) snapshot() ([]Event, chan struct{}) { return r.since(0) }

// waitN waits until n events match and returns them. It looks at each event
// once, so waiting for thousands of them does not slow the supervisor down.
func (r *recorder) waitN(t testing.TB, n int, timeout time.Duration, match func(Event) bool) []Event {
	t.Helper()
	deadline := time.After(timeout)
	var got []Event
	seen := 0
	for {
		events, changed := r.since(seen)
		seen += len(events)
		for _, ev := range events {
			if match(ev) {
				got = append(got, ev)
			}
		}
		if len(got) >= n {
			return got[:n]
		}
		select {
		case <-changed:
		case <-deadline:
			all, _ := r.snapshot()
			t.Fatalf("timed out waiting for %d matching events, got %d; all events:\n%s", n, len(got), describe(all))
		}
	}
}

func (r *recorder) waitFor(t testing.TB, match func(Event) bool) Event {
	t.Helper()
	return r.waitN(t, 1, 10*time.Second, match)[0]
}

func (r *recorder) count(match func(Event) bool) int {
	events, _ := r.snapshot()
	n := 0
	for _, ev := range events {
		if match(ev) {
			n++
		}
	}
	return n
}

func is(typ, task string) func(Event) bool {
	return func(ev Event) bool { return ev.Type == typ && ev.Task == task }
}

func describe(events []Event) string {
	var b strings.Builder
	for _, ev := range events {
		b.WriteString(ev.Type + " " + ev.Task + " " + ev.Error + "\n")
	}
	return b.String()
}

// syncBuffer collects task output written by several reader goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t      testing.TB
	sup    *Supervisor
	rec    *recorder
	cancel context.CancelFunc
	exit   chan int
	out    *syncBuffer
	log    *syncBuffer
	sigs   chan signals.Event
}

func loadConfig(t testing.TB, toml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(toml), os.LookupEnv)
	require.NoError(t, err)
	return cfg
}

// start runs a supervisor on toml until the test ends.
func start(t testing.TB, toml string) *harness {
	t.Helper()
	return startConfig(t, loadConfig(t, toml))
}

// startFile runs a supervisor on the configuration file at path (for reloads).
func startFile(t testing.TB, path string, tweaks ...func(*Options)) *harness {
	t.Helper()
	cfg, err := config.Load(path)
	require.NoError(t, err)
	return startConfig(t, cfg, tweaks...)
}

func startConfig(t testing.TB, cfg *config.Config, tweaks ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, rec: newRecorder(), exit: make(chan int, 1), out: &syncBuffer{}, log: &syncBuffer{},
		sigs: make(chan signals.Event, 4)}
	log := logrus.New()
	log.SetOutput(h.log)
	log.SetLevel(logrus.DebugLevel)
	opts := Options{Config: cfg, Reaper: testReaper, Log: log, Signals: h.sigs,
		Observers: []Observer{h.rec}, Stdout: h.out, Stderr: h.out}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	var err error
	h.sup, err = New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.exit <- h.sup.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.exit:
		case <-time.After(20 * time.Second):
			t.Error("supervisor did not stop")
		}
	})
	return h
}

// stop asks for a shutdown and returns the exit code.
func (h *harness) stop() int {
	h.t.Helper()
	h.cancel()
	return h.wait()
}

// wait returns the exit code once Run returns by itself.
func (h *harness) wait() int {
	h.t.Helper()
	select {
	case code := <-h.exit:
		h.exit <- code // Cleanup reads it again
		return code
	case <-time.After(20 * time.Second):
		h.t.Fatalf("supervisor did not exit; log:\n%s", h.log.String())
		return -1
	}
}

// pid waits for the instance to have a process and returns its pid.
func (h *harness) pid(name string, index int) int {
	h.t.Helper()
	var pid int
	require.Eventually(h.t, func() bool {
		st := h.instance(name, index)
		pid = st.Pid
		return pid != 0
	}, 10*time.Second, time.Millisecond, "%s.%d never got a process", name, index)
	return pid
}

func (h *harness) instance(name string, index int) InstanceStatus {
	for _, st := range h.sup.Status() {
		if st.Name == name && st.Instance == index {
			return st
		}
	}
	return InstanceStatus{}
}

func (h *harness) waitState(name string, index int, want State) {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return h.instance(name, index).State == want },
		10*time.Second, time.Millisecond, "%s.%d never reached %s (now %s)", name, index, want, h.instance(name, index).State)
}

// gone tells whether no process with this pid exists any more (reaped, not a zombie).
func gone(pid int) bool {
	return errors.Is(unix.Kill(pid, 0), unix.ESRCH)
}

func waitGone(t testing.TB, pids ...int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, pid := range pids {
			if !gone(pid) {
				return false
			}
		}
		return true
	}, 10*time.Second, time.Millisecond, "processes %v still exist", pids)
}

// finalState reads an instance's state once Run has returned, when nothing else
// touches the tree any more.
func (s *Supervisor) finalState(name string, index int) State {
	return s.tasks[name].instances[index].state
}

func (s *Supervisor) samplesLoadForTest() bool {
	var on bool
	s.Do(func() { on = s.stopLoad != nil })
	return on
}

// waitIgnoring waits until pid ignores sig: a shell's trap that ignores it is in
// force only once the shell has run it, a moment after its spawn.
func waitIgnoring(t testing.TB, pid int, sig unix.Signal) { waitSigMask(t, pid, sig, "SigIgn") }

// waitCatching waits until pid catches sig (a shell's trap with a command).
func waitCatching(t testing.TB, pid int, sig unix.Signal) { waitSigMask(t, pid, sig, "SigCgt") }

func waitSigMask(t testing.TB, pid int, sig unix.Signal, field string) {
	t.Helper()
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return false
		}
		_, rest, _ := strings.Cut(string(data), field+":\t")
		mask, err := strconv.ParseUint(strings.SplitN(rest, "\n", 2)[0], 16, 64)
		return err == nil && mask&(1<<(sig-1)) != 0
	}, 10*time.Second, time.Millisecond, "process %d never had %v in %s", pid, sig, field)
}
