package tasks

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/config"
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

// outputMux writes the lines of every task, prefixed with the instance's name, to
// procmon's own stdout or stderr; one lock per stream keeps lines whole.
type outputMux struct {
	stdout, stderr *lockedWriter
	mu             sync.Mutex
	all            []*streams
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func newOutputMux(stdout, stderr io.Writer) *outputMux {
	return &outputMux{stdout: &lockedWriter{w: stdout}, stderr: &lockedWriter{w: stderr}}
}

// streams are the output pipes of one instance. They outlive its runs: a restart
// reuses them, and the reading goroutines live as long as the instance.
type streams struct {
	childStdout, childStderr *os.File // the ends given to each process; nil = /dev/null
	pipes                    []*os.File
	files                    []*os.File
	readers                  sync.WaitGroup
}

// openStreams creates the pipes (and opens the files) for t's output.
func openStreams(t *config.Task, name string, mux *outputMux) (*streams, error) {
	st := &streams{}
	var err error
	st.childStdout, err = st.open(t.Stdout, name, mux.stdout)
	if err == nil {
		if t.Stderr == config.OutputStdout {
			st.childStderr = st.childStdout
		} else {
			st.childStderr, err = st.open(t.Stderr, name, mux.stderr)
		}
	}
	if err != nil {
		st.close()
		return nil, err
	}
	mux.mu.Lock()
	mux.all = append(mux.all, st)
	mux.mu.Unlock()
	return st, nil
}

func (st *streams) open(dest, name string, inherit *lockedWriter) (*os.File, error) {
	var sink lineSink
	switch dest {
	case config.OutputDiscard:
		return nil, nil
	case config.OutputInherit, "":
		sink = &prefixSink{w: inherit, prefix: []byte(name + " | ")}
	default:
		f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		st.files = append(st.files, f)
		sink = &prefixSink{w: &lockedWriter{w: f}}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	st.pipes = append(st.pipes, w)
	st.readers.Add(1)
	go func() {
		defer st.readers.Done()
		defer r.Close()
		copyLines(r, sink)
	}()
	return w, nil
}

// close closes procmon's ends of the pipes, lets the readers write what the last
// processes left (a final line without newline included), then closes the files.
func (st *streams) close() {
	for _, w := range st.pipes {
		w.Close()
	}
	st.readers.Wait()
	for _, f := range st.files {
		f.Close()
	}
}

type lineSink interface{ writeLine(line []byte) }

type prefixSink struct {
	w      *lockedWriter
	prefix []byte
	buf    []byte
}

// writeLine is only called from the stream's own reader goroutine, so buf is its own.
func (p *prefixSink) writeLine(line []byte) {
	p.buf = append(append(append(p.buf[:0], p.prefix...), line...), '\n')
	p.w.mu.Lock()
	_, _ = p.w.w.Write(p.buf) // a closed terminal must not stop supervision
	p.w.mu.Unlock()
}

// lineBuffer bounds a line: a longer one is written in pieces. It stays small
// because every instance has one per stream.
const lineBuffer = 8 << 10

func copyLines(r io.Reader, sink lineSink) {
	br := bufio.NewReaderSize(r, lineBuffer)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			sink.writeLine(bytes.TrimSuffix(line, []byte{'\n'}))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// close closes every instance's pipes and waits, briefly, for the last lines.
func (m *outputMux) close() {
	m.mu.Lock()
	all := m.all
	m.mu.Unlock()
	done := make(chan struct{})
	go func() {
		for _, st := range all {
			st.close()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}
