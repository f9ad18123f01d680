package tasks

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

// spawnWorkers bounds the forks under way at once. A fork holds its thread in the
// kernel until the child has exec'd, which is most of what a spawn costs; a few
// side by side keep every core busy, more would only add threads.
const spawnWorkers = 4

// launching is one spawn of a batch, from its preparation to its outcome.
type launching struct {
	run     *run
	cmd     *exec.Cmd
	err     error
	started signals.Started
}

// launch starts a process for every instance of batch. All that touches the
// supervisor's state happens here, on its goroutine; only the forks run side by
// side, each as soon as its spawn is prepared. Every pid is recorded before the
// loop reads another event, so no exit can be handled before its start.
func (s *Supervisor) launch(batch []*instance) {
	spawns := make([]launching, len(batch))
	forks := s.forker(len(batch))
	paths := map[string]lookup{}
	for k, i := range batch {
		l := &spawns[k]
		l.run = &run{inst: i}
		if l.cmd, l.err = s.command(i, l.run, paths); l.err == nil {
			forks.fork(l)
		}
	}
	forks.wait()
	for k := range spawns {
		s.launched(&spawns[k])
	}
}

// forker runs the forks of one batch: on the caller's goroutine for a batch of
// one (the restart of a task), else on up to spawnWorkers goroutines.
type forker struct {
	s     *Supervisor
	queue chan *launching // nil for a batch of one
	wg    sync.WaitGroup
}

func (s *Supervisor) forker(n int) *forker {
	f := &forker{s: s}
	if n > 1 {
		f.queue = make(chan *launching, n)
		for range min(spawnWorkers, n) {
			f.wg.Go(func() {
				for l := range f.queue {
					f.do(l)
				}
			})
		}
	}
	return f
}

func (f *forker) fork(l *launching) {
	if f.queue == nil {
		f.do(l)
		return
	}
	f.queue <- l
}

func (f *forker) do(l *launching) {
	r := l.run
	l.started, l.err = f.s.start(l.cmd, r)
	// The child holds its own copies; procmon's must go for the pipes to end with the run.
	closeFiles(r.pipeEnds...)
}

func (f *forker) wait() {
	if f.queue != nil {
		close(f.queue)
		f.wg.Wait()
	}
}

// lookup is the outcome of one PATH search.
type lookup struct {
	path string
	err  error
}

// lookPath finds a program in the PATH a task's env sets, else in procmon's,
// as a shell started with the task's environment would. seen (which may be nil)
// keeps the answers within one batch, where the same program is often started
// many times.
func lookPath(name string, t *config.Task, seen map[string]lookup) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path, own := t.Env["PATH"]
	key := name
	if own {
		key = path + "\x00" + name
	}
	found, ok := seen[key]
	if !ok {
		if own {
			found.path, found.err = searchPath(name, path)
		} else {
			found.path, found.err = exec.LookPath(name)
		}
		if seen != nil {
			seen[key] = found
		}
	}
	return found.path, found.err
}

// searchPath is exec.LookPath over path rather than procmon's PATH. Relative
// entries are skipped, as exec.LookPath refuses what they find (exec.ErrDot).
func searchPath(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

// start starts cmd through the reaper; the exit comes back to the supervisor as
// r's. It may run on any goroutine.
func (s *Supervisor) start(cmd *exec.Cmd, r *run) (signals.Started, error) {
	return s.reaper.Start(cmd, func(e signals.Exit) { s.post(exitEvent{r, e}) })
}

// execFailure is the code a shell gives a command it cannot run: 127 when the
// program is not found, 126 when it is found but cannot be executed. ok is
// false for the other failures, which a retry may cure: those before the exec
// (an unknown user, an output file not yet there), or a fork that failed for
// lack of memory or processes.
func execFailure(err error) (code int, ok bool) {
	if errors.Is(err, exec.ErrNotFound) { // the search in PATH
		return 127, true
	}
	var e *os.PathError
	if !errors.As(err, &e) || e.Op != "fork/exec" { // os.StartProcess's own errors
		return 0, false
	}
	switch {
	case errors.Is(e.Err, syscall.ENOENT):
		return 127, true
	case errors.Is(e.Err, syscall.EACCES), errors.Is(e.Err, syscall.EPERM),
		errors.Is(e.Err, syscall.ENOEXEC), errors.Is(e.Err, syscall.ENOTDIR):
		return 126, true
	}
	return 0, false
}

// launched records the outcome of one spawn: a running process, or a failed start.
func (s *Supervisor) launched(l *launching) {
	r, i := l.run, l.run.inst
	if l.err != nil {
		l.err = blameDir(i.task.cfg.Dir, l.err)
		ev := i.event(EvStartFailed)
		ev.Error = l.err.Error()
		s.emit(ev)
		s.releaseMonitorEnv(r)
		if code, ok := execFailure(l.err); ok && s.forward {
			s.cannotExecute(i, code, l.err)
			return
		}
		s.failedStart(i, l.err.Error())
		return
	}
	t := i.task.cfg
	r.pid, r.started = l.started.Pid, l.started.At
	i.run = r
	i.spawns++
	s.setState(i, Starting)
	ev := i.event(EvTaskStarted)
	ev.Time, ev.StartTime = r.started, l.started.Ticks
	s.emit(ev)
	if t.MaxRuntime > 0 {
		r.timers = append(r.timers, s.after(t.MaxRuntime, timerEvent{kind: timerMaxRuntime, run: r}))
	}
	switch {
	case t.Type == config.Oneshot:
	case len(t.Ready) == 0:
		s.becomeReady(i, r.started) // ready as soon as it runs
	default:
		s.startReadiness(r)
	}
}
