package output

import (
	"sync"
	"time"
)

// Line is one line of a task's output as `procmon logs` shows it.
type Line struct {
	Time     time.Time `json:"time"`
	Task     string    `json:"task"`
	Instance int       `json:"instance"`
	Label    string    `json:"label"`  // the instance's, as the prefix of its output names it
	Stream   string    `json:"stream"` // stdout or stderr
	Text     string    `json:"text"`
	// Dropped, on a line of its own with no text, says how many lines a follower
	// lost at that point because it fell behind.
	Dropped int `json:"dropped,omitempty"`
}

// Ring keeps the last lines of one task instance in memory and passes new ones
// to followers. It grows only as lines come, so a quiet task costs nothing. A
// line longer than maxLine is kept as several lines.
type Ring struct {
	mu        sync.Mutex
	task      string
	instance  int
	label     string
	size      int
	lines     []Line
	next      int // where the next line goes once the ring is full
	followers map[*Follower]struct{}
}

// NewRing keeps up to size lines of the instance with this label.
func NewRing(task string, instance int, label string, size int) *Ring {
	return &Ring{task: task, instance: instance, label: label, size: size, followers: map[*Follower]struct{}{}}
}

// Sink returns a sink that records each line of stream, then hands it to next
// (which may be nil).
func (r *Ring) Sink(stream string, next Sink) Sink {
	return &ringSink{ring: r, stream: stream, next: next}
}

type ringSink struct {
	ring   *Ring
	stream string
	next   Sink
}

func (s *ringSink) WriteLine(text []byte, complete bool) {
	s.ring.add(Line{Time: time.Now(), Task: s.ring.task, Instance: s.ring.instance, Label: s.ring.label, Stream: s.stream, Text: string(text)})
	if s.next != nil {
		s.next.WriteLine(text, complete)
	}
}

func (r *Ring) add(l Line) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lines) < r.size {
		r.lines = append(r.lines, l)
	} else {
		r.lines[r.next] = l
		r.next = (r.next + 1) % r.size
	}
	for f := range r.followers {
		f.add(l)
	}
}

// Last returns up to n of the most recent lines, oldest first.
func (r *Ring) Last(n int) []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last(n)
}

func (r *Ring) last(n int) []Line {
	ordered := append(append([]Line(nil), r.lines[r.next:]...), r.lines[:r.next]...)
	if n >= 0 && n < len(ordered) {
		ordered = ordered[len(ordered)-n:]
	}
	return ordered
}

// Follow returns up to n of the most recent lines and, from that very moment,
// queues every new line on f until stop is called: no line is missed or seen
// twice between the two.
func (r *Ring) Follow(n int, f *Follower) (backlog []Line, stop func()) {
	r.mu.Lock()
	backlog = r.last(n)
	r.followers[f] = struct{}{}
	r.mu.Unlock()
	return backlog, func() {
		r.mu.Lock()
		delete(r.followers, f)
		r.mu.Unlock()
	}
}
