package alert

import (
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// dropLog counts a channel's dropped events and logs their running total: at
// the first drop, then at the end of each window of `every` that dropped more,
// and at close. A burst is thus reported in full however short it was, and a
// long one costs one line per window.
type dropLog struct {
	log   logrus.FieldLogger
	every time.Duration

	mu     sync.Mutex
	total  int64
	logged int64       // the total last logged
	timer  *time.Timer // the end of the current window; nil when drops have stopped
}

// add counts a drop. It runs on Observe's path, so it never waits for more than
// the mutex.
func (d *dropLog) add() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.total++
	if d.timer == nil {
		d.report()
		d.timer = time.AfterFunc(d.every, d.windowEnd)
	}
}

// windowEnd logs the drops of the window that ends; a window without any ends
// the watch, so that an idle channel keeps no timer.
func (d *dropLog) windowEnd() {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.timer == nil: // flushed meanwhile
	case d.total == d.logged:
		d.timer = nil
	default:
		d.report()
		d.timer.Reset(d.every)
	}
}

// flush logs what the last window has not, and stops the watch.
func (d *dropLog) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.total > d.logged {
		d.report()
	}
}

func (d *dropLog) count() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

func (d *dropLog) report() {
	d.log.WithField("dropped", d.total).Warn("notify channel does not keep up: dropping events")
	d.logged = d.total
}
