package output

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) WriteLine(line []byte, _ bool) {
	l.mu.Lock()
	l.got = append(l.got, string(line))
	l.mu.Unlock()
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

func TestHubSplitsLinesAcrossWritesAndFlushesTheLastOne(t *testing.T) {
	h, err := NewHub()
	require.NoError(t, err)
	sink := &lines{}
	w, err := h.Pipe(sink, nil)
	require.NoError(t, err)
	for _, chunk := range []string{"one\ntw", "o\n", "\n", "three"} {
		_, err := w.WriteString(chunk)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(sink.all()) == 3 }, 5*time.Second, time.Millisecond)
	require.NoError(t, w.Close())
	h.Close(5 * time.Second)
	assert.Equal(t, []string{"one", "two", "", "three"}, sink.all(), "the unfinished last line comes when the pipe ends")
}

func TestHubCutsOverlongLines(t *testing.T) {
	h, err := NewHub()
	require.NoError(t, err)
	sink := &lines{}
	w, err := h.Pipe(sink, nil)
	require.NoError(t, err)
	_, err = w.WriteString(strings.Repeat("x", 2*maxLine+5) + "\n")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	h.Close(5 * time.Second)
	var lengths []int
	for _, line := range sink.all() {
		lengths = append(lengths, len(line))
	}
	assert.Equal(t, []int{maxLine, maxLine, 5}, lengths)
}

func TestHubCloseGivesUpOnPipesThatNeverEnd(t *testing.T) {
	h, err := NewHub()
	require.NoError(t, err)
	w, err := h.Pipe(&lines{}, nil)
	require.NoError(t, err)
	defer w.Close()
	began := time.Now()
	h.Close(50 * time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(began), 50*time.Millisecond)
}

func TestWriterPrefixesWholeLines(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b, nil)
	w.Sink("web.1 | ").WriteLine([]byte("hello"), true)
	w.Close(10 * time.Second)
	assert.Equal(t, "web.1 | hello\n", b.String())
}

// stalled is a reader of procmon's stdout that stops reading until let go.
type stalled struct {
	mu      sync.Mutex
	b       bytes.Buffer
	letGo   chan struct{}
	blocked chan struct{} // closed at the first write that blocks
	once    sync.Once
}

func newStalled() *stalled {
	return &stalled{letGo: make(chan struct{}), blocked: make(chan struct{})}
}

func (s *stalled) Write(p []byte) (int, error) {
	s.once.Do(func() { close(s.blocked) })
	<-s.letGo
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *stalled) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A reader that stops reading costs lines, counted in the stream, but never
// blocks the writers: the hub, and procmon's own log.
func TestWriterNeverBlocksOnAReaderThatStopsReading(t *testing.T) {
	r := newStalled()
	w := NewWriter(r, nil)
	sink := w.Sink("web | ")
	sink.WriteLine([]byte("first"), true)
	<-r.blocked // the writer's goroutine holds "first", stuck in the reader
	line := bytes.Repeat([]byte("x"), 1023)
	const lines = 2 * maxQueued / 1024 // twice what fits
	wrote := make(chan struct{})
	go func() {
		for range lines {
			sink.WriteLine(line, true)
		}
		close(wrote)
	}()
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("a write blocked on the stalled reader")
	}
	close(r.letGo)
	w.Close(10 * time.Second)
	out := r.String()
	assert.True(t, strings.HasPrefix(out, "web | first\n"))
	kept := strings.Count(out, "web | x")
	assert.Greater(t, kept, lines/4, "what fits in the queue is written")
	assert.Contains(t, out, fmt.Sprintf("procmon: %d lines dropped: this output was not read fast enough\n", lines-kept))
}

func TestWriterCloseGivesUpOnAStuckReader(t *testing.T) {
	r := newStalled()
	w := NewWriter(r, nil)
	_, _ = w.Write([]byte("never read\n"))
	<-r.blocked
	_, _ = w.Write([]byte("queued\nbehind it\n"))
	began := time.Now()
	assert.EqualValues(t, 3, w.Close(50*time.Millisecond), "the line in the write that hangs, and the two behind it")
	assert.Less(t, time.Since(began), 5*time.Second, "procmon exits without a reader that never reads")
	_, _ = w.Write([]byte("after close\n")) // dropped, no panic
	close(r.letGo)
}

// slowReader takes every write, a while after it comes: slow on purpose.
type slowReader struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *slowReader) Write(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// A reader that reads, however slowly, gets every line at exit: Close gives up
// only on one that takes nothing.
func TestWriterCloseWaitsForASlowReader(t *testing.T) {
	r := &slowReader{}
	w := NewWriter(r, nil)
	line := append(bytes.Repeat([]byte("y"), 99), '\n')
	const lines = 5000 // 500 KB: eight writes, 160 ms in all
	for range lines {
		_, _ = w.Write(line)
	}
	assert.Zero(t, w.Close(100*time.Millisecond))
	r.mu.Lock()
	defer r.mu.Unlock()
	assert.Equal(t, lines*len(line), r.b.Len())
}

func TestRingKeepsTheLastLinesAndFeedsFollowers(t *testing.T) {
	r := NewRing("web", 1, "web.1", 3)
	sink := r.Sink("stdout", nil)
	sink.WriteLine([]byte("before"), true)
	f := NewFollower(1 << 20)
	backlog, stop := r.Follow(5, f)
	assert.Equal(t, []string{"before"}, textsOf(backlog))
	for _, s := range []string{"a", "b", "c", "d"} {
		sink.WriteLine([]byte(s), true)
	}
	stop()
	sink.WriteLine([]byte("e"), true)
	var texts []string
	for _, l := range r.Last(10) {
		texts = append(texts, l.Text)
	}
	assert.Equal(t, []string{"c", "d", "e"}, texts)
	assert.Equal(t, []string{"d", "e"}, textsOf(r.Last(2)))
	queued, dropped := f.Take()
	assert.Equal(t, []string{"a", "b", "c", "d"}, textsOf(queued), "a follower sees lines from when it started until it stopped")
	assert.Zero(t, dropped)
	first := queued[0]
	assert.Equal(t, Line{Time: first.Time, Task: "web", Instance: 1, Label: "web.1", Stream: "stdout", Text: "a"}, first)
}

func textsOf(lines []Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Text)
	}
	return out
}

// Pipes made while others end reuse their descriptor numbers at once: each must
// still deliver its line, and the hub must end with nothing left open.
func TestHubKeepsPipesThatReuseANumberJustFreed(t *testing.T) {
	h, err := NewHub()
	require.NoError(t, err)
	const workers, rounds = 8, 300
	sinks := make([]*lines, workers)
	var wg sync.WaitGroup
	for n := range workers {
		sinks[n] = &lines{}
		wg.Go(func() {
			for range rounds {
				w, err := h.Pipe(sinks[n], nil)
				if !assert.NoError(t, err) {
					return
				}
				_, _ = w.WriteString("line\n")
				w.Close()
			}
		})
	}
	wg.Wait()
	h.Close(10 * time.Second)
	for n, sink := range sinks {
		assert.Len(t, sink.all(), rounds, "worker %d lost lines", n)
	}
}

// slowSink takes its time over each line, as a sink writing to a slow disk does.
type slowSink struct{ seen atomic.Int64 }

func (s *slowSink) WriteLine([]byte, bool) {
	time.Sleep(50 * time.Microsecond)
	s.seen.Add(1)
}

// A pipe that never runs dry must not keep the hub from reading the others.
func TestHubReadsOtherPipesWhileOneFloods(t *testing.T) {
	h, err := NewHub()
	require.NoError(t, err)
	defer h.Close(time.Second)
	slow := &slowSink{}
	flood, err := h.Pipe(slow, nil)
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	chunk := []byte(strings.Repeat(strings.Repeat("x", 1023)+"\n", 64))
	go func() {
		defer flood.Close()
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = flood.Write(chunk)
			}
		}
	}()
	require.Eventually(t, func() bool { return slow.seen.Load() > 100 }, 5*time.Second, time.Millisecond, "the flood is under way")
	quiet := &lines{}
	w, err := h.Pipe(quiet, nil)
	require.NoError(t, err)
	defer w.Close()
	_, err = w.WriteString("heard\n")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(quiet.all()) == 1 }, 5*time.Second, time.Millisecond)
}

func TestHubSaysWhenAPipeEndedAfterItsLastLine(t *testing.T) {
	h, err := NewHub()
	require.NoError(t, err)
	sink := &lines{}
	var linesAtEnd []string
	ended := make(chan struct{})
	w, err := h.Pipe(sink, func() { linesAtEnd = sink.all(); close(ended) })
	require.NoError(t, err)
	_, err = w.WriteString("one\ntwo")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	<-ended
	assert.Equal(t, []string{"one", "two"}, linesAtEnd)

	var leftEnded bool
	left, err := h.Pipe(sink, func() { leftEnded = true })
	require.NoError(t, err)
	defer left.Close()
	h.Close(10 * time.Millisecond)
	assert.True(t, leftEnded, "a pipe still open when the hub closes ends too")
}

// longLineAndTail is output whose bytes must survive the hub's cutting into
// lines: a line of many maxLine pieces, and a last line without a newline.
func longLineAndTail() []byte {
	return []byte(strings.Repeat("x", 200000) + "\nshort\nno-newline-tail")
}

// throughHub sends data down a real pipe of a new hub to sink, and returns once
// the pipe has ended and all of it was delivered.
func throughHub(t *testing.T, sink Sink, data []byte) {
	t.Helper()
	h, err := NewHub()
	require.NoError(t, err)
	w, err := h.Pipe(sink, nil)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	h.Close(testWait)
}

// stream puts the output back together as the task wrote it.
type stream struct{ bytes.Buffer }

func (s *stream) WriteLine(text []byte, complete bool) {
	s.Write(text)
	if complete {
		s.WriteByte('\n')
	}
}

func TestHubTellsWhichPiecesEndALine(t *testing.T) {
	var s stream
	want := longLineAndTail()
	throughHub(t, &s, want)
	require.Equal(t, len(want), s.Len())
	assert.True(t, bytes.Equal(want, s.Bytes()), "no newline added, none lost")
}
