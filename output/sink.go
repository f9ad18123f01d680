package output

import (
	"io"
	"sync"
)

// Writer puts whole lines onto one io.Writer shared by many sinks (procmon's
// stdout, say), so lines of different tasks never interleave.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter wraps w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Sink returns a sink that writes each line as prefix + line + "\n". A prefix
// needs whole lines: a piece of a long line, or an unfinished last line, gets
// its own prefix and newline too.
func (w *Writer) Sink(prefix string) Sink {
	return &lineSink{w: w, prefix: []byte(prefix)}
}

type lineSink struct {
	w      *Writer
	prefix []byte
	buf    []byte
}

// WriteLine is called from the hub's goroutine only, so buf needs no lock.
func (s *lineSink) WriteLine(line []byte, _ bool) {
	s.buf = append(append(append(s.buf[:0], s.prefix...), line...), '\n')
	s.w.mu.Lock()
	_, _ = s.w.w.Write(s.buf) // a closed terminal or a full disk must not stop supervision
	s.w.mu.Unlock()
	if cap(s.buf) > maxLine+256 {
		s.buf = nil // do not keep a huge buffer for an idle task
	}
}
