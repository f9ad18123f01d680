package tasks

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/output"
)

// UmaskHelperArg is the hidden first argument with which procmon re-executes itself
// to set a task's umask before exec'ing the task's command.
const UmaskHelperArg = "__procmon-umask"

// RunUmaskHelper takes over the process when args are `procmon __procmon-umask
// MASK -- CMD ARG...`: it sets the umask and replaces itself with CMD (same pid, so
// supervision is unaffected). Otherwise it returns at once.
func RunUmaskHelper(args []string) {
	if len(args) < 5 || args[1] != UmaskHelperArg || args[3] != "--" {
		return
	}
	var mask int
	if _, err := fmt.Sscanf(args[2], "%o", &mask); err != nil {
		fmt.Fprintf(os.Stderr, "procmon: bad umask %q\n", args[2])
		os.Exit(127)
	}
	unix.Umask(mask)
	path, err := exec.LookPath(args[4])
	if err == nil {
		err = unix.Exec(path, args[4:], os.Environ())
	}
	fmt.Fprintf(os.Stderr, "procmon: exec %s: %v\n", args[4], err)
	os.Exit(127)
}

// taskOutput is where an instance's stdout and stderr go; a nil sink discards.
// Files stay open for the instance's life; pipes are made for each run.
type taskOutput struct {
	stdout, stderr output.Sink
	// Handed to the child as they are: procmon's own streams, under DirectOutput.
	stdoutFile, stderrFile *os.File
	sharedStderr           bool // stderr = "stdout": one pipe for both
	files                  *outputFiles
	paths                  []string           // of files, released on close
	logger                 *output.LogCommand // log_command, when set
	releases               *sync.WaitGroup    // the supervisor's, for releases the hub starts

	// A process can exit with lines still in its pipe, and a process outside its
	// group can hold the pipe longer: the files and the logger are released only
	// once the output is closed and every pipe has ended. The hub's goroutine
	// ends pipes, hence the lock.
	mu      sync.Mutex
	pipes   int // made and not ended yet
	closing bool
}

// logLines is how many recent lines of each instance `procmon logs` can show.
const logLines = 1000

func (s *Supervisor) openOutput(i *instance) (*taskOutput, error) {
	t := i.task.cfg
	o := &taskOutput{sharedStderr: t.Stderr == config.OutputStdout, files: s.files, releases: &s.releases}
	if len(t.LogCommand) > 0 {
		return o, o.startLogger(s, i)
	}
	if s.direct {
		o.stdoutFile = inheritedFile(t.Stdout, os.Stdout)
		o.stderrFile = inheritedFile(t.Stderr, os.Stderr)
	}
	var err error
	if o.stdoutFile == nil { // a stream handed over as it is goes through no sink
		o.stdout, err = o.sink(t.Stdout, i, "stdout", s.stdout)
	}
	if err == nil && !o.sharedStderr && o.stderrFile == nil {
		o.stderr, err = o.sink(t.Stderr, i, "stderr", s.stderr)
	}
	if err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

// startLogger sends every stream that is not discarded into the log_command
// process instead of its destination (the daemontools way).
func (o *taskOutput) startLogger(s *Supervisor, i *instance) error {
	t := i.task.cfg
	logger, err := output.StartLogCommand(t.LogCommand, s.reaper.Start, s.log.WithFields(i.event("").fields()))
	if err != nil {
		return err
	}
	o.logger = logger
	if t.Stdout != config.OutputDiscard {
		o.stdout = i.logs.Sink("stdout", logger)
	}
	if t.Stderr != config.OutputDiscard && !o.sharedStderr {
		o.stderr = i.logs.Sink("stderr", logger)
	}
	return nil
}

// sink sends a stream to its destination, and to the instance's ring for `logs`.
func (o *taskOutput) sink(dest string, i *instance, stream string, inherit *output.Writer) (output.Sink, error) {
	switch dest {
	case config.OutputDiscard:
		return nil, nil
	case config.OutputInherit:
		return i.logs.Sink(stream, inherit.Sink(i.label+" | ")), nil
	}
	f, err := o.files.open(dest, i.task.cfg.LogMaxSize, i.task.cfg.LogBackups)
	if err != nil {
		return nil, err
	}
	o.paths = append(o.paths, dest)
	return i.logs.Sink(stream, f), nil
}

func inheritedFile(dest string, f *os.File) *os.File {
	if dest == config.OutputInherit {
		return f
	}
	return nil
}

// streams gives one run its stdout and stderr: procmon's own files, or the write
// ends of new pipes, which are also returned in ends for the caller to close once
// the process has started (or failed to).
func (o *taskOutput) streams(hub *output.Hub) (stdout, stderr *os.File, ends []*os.File, err error) {
	stdout, stderr = o.stdoutFile, o.stderrFile
	if stdout == nil && o.stdout != nil {
		if stdout, err = o.pipe(hub, o.stdout); err != nil {
			return nil, nil, nil, err
		}
		ends = append(ends, stdout)
	}
	switch {
	case o.sharedStderr:
		stderr = stdout
	case stderr == nil && o.stderr != nil:
		if stderr, err = o.pipe(hub, o.stderr); err != nil {
			closeFiles(ends...)
			return nil, nil, nil, err
		}
		ends = append(ends, stderr)
	}
	return stdout, stderr, ends, nil
}

func (o *taskOutput) pipe(hub *output.Hub, sink output.Sink) (*os.File, error) {
	o.mu.Lock()
	o.pipes++
	o.mu.Unlock()
	w, err := hub.Pipe(sink, o.pipeEnded)
	if err != nil {
		o.pipeEnded()
	}
	return w, err
}

func (o *taskOutput) pipeEnded() {
	o.mu.Lock()
	o.pipes--
	last := o.closing && o.pipes == 0
	o.mu.Unlock()
	if last {
		o.releases.Go(o.release) // the hub must not wait for a logger to flush
	}
}

// close lets go of the output: at once when no pipe of it is left, else when
// the last one ends. Its files are let go at once, so that a spawn that follows
// opens them anew (with a reload's new log_max_size); its logger off the
// caller's goroutine, the supervisor's: a logger may take seconds to flush and
// stop, and several stop side by side.
func (o *taskOutput) close() {
	o.mu.Lock()
	idle := !o.closing && o.pipes == 0
	o.closing = true
	o.mu.Unlock()
	if idle {
		o.releaseFiles()
		if o.logger != nil {
			o.releases.Go(o.logger.Close)
		}
	}
}

func (o *taskOutput) release() {
	o.releaseFiles()
	if o.logger != nil {
		o.logger.Close()
	}
}

func (o *taskOutput) releaseFiles() {
	for _, path := range o.paths {
		o.files.release(path)
	}
	o.paths = nil
}

// outputFiles shares one output.File among every stream and instance writing to
// the same path, so that its size, rotation and reopening are counted once; the
// last one opened sets its rotation.
// Outputs whose last pipe ends on the hub's goroutine release theirs there.
type outputFiles struct {
	mu     sync.Mutex
	byPath map[string]*sharedFile
	log    logrus.FieldLogger // where failing writes are reported
}

type sharedFile struct {
	file  *output.File
	users int
}

func (fs *outputFiles) open(path string, maxSize int64, backups int) (*output.File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if sf := fs.byPath[path]; sf != nil {
		// Still held by an output on its way out (its last pipe not ended yet),
		// or shared with another task: the newest definition sets the rotation.
		sf.file.SetRotation(maxSize, backups)
		sf.users++
		return sf.file, nil
	}
	f, err := output.OpenFile(path, maxSize, backups, fs.log)
	if err != nil {
		return nil, err
	}
	fs.byPath[path] = &sharedFile{file: f, users: 1}
	return f, nil
}

func (fs *outputFiles) release(path string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	sf := fs.byPath[path]
	if sf == nil {
		return
	}
	if sf.users--; sf.users == 0 {
		sf.file.Close()
		delete(fs.byPath, path)
	}
}

// reopen opens every output file anew, after logrotate moved them away (SIGUSR2).
func (fs *outputFiles) reopen() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var errs []error
	for _, sf := range fs.byPath {
		errs = append(errs, sf.file.Reopen())
	}
	return errors.Join(errs...)
}

func closeFiles(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// reopenOutput closes an idle instance's output so the next spawn opens it under
// the task's current definition.
func (s *Supervisor) reopenOutput(i *instance) {
	i.freshOutput = false
	if i.output != nil {
		i.output.close()
		i.output = nil
	}
}
