package signals

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Exit is one reaped process: its pid, its wait status and when it was reaped.
type Exit struct {
	Pid    int
	Status unix.WaitStatus
	Time   time.Time
}

// Code is the exit status as a shell reports it: the exit code, or 128+N when
// signal N ended the process (tini, runc and containerd use the same rule).
func (e Exit) Code() int {
	if e.Status.Signaled() {
		return 128 + int(e.Status.Signal())
	}
	return e.Status.ExitStatus()
}

// Signal is the signal that ended the process, or 0 when it exited.
func (e Exit) Signal() syscall.Signal {
	if e.Status.Signaled() {
		return e.Status.Signal()
	}
	return 0
}

func (e Exit) String() string {
	if sig := e.Signal(); sig != 0 {
		return fmt.Sprintf("killed by %s", unix.SignalName(sig))
	}
	return fmt.Sprintf("exit code %d", e.Status.ExitStatus())
}

// ErrUnsupportedIO is returned by Start for a Cmd whose standard streams are not
// *os.File: os/exec would copy them in goroutines that only Cmd.Wait joins, and
// Cmd.Wait must never run here (see Reaper).
var ErrUnsupportedIO = errors.New("reaper: Stdin, Stdout and Stderr must be nil or *os.File")

// Reaper is the only caller of wait(2) in procmon. Every child, whoever starts
// it, is started through Start and its exit comes back through the callback given
// there; every other process that dies as procmon's child (an orphan re-parented to
// PID 1 or to the subreaper) goes to the orphan callback.
//
// Exits are never lost nor reported twice because of one read-write lock: Start
// holds it shared from fork until the pid is registered, and Reap holds it
// exclusively while it calls wait4. A child that dies before Start returns stays a
// zombie until the registration is done, and is then reaped and matched to its
// callback. Starts share the lock so that several forks can be under way at
// once. os/exec's Cmd.Wait is never called: it would race wait4(-1) for the same
// status (the bug of go-reaper and early ContainerPilot). Callbacks run on the
// reaping goroutine after the lock is released, in exit order, so they may start
// new processes.
type Reaper struct {
	forks    sync.RWMutex // shared by Start from fork to registration, exclusive for wait4
	mu       sync.Mutex   // guards waiting and onOrphan
	waiting  map[int]func(Exit)
	onOrphan func(Exit)
}

// NewReaper returns a Reaper; onOrphan (which may be nil) receives the exits of
// processes that procmon did not start itself.
func NewReaper(onOrphan func(Exit)) *Reaper {
	return &Reaper{waiting: map[int]func(Exit){}, onOrphan: onOrphan}
}

// SetOrphanHandler replaces the orphan callback: the supervisor is built after
// the reaper, which must exist before signals are registered.
func (r *Reaper) SetOrphanHandler(fn func(Exit)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onOrphan = fn
}

// Started is a process that Start started.
type Started struct {
	Pid int
	At  time.Time // when its exec was done
	// Ticks is its start time (/proc/PID/stat field 22), read while it cannot
	// have been reaped: with Pid, it names this process and no later holder of
	// the pid. 0 when /proc could not tell.
	Ticks uint64
}

// StartFunc is the signature of Start, for the packages that start processes
// through the reaper.
type StartFunc = func(cmd *exec.Cmd, onExit func(Exit)) (Started, error)

// Start starts cmd and arranges for onExit to be called exactly once, from the
// reaping goroutine, when the process exits. What it returns is read before the
// process can be reaped: the start time is never later than its Exit's Time, and
// the pid still holds this process. cmd must never be waited for, and its
// Process is released at once: the pidfd os/exec keeps would be one more
// descriptor that every later fork copies and every exec closes, and procmon
// signals by pid (or process group) and reaps with wait4 anyway.
func (r *Reaper) Start(cmd *exec.Cmd, onExit func(Exit)) (Started, error) {
	if !plainFile(cmd.Stdin) || !plainFile(cmd.Stdout) || !plainFile(cmd.Stderr) {
		return Started{}, ErrUnsupportedIO
	}
	r.forks.RLock()
	defer r.forks.RUnlock()
	if err := cmd.Start(); err != nil {
		return Started{}, err
	}
	started := Started{Pid: cmd.Process.Pid, At: time.Now()}
	_ = cmd.Process.Release()
	if st, err := ReadProcStat(started.Pid); err == nil {
		started.Ticks = st.Start
	}
	r.mu.Lock()
	r.waiting[started.Pid] = onExit
	r.mu.Unlock()
	return started, nil
}

func plainFile(v any) bool {
	if v == nil {
		return true
	}
	f, ok := v.(*os.File)
	return ok && f != nil
}

// Reap collects every exited child and dispatches it. SIGCHLDs coalesce, so one
// call drains until wait4 reports nothing left.
func (r *Reaper) Reap() {
	for _, d := range r.collect() {
		d.fn(d.exit)
	}
}

type dispatch struct {
	exit Exit
	fn   func(Exit)
}

func (r *Reaper) collect() []dispatch {
	r.forks.Lock()
	defer r.forks.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []dispatch
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return out // ECHILD: no children; 0: none exited yet
		}
		e := Exit{Pid: pid, Status: ws, Time: time.Now()}
		fn, ok := r.waiting[pid]
		delete(r.waiting, pid)
		if !ok {
			fn = r.onOrphan
		}
		if fn != nil {
			out = append(out, dispatch{e, fn})
		}
	}
}

// Adopted lists the live children of procmon that it did not start itself: orphans
// re-parented to it that escaped their task's process group.
func (r *Reaper) Adopted() []int {
	r.forks.Lock() // a child forked but not yet registered is not adopted
	defer r.forks.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, pid := range children() {
		if _, ok := r.waiting[pid]; !ok {
			out = append(out, pid)
		}
	}
	return out
}

// children reads procmon's children from /proc: each thread lists the children it
// forked, and adopted orphans appear under the main thread.
func children() []int {
	files, _ := filepath.Glob("/proc/self/task/*/children")
	var pids []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(field); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
