package output

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxQueued bounds what a Writer holds for a reader that does not read.
	maxQueued = 4 << 20
	// chunk bounds one write, so that a slow reader shows progress often.
	chunk = 64 << 10
)

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

	wake     chan struct{}
	closing  chan struct{}
	done     chan struct{}
	progress atomic.Int64 // when a write last went through, in Unix nanoseconds
	inFlight atomic.Int64 // lines taken from the queue and not written yet
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
		x.dropped += max(lineCount(p), 1)
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
	x.inFlight.Store(lineCount(out))
	for rest := out; len(rest) > 0; {
		n := len(rest)
		if n > chunk {
			n = chunk
			if nl := bytes.LastIndexByte(rest[:n], '\n'); nl >= 0 {
				n = nl + 1 // whole lines, where there are any
			}
		}
		_, _ = x.w.Write(rest[:n]) // a closed terminal or a full disk must not stop supervision
		x.progress.Store(time.Now().UnixNano())
		x.inFlight.Add(-lineCount(rest[:n]))
		rest = rest[n:]
	}
	if cap(out) > chunk {
		return nil
	}
	return out[:0]
}

// Close writes what is queued and stops. It waits as long as the reader reads,
// however slowly, but gives up on one that has taken nothing for stall: procmon
// then exits without it, and abandoned is how many queued lines (at least) it
// left unwritten. Later writes are dropped.
func (x *Writer) Close(stall time.Duration) (abandoned int64) {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return 0
	}
	x.closed = true
	x.mu.Unlock()
	x.progress.Store(time.Now().UnixNano())
	close(x.closing)
	tick := time.NewTicker(min(stall/4, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-x.done:
			return 0
		case <-tick.C:
			if time.Since(time.Unix(0, x.progress.Load())) >= stall {
				x.mu.Lock()
				defer x.mu.Unlock()
				return lineCount(x.pending) + x.dropped + x.inFlight.Load()
			}
		}
	}
}

func lineCount(b []byte) int64 { return int64(bytes.Count(b, []byte{'\n'})) }

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
