package output

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFollowerHoldsABurstUntilItsReaderComes(t *testing.T) {
	r := NewRing("web", 0, "web", 1000)
	f := NewFollower(8 << 20)
	_, stop := r.Follow(0, f)
	defer stop()
	sink := r.Sink("stdout", nil)
	const burst = 50000
	for n := range burst {
		sink.WriteLine([]byte(fmt.Sprint(n)), true)
	}
	require.Len(t, f.Ready(), 1, "the reader is woken")
	lines, dropped := f.Take()
	assert.Zero(t, dropped)
	require.Equal(t, burst, len(lines), "the ring keeps 1000 lines, the follower every one")
	for n, l := range lines {
		require.Equal(t, fmt.Sprint(n), l.Text, "in order")
	}
}

func TestFollowerThatDoesNotReadLosesTheNewestLinesAndIsTold(t *testing.T) {
	r := NewRing("web", 0, "web", 1000)
	f := NewFollower(10 * (lineCost + 3)) // ten lines of three bytes
	_, stop := r.Follow(0, f)
	defer stop()
	sink := r.Sink("stdout", nil)
	write := func(from, to int) {
		for n := from; n < to; n++ {
			sink.WriteLine(fmt.Appendf(nil, "%03d", n), true)
		}
	}
	write(0, 9)
	sink.WriteLine([]byte("a much longer line that does not fit"), true)
	write(9, 25)
	lines, dropped := f.Take()
	assert.Equal(t, []string{"000", "001", "002", "003", "004", "005", "006", "007", "008"}, textsOf(lines))
	assert.Equal(t, 17, dropped, "once a line is lost, later ones are too until the reader comes: the gap is in one place")

	write(25, 27)
	lines, dropped = f.Take()
	assert.Equal(t, []string{"025", "026"}, textsOf(lines), "the queue has room again")
	assert.Zero(t, dropped, "a loss is told once")
}
