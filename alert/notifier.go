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
	"github.com/procmon/procmon/signals"
	"github.com/procmon/procmon/tasks"
)

const (
	queueSize = 100
	// drainWait is how long Close lets the channels send what is queued.
	drainWait = 2 * time.Second
	// dropLogEvery bounds how often a channel that drops events says so.
	dropLogEvery = 10 * time.Second
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
	closing  chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
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
	drops  atomic.Int64
	warned atomic.Int64 // UnixNano of the last drop warning
}

// New starts one goroutine per entry. An entry that cannot work (an exec entry
// without Deps.Start) still counts its events and logs why each send fails.
func New(entries []*config.Notify, deps Deps, log logrus.FieldLogger) *Notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{closing: make(chan struct{}), ctx: ctx, cancel: cancel}
	for i, e := range entries {
		c := &channel{
			events: map[string]bool{},
			send:   sender(e, deps),
			queue:  make(chan *payload, queueSize),
			log:    log.WithField("notify", fmt.Sprintf("%d (%s)", i, e.Type)),
		}
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
			c.dropped()
		}
	}
}

// Dropped is the number of events dropped because a channel's queue was full.
func (n *Notifier) Dropped() int64 {
	var total int64
	for _, c := range n.channels {
		total += c.drops.Load()
	}
	return total
}

func (c *channel) dropped() {
	total := c.drops.Add(1)
	now, last := time.Now().UnixNano(), c.warned.Load()
	if now-last >= int64(dropLogEvery) && c.warned.CompareAndSwap(last, now) {
		c.log.WithField("dropped", total).Warn("notify channel does not keep up: dropping events")
	}
}

func (n *Notifier) loop(c *channel) {
	defer n.wg.Done()
	for {
		select {
		case p := <-c.queue:
			c.deliver(n.ctx, p)
		case <-n.closing:
			for n.ctx.Err() == nil {
				select {
				case p := <-c.queue:
					c.deliver(n.ctx, p)
				default:
					return
				}
			}
			return
		}
	}
}

func (c *channel) deliver(ctx context.Context, p *payload) {
	if err := c.send(ctx, p); err != nil {
		c.log.WithError(err).WithField("event", p.ev.Type).Warn("cannot send notification")
	}
}

// Close lets the channels send what is queued for a short while, then cancels
// what is still being sent and returns once every goroutine has. Later events
// are ignored. Safe to call twice.
func (n *Notifier) Close() {
	n.once.Do(func() {
		n.closed.Store(true)
		close(n.closing)
		done := make(chan struct{})
		go func() { n.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(drainWait):
		}
		n.cancel()
		<-done
	})
}
