// Package alert sends chosen procmon events through the [[notify]] channels
// (email, webhook, exec) without ever making supervision wait for them.
package alert

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/output"
	"github.com/procmon/procmon/signals"
	"github.com/procmon/procmon/tasks"
)

const (
	queueSize = 100
	// drainWait bounds how long Close, at procmon's exit, lets the channels
	// send what is queued.
	drainWait = 2 * time.Second
)

// Deps are what the channels need from procmon.
type Deps struct {
	// Start starts an exec channel's command through procmon's reaper
	// (signals.Reaper.Start); exec channels fail without it.
	Start signals.StartFunc
	// TLSConfig is the base of the STARTTLS configuration of email channels
	// (its ServerName is set per server); nil uses the system's roots.
	TLSConfig *tls.Config
	// HTTPClient posts webhooks; nil uses a client with a 5 s timeout.
	HTTPClient *http.Client
}

// Notifier is a tasks.Observer that queues each event for the channels that
// list its type, one bounded queue and one sending goroutine per channel. A full
// queue drops the event and counts it: a slow or dead endpoint never blocks
// Observe, and it only ever delays its own channel.
type Notifier struct {
	channels []*channel
	closing  chan struct{} // closed by Drain: send what is queued, then stop
	done     chan struct{} // closed once every channel's goroutine has returned
	ctx      context.Context
	cancel   context.CancelFunc // cuts the sending short, for Close
	wg       sync.WaitGroup
	closed   atomic.Bool
	once     sync.Once
}

// channel is one [[notify]] entry.
type channel struct {
	events map[string]bool
	send   func(context.Context, *payload) error
	queue  chan *payload
	log    logrus.FieldLogger
	drops  output.Drops
}

// New starts one goroutine per entry. An entry that cannot work (an exec entry
// without Deps.Start) still counts its events and logs why each send fails.
func New(entries []*config.Notify, deps Deps, log logrus.FieldLogger) *Notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{closing: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	for i, e := range entries {
		c := &channel{
			events: map[string]bool{},
			send:   sender(e, deps),
			queue:  make(chan *payload, queueSize),
			log:    log.WithField("notify", fmt.Sprintf("%d (%s)", i, e.Type)),
		}
		c.drops = output.Drops{Log: c.log, Msg: "notify channel does not keep up: dropping events"}
		for _, ev := range e.Events {
			c.events[ev] = true
		}
		n.channels = append(n.channels, c)
		n.wg.Add(1)
		go n.loop(c)
	}
	return n
}

func sender(e *config.Notify, deps Deps) func(context.Context, *payload) error {
	switch e.Type {
	case "email":
		return emailSender(e, deps.TLSConfig)
	case "webhook":
		return webhookSender(e.URL, deps.HTTPClient)
	case "exec":
		return execSender(e.Command, deps.Start)
	}
	return func(context.Context, *payload) error { return fmt.Errorf("unknown notify type %q", e.Type) }
}

// Observe queues ev for every channel that wants it. It never blocks.
func (n *Notifier) Observe(ev tasks.Event) {
	if n.closed.Load() {
		return
	}
	var p *payload // encoded once, and only when some channel wants it
	for _, c := range n.channels {
		if !c.events[ev.Type] {
			continue
		}
		if p == nil {
			p = newPayload(ev)
		}
		select {
		case c.queue <- p:
		default:
			c.drops.Add()
		}
	}
}

// Dropped is the number of events dropped because a channel's queue was full.
func (n *Notifier) Dropped() int64 {
	var total int64
	for _, c := range n.channels {
		total += c.drops.Count()
	}
	return total
}

func (n *Notifier) loop(c *channel) {
	defer n.wg.Done()
	unsent := c.run(n.ctx, n.closing)
	c.drops.Flush()
	if unsent > 0 {
		// Sending was cut short at exit: say what was lost rather than lose it silently.
		c.log.WithField("discarded", unsent).Warnf("%d queued notifications discarded", unsent)
	}
}

// run sends the queued events one at a time until Drain finds the queue empty
// or Close cancels ctx. It returns how many events it did not send.
func (c *channel) run(ctx context.Context, closing <-chan struct{}) (unsent int) {
	for {
		var p *payload
		select {
		case p = <-c.queue:
		case <-closing:
			if len(c.queue) == 0 {
				return 0
			}
			p = <-c.queue // this goroutine is the queue's only reader: no wait
		}
		if ctx.Err() != nil || c.deliver(ctx, p) {
			return 1 + len(c.queue)
		}
	}
}

// deliver sends p and logs why it could not. It reports whether ctx cancelled
// the send midway; that event is then counted with the unsent rest, not logged
// as a failure of the endpoint.
func (c *channel) deliver(ctx context.Context, p *payload) (cancelled bool) {
	err := c.send(ctx, p)
	if err != nil && ctx.Err() != nil {
		return true
	}
	if err != nil {
		c.log.WithError(err).WithField("event", p.ev.Type).Warn("cannot send notification")
	}
	return false
}

// Drain stops taking events and returns at once, while the channels go on
// sending all they have queued, each send bounded only by its own timeouts and
// retries: a notifier replaced by a reload loses nothing as procmon runs on. A
// later Close still bounds what is left. Safe to call twice.
func (n *Notifier) Drain() {
	n.once.Do(func() {
		n.closed.Store(true)
		close(n.closing)
		go func() { n.wg.Wait(); close(n.done) }()
	})
}

// Drained is closed once a Drain has sent, or given up on, all that was queued.
func (n *Notifier) Drained() <-chan struct{} { return n.done }

// Close stops taking events and lets the channels send what is queued for
// drainWait at most, and not once ctx is done (the end of procmon's shutdown
// budget): procmon's exit waits for it. Then it cancels what is still being
// sent, logs each channel's discarded events and drops not yet reported, and
// returns once every goroutine has. Safe to call twice, and after Drain.
func (n *Notifier) Close(ctx context.Context) {
	n.Drain()
	ctx, cancel := context.WithTimeout(ctx, drainWait)
	defer cancel()
	select {
	case <-n.done:
	case <-ctx.Done():
	}
	n.cancel()
	<-n.done
}
