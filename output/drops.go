package output

import (
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// DropLogEvery is how often, at most, a run of drops is logged again.
const DropLogEvery = 10 * time.Second

// Drops counts what a queue that must never block had to drop, and logs the
// running total as Msg: at the first drop, then at the end of each window of
// Every that dropped more, and at Flush. A burst is thus reported in full however
// short it was, and a long one costs one line per window.
type Drops struct {
	Log   logrus.FieldLogger
	Msg   string
	Every time.Duration // DropLogEvery when 0

	mu     sync.Mutex
	total  int64
	logged int64       // the total last logged
	timer  *time.Timer // the end of the current window; nil when drops have stopped
}

// Add counts a drop. It runs on the path that must not block, so it never waits
// for more than the mutex.
func (d *Drops) Add() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.total++
	if d.timer == nil {
		d.report()
		d.timer = time.AfterFunc(d.every(), d.windowEnd)
	}
}

func (d *Drops) every() time.Duration {
	if d.Every > 0 {
		return d.Every
	}
	return DropLogEvery
}

// windowEnd logs the drops of the window that ends; a window without any ends
// the watch, so that an idle queue keeps no timer.
func (d *Drops) windowEnd() {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.timer == nil: // flushed meanwhile
	case d.total == d.logged:
		d.timer = nil
	default:
		d.report()
		d.timer.Reset(d.every())
	}
}

// Flush logs what the last window has not, and stops the watch.
func (d *Drops) Flush() {
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

// Count is how many were dropped.
func (d *Drops) Count() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

func (d *Drops) report() {
	d.Log.WithField("dropped", d.total).Warn(d.Msg)
	d.logged = d.total
}
