package tasks

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/output"
	"github.com/procmon/procmon/signals"
)

// instance is one process slot of a task (instances = N gives N of them).
type instance struct {
	task         *task
	index        int
	label        string // its name in output prefixes and status, kept for its life
	state        State
	run          *run   // nil when no process or process group of it is left
	enabled      bool   // false after `stop`, or with autostart = false, until `start`
	recycle      bool   // a restart was requested: run again once the current run is gone
	removed      bool   // scaled away: forgotten once its process is gone
	joining      bool   // added by a scale to a ready task: the tasks below do not wait for it
	freshOutput  bool   // the definition changed: reopen output at the next spawn
	failedStarts int    // consecutive
	lastFailure  string // why the last start failed, or why it went fatal
	restarts     int
	spawns       int // processes started, for a wait on a restart
	lastExit     *signals.Exit
	backoffGen   int // invalidates backoff timers that were cancelled
	backoff      interface{ Stop() bool }
	output       *taskOutput // opened at the first spawn
	logs         *output.Ring
	pre          *preSpawn // wait_for monitors in progress, before the process exists
	waitedSince  time.Time // when wait_for began: the wait counts against ready_timeout
}

func newInstance(t *task, index int) *instance {
	l := label(t.cfg, index)
	i := &instance{task: t, index: index, label: l, enabled: t.cfg.Autostart,
		logs: output.NewRing(t.cfg.Name, index, l, logLines)}
	if !i.enabled {
		i.state = Stopped
	}
	return i
}

// live is the run whose process has not exited yet, or nil.
func (i *instance) live() *run {
	if i.run != nil && i.run.exit == nil {
		return i.run
	}
	return nil
}

// label is "web" for the one instance of a task defined with one, "web.2" for
// the others. It is decided once, when the instance is made: a `scale` or a
// reload does not rename the processes already running.
func label(t *config.Task, index int) string {
	if t.Instances == 1 && index == 0 {
		return t.Name
	}
	return fmt.Sprintf("%s.%d", t.Name, index)
}

func (i *instance) event(typ string) Event {
	ev := Event{Type: typ, Task: i.task.cfg.Name, Instance: i.index}
	if i.run != nil {
		ev.Pid = i.run.pid
	}
	return ev
}

// stopCause says why procmon stopped a run, which decides whether the exit that
// follows counts as a failure.
type stopCause int

const (
	causeNone         stopCause = iota
	causeTree                   // shutdown, a parent left ready, stop or restart requested: not a failure
	causeLiveness               // a liveness monitor failed
	causeMaxRuntime             // max_runtime elapsed
	causeReadyTimeout           // not ready within ready_timeout: a failed start
)

// run is one process of an instance, from spawn until its whole process group is gone.
type run struct {
	inst      *instance
	pid       int        // also the process group id: every run leads its own group
	pipeEnds  []*os.File // procmon's copies of the output pipes, closed once spawned
	started   time.Time
	becameRdy bool
	cause     stopCause // why procmon wants it down; causeNone while it does not
	signaled  bool      // the stop signal was sent to the group
	paused    bool      // SIGSTOPped by load
	// pausedFrom is the state the pause interrupted, and the one it resumes to.
	pausedFrom State
	killed     bool // SIGKILL was sent to the group
	exit       *signals.Exit
	timers     []interface{ Stop() bool }
	killTimer  interface{ Stop() bool }
	recheck    time.Duration
	// recheckTimer is the pending look at a draining group, if any.
	recheckTimer interface{ Stop() bool }
	monitors     context.CancelFunc
	awaiting     awaited // the ready monitors
	// notReady is why the run was not ready within ready_timeout, if it was not.
	notReady string
	// readyMonitors are built before the spawn (for their environment) and
	// handed to their goroutines once the process exists.
	readyMonitors []namedMonitor
	// envMonitors are those of them that put variables into the environment;
	// they stay open until the run is gone.
	envMonitors []namedMonitor
	// gone, when set, is what follows the end of a run that belongs to no task
	// (the maintenance command's), in place of its instance's bookkeeping.
	gone func()
}

func (r *run) stopRequested() bool { return r.cause != causeNone }

func (r *run) stopTimers() {
	for _, t := range r.timers {
		t.Stop()
	}
	r.timers = nil
	if r.recheckTimer != nil {
		r.recheckTimer.Stop()
		r.recheckTimer = nil
	}
	r.stopMonitors()
}

// stopMonitors cancels the run's readiness or liveness checks, if any run.
func (r *run) stopMonitors() {
	if r.monitors != nil {
		r.monitors()
		r.monitors = nil
	}
}

func (s *Supervisor) setState(i *instance, st State) {
	i.state = st
}

// becomeReady records that i turned ready at the given time (zero: now).
func (s *Supervisor) becomeReady(i *instance, at time.Time) {
	i.run.becameRdy = true
	i.joining = false
	s.setState(i, Ready)
	ev := i.event(EvTaskReady)
	ev.Time = at
	s.emit(ev)
	s.startLiveness(i.run)
}
