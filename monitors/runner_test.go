package monitors

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkFunc is a fake leaf check.
type checkFunc func(ctx context.Context) error

func (f checkFunc) check(ctx context.Context) error { return f(ctx) }

func fakeRunner(c checker, interval, timeout, delay time.Duration) *runner {
	log, _ := quietLog()
	return &runner{name: "fake", c: c, interval: interval, timeout: timeout, delay: delay, log: log}
}

func TestSchedulePolling(t *testing.T) {
	s := schedule{mode: Polling, interval: 30 * time.Millisecond}
	assert.Equal(t, 7*time.Millisecond, s.first(7*time.Millisecond), "no jitter while polling")
	var got []time.Duration
	for range 5 {
		got = append(got, s.next())
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{5 * ms, 10 * ms, 20 * ms, 30 * ms, 30 * ms}, got)
}

func TestScheduleSteady(t *testing.T) {
	s := schedule{mode: Steady, interval: time.Second}
	for range 100 {
		first := s.first(time.Second)
		assert.GreaterOrEqual(t, first, time.Second)
		assert.LessOrEqual(t, first, time.Second+100*time.Millisecond, "jitter is at most 10%% of interval")
	}
	assert.Equal(t, time.Second, s.next())
	assert.Equal(t, time.Second, s.next())
}

// calls returns a fake check that records when it is called.
func calls(results error) (checker, <-chan time.Time) {
	at := make(chan time.Time, 100)
	return checkFunc(func(context.Context) error {
		at <- time.Now()
		return results
	}), at
}

func next(t *testing.T, at <-chan time.Time) time.Time {
	t.Helper()
	select {
	case v := <-at:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("check not called")
		return time.Time{}
	}
}

func TestPollingTiming(t *testing.T) {
	c, at := calls(errors.New("not yet"))
	start := time.Now()
	run(t, fakeRunner(c, time.Minute, time.Second, 0), Target{Mode: Polling})
	var times []time.Time
	for range 5 {
		times = append(times, next(t, at))
	}
	assert.Less(t, times[0].Sub(start), 5*time.Second, "first check at once, not after interval")
	for i, least := range []time.Duration{5, 10, 20, 40} {
		gap := times[i+1].Sub(times[i])
		assert.GreaterOrEqual(t, gap, least*time.Millisecond, "pause %d", i+1)
	}
	assert.Greater(t, times[4].Sub(times[3]), times[1].Sub(times[0]), "pauses grow")
}

func TestSteadyTiming(t *testing.T) {
	c, at := calls(nil)
	start := time.Now()
	run(t, fakeRunner(c, 50*time.Millisecond, time.Second, 30*time.Millisecond), Target{Mode: Steady})
	first, second := next(t, at), next(t, at)
	assert.GreaterOrEqual(t, first.Sub(start), 30*time.Millisecond, "initial_delay")
	assert.GreaterOrEqual(t, second.Sub(first), 50*time.Millisecond, "interval")
}

func TestReportsEveryResult(t *testing.T) {
	var n atomic.Int32
	c := checkFunc(func(context.Context) error {
		if n.Add(1)%2 == 0 {
			return errors.New("bad")
		}
		return nil
	})
	rec, _ := run(t, fakeRunner(c, time.Millisecond, time.Second, 0), Target{Mode: Steady})
	got := rec.waitLen(t, 4)
	assert.NoError(t, got[0])
	assert.EqualError(t, got[1], "fake: bad", "the reason names the monitor")
	assert.NoError(t, got[2])
}

func TestHangingCheck(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var started atomic.Int32
	hang := checkFunc(func(context.Context) error {
		started.Add(1)
		<-release // ignores its ctx
		return nil
	})
	rec, stop := run(t, fakeRunner(hang, 30*time.Millisecond, 20*time.Millisecond, 0), Target{Mode: Steady})
	got := rec.waitLen(t, 2)
	assert.ErrorIs(t, got[0], ErrTimeout)
	assert.ErrorContains(t, got[0], "fake: timed out after 20ms")
	assert.ErrorIs(t, got[1], ErrStillRunning)

	begin := time.Now()
	stop()
	assert.Less(t, time.Since(begin), 2*time.Second, "Run returns promptly despite the hung check")
	assert.EqualValues(t, 1, started.Load(), "never a second concurrent run of the check")
}

// A check that honours its timeout reports its own reason, which names what it
// waited for, rather than a bare "timed out".
func TestTimeoutOfACheckHonouringItNamesWhatItWaitedFor(t *testing.T) {
	waits := checkFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return fmt.Errorf("GET http://127.0.0.1:9/health: %w", ctx.Err())
	})
	rec, stop := run(t, fakeRunner(waits, time.Hour, 20*time.Millisecond, 0), Target{Mode: Polling})
	defer stop()
	got := rec.waitLen(t, 1)
	assert.ErrorIs(t, got[0], ErrTimeout)
	assert.ErrorContains(t, got[0], "fake: timed out after 20ms: GET http://127.0.0.1:9/health: context deadline exceeded")
}

func TestCheckHonouringTimeout(t *testing.T) {
	r := fakeRunner(checkFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}), time.Second, 10*time.Millisecond, 0)
	err := r.probe(context.Background())
	assert.ErrorIs(t, err, ErrTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestPanickingCheck(t *testing.T) {
	r := fakeRunner(checkFunc(func(context.Context) error { panic("boom") }), time.Millisecond, time.Second, 0)
	assert.EqualError(t, r.probe(context.Background()), "panic: boom")

	rec, _ := run(t, r, Target{Mode: Steady})
	got := rec.waitLen(t, 2) // the runner survives and keeps checking
	assert.EqualError(t, got[0], "fake: panic: boom")
	assert.EqualError(t, got[1], "fake: panic: boom")
}

func TestStopBeforeFirstCheck(t *testing.T) {
	c, at := calls(nil)
	rec, stop := run(t, fakeRunner(c, time.Hour, time.Second, time.Hour), Target{Mode: Steady})
	stop()
	assert.Empty(t, rec.results())
	assert.Empty(t, at)
}

func TestRunReleasesClient(t *testing.T) {
	var released atomic.Int32
	r := fakeRunner(&releasing{released: &released}, time.Hour, time.Second, time.Hour)
	_, stop := run(t, r, Target{Mode: Steady})
	stop()
	Close(r)
	require.EqualValues(t, 1, released.Load(), "released once, by Run, and Close after it is a no-op")
}

type releasing struct{ released *atomic.Int32 }

func (r *releasing) check(context.Context) error { return nil }
func (r *releasing) release()                    { r.released.Add(1) }
