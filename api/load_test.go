package api

import (
	"context"
	"errors"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
	"github.com/procmon/procmon/tasks"
)

// The load tests run the real engine in the test process, which therefore
// reaps like procmon does: one reaper for the whole run.
var testReaper *signals.Reaper

func TestMain(m *testing.M) {
	testReaper = signals.NewReaper(nil)
	l := signals.Listen(testReaper)
	signals.BecomeInit(true, quietLog())
	code := m.Run()
	l.Stop()
	os.Exit(code)
}

// crashLoop restarts as fast as the engine can: the figure the API must not slow.
const crashLoop = `
[tasks.crash]
command = ["false"]
restart_delay = "0s"
start_time = "0s"
start_retries = -1
[tasks.steady]
command = ["sleep", "1000"]
`

// restartClock records when the crash-looping task exits and starts again.
type restartClock struct {
	mu     sync.Mutex
	events []tasks.Event
}

func (c *restartClock) Observe(ev tasks.Event) {
	if ev.Task != "crash" || (ev.Type != tasks.EvTaskExited && ev.Type != tasks.EvTaskStarted) {
		return
	}
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
}

func (c *restartClock) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// waitStarts waits until n more starts than mark were recorded.
func (c *restartClock) waitStarts(tb testing.TB, mark, n int) {
	tb.Helper()
	require.Eventually(tb, func() bool { return len(c.gaps(mark)) >= n }, time.Minute, time.Millisecond)
}

// gaps are the exit-to-next-start pauses recorded after mark, sorted.
func (c *restartClock) gaps(mark int) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var gaps []time.Duration
	var exited time.Time
	for _, ev := range c.events[mark:] {
		switch {
		case ev.Type == tasks.EvTaskExited:
			exited = ev.Time
		case !exited.IsZero():
			gaps = append(gaps, ev.Time.Sub(exited))
			exited = time.Time{}
		}
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	return gaps
}

// runEngine runs a supervisor on crashLoop, serves it on a socket, and stops
// both when the test ends.
func runEngine(tb testing.TB) (*restartClock, string) {
	cfg, err := config.Parse("procmon.toml", []byte(crashLoop), nil)
	require.NoError(tb, err)
	clock := &restartClock{}
	log := quietLog()
	log.SetLevel(logrus.ErrorLevel)
	sup, err := tasks.New(tasks.Options{Config: cfg, Reaper: testReaper, Log: log, Observers: []tasks.Observer{clock}})
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sup.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	sock := socketPath(tb)
	serve(tb, Options{Engine: sup, Socket: sock, Log: log})
	return clock, sock
}

// poll has n clients ask for the status until stop closes or each made max
// requests; it returns the requests made and the first error.
func poll(n, max int, sock string, stop <-chan struct{}) (requests int64, firstErr error) {
	var count atomic.Int64
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := NewClient(sock)
			for range max {
				select {
				case <-stop:
					return
				default:
				}
				all, err := c.Status(context.Background(), "")
				if err == nil && len(all) != 2 {
					err = errBadStatus
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	return count.Load(), firstErr
}

var errBadStatus = errors.New("status without the 2 instances")

func TestFiftyClientsPollWhileATaskCrashLoops(t *testing.T) {
	clock, sock := runEngine(t)
	clock.waitStarts(t, 0, 5)
	before := clock.len()
	requests, err := poll(50, 40, sock, nil)
	require.NoError(t, err)
	require.EqualValues(t, 50*40, requests, "every request succeeded")
	require.GreaterOrEqual(t, len(clock.gaps(before)), 5, "and the engine kept restarting the task meanwhile")
}

func BenchmarkRestartUnderAPILoad(b *testing.B) {
	clock, sock := runEngine(b)
	restarts := max(b.N, 200)
	clock.waitStarts(b, 0, 5)
	b.ResetTimer()

	mark := clock.len()
	clock.waitStarts(b, mark, restarts)
	idle := clock.gaps(mark)

	stop := make(chan struct{})
	result := make(chan error, 1)
	var requests int64
	began := time.Now()
	go func() {
		var err error
		requests, err = poll(50, 1_000_000, sock, stop)
		result <- err
	}()
	mark = clock.len()
	clock.waitStarts(b, mark, restarts)
	loaded := clock.gaps(mark)
	close(stop)
	require.NoError(b, <-result)
	b.StopTimer()

	b.ReportMetric(ms(idle[len(idle)/2]), "ms-median-restart-idle")
	b.ReportMetric(ms(idle[len(idle)*99/100]), "ms-p99-restart-idle")
	b.ReportMetric(ms(loaded[len(loaded)/2]), "ms-median-restart-50pollers")
	b.ReportMetric(ms(loaded[len(loaded)*99/100]), "ms-p99-restart-50pollers")
	b.ReportMetric(float64(requests)/time.Since(began).Seconds(), "status-req/s")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
