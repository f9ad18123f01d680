package output

import "sync"

// lineCost is what a queued line holds besides its text, roughly: its fields.
const lineCost = 128

// Follower queues the new lines of one or more rings for one reader (`procmon
// logs -f`). Rings append under their own lock and never wait for the reader, so
// a task never waits either: a reader that falls behind by more than the queue's
// bound loses the newest lines, and learns how many.
type Follower struct {
	wake  chan struct{} // holds a token while lines may be waiting
	ended chan struct{} // closed when no line will come any more
	end   sync.Once

	mu      sync.Mutex
	max     int // bytes, counted as the text plus lineCost per line
	size    int
	queue   []Line // grows as lines come, and is handed over whole
	dropped int
}

// NewFollower returns a follower whose queue holds up to maxBytes.
func NewFollower(maxBytes int) *Follower {
	return &Follower{wake: make(chan struct{}, 1), ended: make(chan struct{}), max: maxBytes}
}

// End says that no line will come any more (the task is gone). Safe to call twice.
func (f *Follower) End() { f.end.Do(func() { close(f.ended) }) }

// Ended is closed by End; lines queued before it may still wait for Take.
func (f *Follower) Ended() <-chan struct{} { return f.ended }

// add queues l, or counts it as dropped when the queue is full. Once a line is
// dropped, every later one is too until the reader takes the queue: the lost
// lines then all come after the queued ones, where the reader puts its mark.
func (f *Follower) add(l Line) {
	f.mu.Lock()
	cost := len(l.Text) + lineCost
	if f.dropped > 0 || f.size+cost > f.max {
		f.dropped++
	} else {
		f.queue = append(f.queue, l)
		f.size += cost
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default: // a token is there already
	}
}

// Ready is signalled when lines may be waiting for Take.
func (f *Follower) Ready() <-chan struct{} { return f.wake }

// Take returns the queued lines, oldest first, and how many lines were lost
// after them, emptying the queue.
func (f *Follower) Take() (lines []Line, dropped int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lines, dropped = f.queue, f.dropped
	f.queue, f.size, f.dropped = nil, 0, 0
	return lines, dropped
}
