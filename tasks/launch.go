package tasks

import (
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

// spawnWorkers bounds the forks under way at once. A fork holds its thread in the
// kernel until the child has exec'd, which is most of what a spawn costs; a few
// side by side keep every core busy, more would only add threads.
const spawnWorkers = 4

// launching is one spawn of a batch, from its preparation to its outcome.
type launching struct {
	run *run
	cmd *exec.Cmd
	err error
	pid int
	at  time.Time // when the process was started
}

// launch starts a process for every instance of batch. All that touches the
// supervisor's state happens here, on its goroutine; only the forks run side by
// side. Every pid is recorded before the loop reads another event, so no exit can
// be handled before its start.
func (s *Supervisor) launch(batch []*instance) {
	spawns := make([]launching, len(batch))
	for k, i := range batch {
		r := &run{inst: i}
		cmd, err := s.command(i, r)
		spawns[k] = launching{run: r, cmd: cmd, err: err}
	}
	forkAll(spawns, func(l *launching) {
		r := l.run
		l.pid, l.err = s.reaper.Start(l.cmd, func(e signals.Exit) { s.post(exitEvent{r, e}) })
		l.at = time.Now()
		// The child holds its own copies; procmon's must go for the pipes to end with the run.
		closeFiles(r.pipeEnds...)
	})
	for k := range spawns {
		s.launched(&spawns[k])
	}
}

// forkAll calls fork for every spawn that is ready for it, on up to spawnWorkers
// goroutines, and returns when all are done. A single spawn (the restart of one
// task) runs on the caller's goroutine.
func forkAll(spawns []launching, fork func(*launching)) {
	var todo []*launching
	for k := range spawns {
		if spawns[k].err == nil {
			todo = append(todo, &spawns[k])
		}
	}
	if len(todo) == 1 {
		fork(todo[0])
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(spawnWorkers, len(todo)) {
		wg.Go(func() {
			for k := next.Add(1) - 1; k < int64(len(todo)); k = next.Add(1) - 1 {
				fork(todo[k])
			}
		})
	}
	wg.Wait()
}

// launched records the outcome of one spawn: a running process, or a failed start.
func (s *Supervisor) launched(l *launching) {
	r, i := l.run, l.run.inst
	if l.err != nil {
		ev := i.event(EvStartFailed)
		ev.Error = l.err.Error()
		s.emit(ev)
		s.closeMonitorEnv(r)
		s.failedStart(i, l.err.Error())
		return
	}
	t := i.task.cfg
	r.pid, r.started = l.pid, l.at
	i.run = r
	s.setState(i, Starting)
	s.emit(i.event(EvTaskStarted))
	if t.MaxRuntime > 0 {
		r.timers = append(r.timers, s.after(t.MaxRuntime, timerEvent{kind: timerMaxRuntime, run: r}))
	}
	switch {
	case t.Type == config.Oneshot:
	case len(t.Ready) == 0:
		s.becomeReady(i)
	default:
		s.startReadiness(r)
	}
}
