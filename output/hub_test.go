package output

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) WriteLine(line []byte) {
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
	w, err := h.Pipe(sink)
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
	w, err := h.Pipe(sink)
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
	w, err := h.Pipe(&lines{})
	require.NoError(t, err)
	defer w.Close()
	began := time.Now()
	h.Close(50 * time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(began), 50*time.Millisecond)
}

func TestWriterPrefixesWholeLines(t *testing.T) {
	var b strings.Builder
	s := NewWriter(&b).Sink("web.1 | ")
	s.WriteLine([]byte("hello"))
	assert.Equal(t, "web.1 | hello\n", b.String())
}
