package monitors

import (
	"math/rand/v2"
	"time"
)

// firstPause is the polling pause after the first readiness check (SPEC 2.3).
const firstPause = 5 * time.Millisecond

// schedule yields the pauses of one runner. It holds no clock, so it is tested by
// its numbers alone.
type schedule struct {
	mode     Mode
	interval time.Duration
	pause    time.Duration // Polling: the previous pause
}

// first is the wait before the first check. Liveness checks get a jitter, as
// Kubernetes and Consul do, so that instances started together do not probe in
// lockstep; readiness does not, because every millisecond of it delays the tree.
func (s *schedule) first(delay time.Duration) time.Duration {
	if s.mode == Polling {
		return delay
	}
	return delay + jitter(s.interval)
}

// next is the pause after a check has ended (or timed out).
func (s *schedule) next() time.Duration {
	if s.mode != Polling {
		return s.interval
	}
	if s.pause == 0 {
		s.pause = firstPause
	} else {
		s.pause *= 2
	}
	s.pause = min(s.pause, s.interval)
	return s.pause
}

// jitter is a random pause of at most 10% of interval.
func jitter(interval time.Duration) time.Duration {
	if interval < 10 {
		return 0
	}
	return rand.N(interval/10 + 1)
}
