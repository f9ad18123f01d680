package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/signals"
	"github.com/procmon/procmon/tasks"
)

// Polling bounds for a leftover process to go: it is not our child, so no
// SIGCHLD will say when it does.
const (
	pollMin = 5 * time.Millisecond
	pollMax = 100 * time.Millisecond
	// killWait bounds the wait after SIGKILL, which cannot be caught but may be
	// delayed by a process in uninterruptible sleep.
	killWait = 2 * time.Second
)

// StopFunc says how to stop what a previous run left of the named task: its
// stop signal, and how long to wait before SIGKILL.
type StopFunc func(task string) (unix.Signal, time.Duration)

// leftover is a task process of a previous run that is still alive.
type leftover struct {
	rec      record
	deadline time.Time // when SIGKILL follows the stop signal, then when to give up
	killed   bool
}

func (l leftover) fields() logrus.Fields {
	f := logrus.Fields{"task": l.rec.Task, "pid": l.rec.Pid}
	if l.rec.Instance != nil {
		f["instance"] = *l.rec.Instance
	}
	return f
}

// Cleanup stops the task processes a previous procmon left running: those whose
// task_started in the journal at path (and PATH.1) has no later task_exited, and
// whose pid still holds a process with the recorded start time. A pid now used
// by an unrelated process is left alone. Each is sent its task's stop signal (its
// process group, as procmon starts every task as a group leader), then SIGKILL
// when it is still there after its stop timeout; stop gives both. Run it before
// anything starts and after Open,
// whose lock keeps a second procmon from stopping the first one's tasks. As PID 1
// there is no previous run to clean up after, and Cleanup does nothing.
func Cleanup(path string, stop StopFunc, log logrus.FieldLogger) error {
	if os.Getpid() == 1 {
		return nil
	}
	recs, err := unfinished(path)
	if err != nil {
		return err
	}
	left := alive(recs, log)
	for i := range left {
		sig, timeout := stop(left[i].rec.Task)
		log.WithFields(left[i].fields()).Warn("stopping a process left running by a previous procmon")
		signal(left[i], sig, log)
		left[i].deadline = time.Now().Add(timeout)
	}
	waitGone(left, log)
	return nil
}

// unfinished reads PATH.1 then PATH and returns the task_started records with no
// later task_exited of the same pid, in pid order.
func unfinished(path string) ([]record, error) {
	open := map[int]record{}
	for _, p := range []string{path + ".1", path} {
		if err := scan(p, open); err != nil {
			return nil, err
		}
	}
	out := make([]record, 0, len(open))
	for _, r := range open {
		out = append(out, r)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Pid < out[b].Pid })
	return out, nil
}

func scan(path string, open map[int]record) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r record
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Pid <= 0 {
			continue // a line torn by a crash tells nothing
		}
		switch r.Type {
		case tasks.EvTaskStarted:
			open[r.Pid] = r
		case tasks.EvTaskExited:
			delete(open, r.Pid)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	return nil
}

// alive keeps the records whose process is still the one recorded.
func alive(recs []record, log logrus.FieldLogger) []leftover {
	boot, self := bootID(), os.Getpid()
	var out []leftover
	for _, r := range recs {
		if r.StartTime == 0 || r.Pid <= 1 || r.Pid == self {
			continue // without a start time a pid proves nothing
		}
		if r.BootID != "" && boot != "" && r.BootID != boot {
			continue
		}
		if !sameProcess(r) {
			log.WithFields(leftover{rec: r}.fields()).Debug("journal pid now belongs to another process: left alone")
			continue
		}
		out = append(out, leftover{rec: r})
	}
	return out
}

// sameProcess reports whether r's pid is still the process r recorded, not yet
// dead (a zombie is gone for our purpose: its parent will reap it).
func sameProcess(r record) bool {
	st, err := signals.ReadProcStat(r.Pid)
	return err == nil && st.Start == r.StartTime && st.State != 'Z' && st.State != 'X'
}

// signal sends sig to what is left of the leftover, if anything.
func signal(l leftover, sig unix.Signal, log logrus.FieldLogger) {
	t := target(l.rec)
	if t == 0 {
		return
	}
	if err := unix.Kill(t, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		log.WithFields(l.fields()).WithError(err).Warn("cannot signal a process left by a previous procmon")
	}
}

// target is what to signal to reach what is left of r's process: its group (the
// task was started as a group leader), the process alone when it moved to another
// group, 0 when nothing is left. A group outlives its dead leader, and its id
// cannot go to a new process while any member is alive; so once the pid holds
// another process, the old group is surely gone and nothing is signalled.
func target(r record) int {
	st, err := signals.ReadProcStat(r.Pid)
	switch {
	case err == nil && st.Start != r.StartTime:
		return 0
	case err == nil && st.Pgrp != r.Pid:
		if st.State == 'Z' || st.State == 'X' {
			return 0
		}
		return r.Pid
	case signals.GroupAlive(r.Pid):
		return -r.Pid
	}
	return 0
}

// waitGone returns once every leftover is gone, sending SIGKILL to each one still
// there at its deadline, and giving up on those that outlive SIGKILL by killWait.
func waitGone(left []leftover, log logrus.FieldLogger) {
	pause := pollMin
	for {
		var still []leftover
		next := time.Now().Add(pause) // the next deadline, if it comes before the pause ends
		for _, l := range left {
			if target(l.rec) == 0 {
				continue
			}
			switch {
			case time.Now().Before(l.deadline):
			case !l.killed:
				log.WithFields(l.fields()).Warn("process left by a previous procmon did not stop: killing its process group")
				signal(l, unix.SIGKILL, log)
				l.killed, l.deadline = true, time.Now().Add(killWait)
			default:
				log.WithFields(l.fields()).Error("process left by a previous procmon survived SIGKILL")
				continue
			}
			still = append(still, l)
			if l.deadline.Before(next) {
				next = l.deadline
			}
		}
		if left = still; len(left) == 0 {
			return
		}
		time.Sleep(time.Until(next))
		pause = min(2*pause, pollMax)
	}
}
