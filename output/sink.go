package output

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// maxQueued bounds what a Writer holds for a reader that does not read.
const maxQueued = 4 << 20

// Writer puts whole lines onto one io.Writer shared by many sinks (procmon's
// stdout, say), so lines of different tasks never interleave. It writes from a
// goroutine of its own, behind a bounded queue: a reader that stops reading (a
// terminal paused with ^S, a stuck log driver) must stall neither the hub,
// which carries every task's output, nor procmon's own log, nor its shutdown.
// What does not fit is dropped, and a line put into the stream says how much.
type Writer struct {
	w      io.Writer
	marker func(lines int64) []byte

	mu      sync.Mutex
	pending []byte
	dropped int64 // lines, since the last marker
	closed  bool

	wake    chan struct{}
	closing chan struct{}
	done    chan struct{}
}

// NewWriter starts writing to w. marker renders the line that tells how many
// lines were dropped; nil is a plain line of text.
func NewWriter(w io.Writer, marker func(lines int64) []byte) *Writer {
	if marker == nil {
		marker = func(n int64) []byte {
			return fmt.Appendf(nil, "procmon: %d lines dropped: this output was not read fast enough\n", n)
		}
	}
	x := &Writer{w: w, marker: marker, wake: make(chan struct{}, 1),
		closing: make(chan struct{}), done: make(chan struct{})}
	go x.run()
	return x
}

// Write queues p, whole lines, and never blocks; after Close it drops them.
func (x *Writer) Write(p []byte) (int, error) {
	x.mu.Lock()
	switch {
	case x.closed:
	case len(x.pending)+len(p) > maxQueued:
		x.dropped += max(int64(bytes.Count(p, []byte{'\n'})), 1)
	default:
		x.pending = append(x.pending, p...)
	}
	x.mu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
	return len(p), nil
}

func (x *Writer) run() {
	defer close(x.done)
	var out []byte
	for {
		select {
		case <-x.wake:
			out = x.flush(out)
		case <-x.closing:
			x.flush(out)
			return
		}
	}
}

// flush writes what is queued, in one write, then the marker of what was not;
// it returns its buffer for the next time, unless a burst made it large.
func (x *Writer) flush(out []byte) []byte {
	x.mu.Lock()
	out, x.pending = x.pending, out[:0]
	dropped := x.dropped
	x.dropped = 0
	x.mu.Unlock()
	if dropped > 0 {
		out = append(out, x.marker(dropped)...)
	}
	if len(out) > 0 {
		_, _ = x.w.Write(out) // a closed terminal or a full disk must not stop supervision
	}
	if cap(out) > 64<<10 {
		return nil
	}
	return out[:0]
}

// Close writes what is queued and stops, waiting at most timeout for a reader
// that does not read: procmon then exits without it. Later writes are dropped.
func (x *Writer) Close(timeout time.Duration) {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	x.closed = true
	x.mu.Unlock()
	close(x.closing)
	select {
	case <-x.done:
	case <-time.After(timeout):
	}
}

// Sink returns a sink that writes each line as prefix + line + "\n". A prefix
// needs whole lines: a piece of a long line, or an unfinished last line, gets
// its own prefix and newline too.
func (x *Writer) Sink(prefix string) Sink {
	return &lineSink{w: x, prefix: []byte(prefix)}
}

type lineSink struct {
	w      *Writer
	prefix []byte
	buf    []byte
}

// WriteLine is called from the hub's goroutine only, so buf needs no lock.
func (s *lineSink) WriteLine(line []byte, _ bool) {
	s.buf = append(append(append(s.buf[:0], s.prefix...), line...), '\n')
	_, _ = s.w.Write(s.buf)
	if cap(s.buf) > maxLine+256 {
		s.buf = nil // do not keep a huge buffer for an idle task
	}
}
