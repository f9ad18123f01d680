package monitors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

const (
	// maxOutput is how much of an exec check's output is kept for its reason.
	maxOutput = 4 << 10
	// outputGrace bounds the wait for the output pipe to close once the group is
	// gone: a process that left the group (setsid) may hold it open for ever
	// (golang/go#23019).
	outputGrace = 100 * time.Millisecond
)

// execCheck succeeds when its command exits 0 within the timeout. The command runs
// in its own process group, started through the reaper (the only wait(2) caller);
// the whole group is killed afterwards, so a check never leaves processes behind to
// pile up at every interval.
type execCheck struct {
	argv     []string
	env      []string
	cred     *syscall.Credential
	dir      string
	lookPath func(string) (string, error)
	start    signals.StartFunc
}

func newExec(def *config.Monitor, deps Deps) (checker, error) {
	if len(def.Command) == 0 {
		return nil, errors.New("command is empty")
	}
	if deps.Start == nil {
		return nil, errors.New("no process starter (Deps.Start is nil)")
	}
	var env []string // nil: procmon's own
	if deps.Env != nil {
		env = deps.Env()
	}
	var cred *syscall.Credential
	if deps.Credential != nil {
		var err error
		if cred, err = deps.Credential(); err != nil {
			return nil, err
		}
	}
	lookPath := deps.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	return &execCheck{argv: def.Command, env: env, cred: cred, dir: deps.Dir, lookPath: lookPath, start: deps.Start}, nil
}

func (e *execCheck) check(ctx context.Context) error {
	program := e.argv[0]
	if !strings.Contains(program, "/") {
		var err error
		if program, err = e.lookPath(program); err != nil {
			return fmt.Errorf("command %s: %w", e.name(), err)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := &exec.Cmd{Path: program, Args: e.argv, Env: e.env, Dir: e.dir}
	// Pdeathsig: a check must not outlive procmon (SPEC 3.7), as a task must not.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred, Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = w, w
	exited := make(chan signals.Exit, 1)
	pgid, err := startGroup(e.start, cmd, func(x signals.Exit) { exited <- x })
	_ = w.Close() // the children hold their own copies: EOF means they are all gone
	if err != nil {
		_ = r.Close()
		return fmt.Errorf("command %s: %w", e.name(), err)
	}
	out := capture(r)
	var x signals.Exit
	killed := false
	select {
	case x = <-exited:
	case <-ctx.Done():
		signals.SignalGroup(pgid, syscall.SIGKILL)
		killed = true
		// The exit still comes from the reaper; waiting for it keeps the next
		// check from ever overlapping this one.
		x = <-exited
	}
	// Leftovers of the command (a background job) would pile up at every interval.
	signals.SignalGroup(pgid, syscall.SIGKILL)
	output := out.wait()
	if !killed && x.Code() == 0 {
		return nil
	}
	return fmt.Errorf("command %s: %s%s", e.name(), x, excerpt(output, 3))
}

// name is how a failure names the command: its program, or for a string command
// (run by /bin/sh -c) the string, which is what the user wrote.
func (e *execCheck) name() string {
	if len(e.argv) == 3 && e.argv[0] == "/bin/sh" && e.argv[1] == "-c" {
		return strconv.Quote(e.argv[2])
	}
	return e.argv[0]
}

// output collects the first maxOutput bytes of a pipe and discards the rest, so
// that a chatty command never blocks on a full pipe.
type output struct {
	r    *os.File
	buf  []byte
	done chan struct{}
}

func capture(r *os.File) *output {
	o := &output{r: r, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		o.buf, _ = io.ReadAll(io.LimitReader(r, maxOutput))
		_, _ = io.Copy(io.Discard, r)
	}()
	return o
}

// wait returns what was collected, once the pipe is closed or after outputGrace.
func (o *output) wait() []byte {
	select {
	case <-o.done:
	case <-time.After(outputGrace):
	}
	_ = o.r.Close() // unblocks the reader (pipes are pollable)
	<-o.done
	return o.buf
}

// excerpt is the first lines of some output, bounded, to name why a check failed
// without flooding logs and events.
func excerpt(b []byte, lines int) string {
	const most = 200
	var kept []string
	for line := range bytes.Lines(bytes.TrimSpace(b)) {
		if len(kept) == lines {
			break
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			kept = append(kept, string(line))
		}
	}
	s := strings.ToValidUTF8(strings.Join(kept, " | "), "?")
	if len(s) > most {
		s = strings.ToValidUTF8(s[:most], "") + "..."
	}
	if s == "" {
		return ""
	}
	return ": " + s
}
