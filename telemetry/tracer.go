// Package telemetry sends each procmon run to Honeycomb as one trace: a span for
// the run, one for every process run and maintenance cycle, and readiness and
// monitor failures inside them.
package telemetry

import (
	"context"
	"sync"
	"time"

	"github.com/honeycombio/libhoney-go"
	"github.com/honeycombio/libhoney-go/transmission"
	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/tasks"
)

const (
	// sendTimeout bounds one batch POST; libhoney retries a timeout once.
	sendTimeout = 5 * time.Second
	// closeWait bounds how long Close waits for the last batches.
	closeWait = 5 * time.Second
	// failureLogEvery bounds how often failed sends are logged.
	failureLogEvery = time.Minute
)

// rootEvents are recorded as span events of the root span: they concern the run
// as a whole, or a task between its process runs.
var rootEvents = map[string]bool{
	tasks.EvTaskBackoff: true, tasks.EvTaskFatal: true, tasks.EvSubtreeStopped: true,
	tasks.EvReload: true, tasks.EvShutdownStarted: true, tasks.EvStartFailed: true,
}

// Tracer is a tasks.Observer that turns events into spans. A Tracer made
// without an API key does nothing and costs nothing. Observe and Close may be
// called from different goroutines; sending is asynchronous (libhoney batches in
// the background and drops rather than blocks when its queue is full).
type Tracer struct {
	client     *libhoney.Client // nil: tracing is off
	log        logrus.FieldLogger
	sampleRate uint

	mu       sync.Mutex
	traceID  string
	root     *span
	runs     map[instanceKey]*run
	restarts map[instanceKey]int
	maint    *span
	closing  bool
	flushed  chan struct{} // closed once the last batch is sent (or given up)
}

type instanceKey struct {
	task     string
	instance int
}

// run is one process run of a task instance and, until it is ready, its
// readiness span.
type run struct {
	span      *span
	readiness *span
}

// New returns a Tracer sending to cfg's dataset, or a no-op one when
// cfg.APIKey is empty.
func New(cfg config.Honeycomb, log logrus.FieldLogger) (*Tracer, error) {
	t := &Tracer{log: log}
	if cfg.APIKey == "" {
		return t, nil
	}
	client, err := libhoney.NewClient(libhoney.ClientConfig{
		APIKey:     cfg.APIKey,
		Dataset:    cfg.Dataset,
		APIHost:    cfg.APIHost,
		SampleRate: 1, // sampled here, by process run: see sampled
		Transmission: &transmission.Honeycomb{
			MaxBatchSize:         libhoney.DefaultMaxBatchSize,
			BatchTimeout:         libhoney.DefaultBatchTimeout,
			BatchSendTimeout:     sendTimeout,
			MaxConcurrentBatches: 10,
			PendingWorkCapacity:  1000,
			UserAgentAddition:    "procmon",
		},
	})
	if err != nil {
		return nil, err
	}
	t.client, t.sampleRate = client, max(cfg.SampleRate, 1)
	t.traceID = randomID(16)
	t.root = t.newSpan("procmon", "", time.Now(), 1)
	t.runs, t.restarts = map[instanceKey]*run{}, map[instanceKey]int{}
	t.flushed = make(chan struct{})
	go t.watchResponses(client.TxResponses())
	return t, nil
}

// Observe records ev. procmon_stopped ends the trace and starts sending what is
// left; Close waits for that.
func (t *Tracer) Observe(ev tasks.Event) {
	if t == nil || t.client == nil {
		return
	}
	at := ev.Time
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return
	}
	switch ev.Type {
	case tasks.EvProcmonStarted:
		t.root.start = at
	case tasks.EvTaskStarted:
		t.startRun(ev, at)
	case tasks.EvTaskReady:
		t.ready(ev, at)
	case tasks.EvTaskExited:
		t.endRun(ev, at)
	case tasks.EvMonitorFailed:
		t.monitorFailed(ev, at)
	case tasks.EvMaintenanceStarted:
		t.maint = t.newSpan("maintenance", t.root.id, at, 1)
	case tasks.EvMaintenanceFinished:
		t.endMaintenance(ev, at)
	case tasks.EvProcmonStopped:
		if ev.ExitCode != nil {
			t.root.fields["exit_code"] = *ev.ExitCode
		}
		t.finish(at)
	default:
		if rootEvents[ev.Type] {
			t.spanEvent(t.root, ev, at)
		}
	}
}

// Close ends the trace if procmon_stopped has not, and waits for the last spans
// to be sent: a few seconds at most, and not once ctx is done (the end of
// procmon's shutdown budget). Safe to call twice.
func (t *Tracer) Close(ctx context.Context) {
	if t == nil || t.client == nil {
		return
	}
	t.mu.Lock()
	t.finish(time.Now())
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, closeWait)
	defer cancel()
	select {
	case <-t.flushed:
	case <-ctx.Done():
		t.log.Warn("honeycomb: the last spans were not sent in time")
	}
}

// finish ends every open span, the root last, and flushes in the background so
// that the supervisor never waits for the network. The caller holds mu.
func (t *Tracer) finish(at time.Time) {
	if t.closing {
		return
	}
	t.closing = true
	for key, r := range t.runs {
		t.closeRun(r, at, map[string]any{"unfinished": true})
		delete(t.runs, key)
	}
	if t.maint != nil {
		t.maint.fields["unfinished"] = true
		t.send(t.maint, at)
	}
	t.send(t.root, at)
	go func() {
		t.client.Close() // flushes, then waits for the batches in flight
		close(t.flushed)
	}()
}

// watchResponses logs failed sends, rate-limited: an unreachable Honeycomb must
// not fill procmon's log. It ends when Close closes the channel.
func (t *Tracer) watchResponses(responses chan transmission.Response) {
	var failed int
	var last time.Time
	for r := range responses {
		if r.Err == nil && r.StatusCode < 300 {
			continue
		}
		failed++
		if time.Since(last) < failureLogEvery {
			continue
		}
		last = time.Now()
		entry := t.log.WithField("failed", failed).WithField("status", r.StatusCode)
		if r.Err != nil {
			entry = entry.WithError(r.Err)
		}
		entry.Warn("honeycomb: cannot send spans")
	}
}
