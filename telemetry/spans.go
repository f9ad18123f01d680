package telemetry

import (
	crand "crypto/rand"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"time"

	"github.com/procmon/procmon/tasks"
)

// span is an open span. sampleRate 0 means sampling dropped it: it is tracked
// (its children need its decision) but never sent.
type span struct {
	id, parent, name string
	start            time.Time
	sampleRate       uint
	fields           map[string]any
}

func (t *Tracer) newSpan(name, parent string, start time.Time, sampleRate uint) *span {
	s := &span{id: randomID(8), parent: parent, name: name, start: start, sampleRate: sampleRate, fields: map[string]any{}}
	if parent == "" {
		s.fields["procmon.pid"] = os.Getpid()
	}
	return s
}

// sampled decides for one process run, with its readiness span and monitor
// failures, so that a sampled trace never holds half a run. The root and
// maintenance spans are few and always kept.
func (t *Tracer) sampled() uint {
	if t.sampleRate <= 1 || rand.UintN(t.sampleRate) == 0 {
		return t.sampleRate
	}
	return 0
}

func (t *Tracer) startRun(ev tasks.Event, at time.Time) {
	key := instanceKey{ev.Task, ev.Instance}
	if old := t.runs[key]; old != nil { // its exit never came: do not leave it open
		t.closeRun(old, at, map[string]any{"unfinished": true})
	}
	rate := t.sampled()
	r := &run{span: t.newSpan("task.run", t.root.id, at, rate)}
	r.span.fields["restarts"] = t.restarts[key]
	t.restarts[key]++
	r.readiness = t.newSpan("task.readiness", r.span.id, at, rate)
	for _, s := range []*span{r.span, r.readiness} {
		s.fields["task"], s.fields["instance"], s.fields["pid"] = ev.Task, ev.Instance, ev.Pid
	}
	t.runs[key] = r
}

func (t *Tracer) ready(ev tasks.Event, at time.Time) {
	r := t.runs[instanceKey{ev.Task, ev.Instance}]
	if r == nil || r.readiness == nil {
		return
	}
	r.readiness.fields["ready"] = true
	t.send(r.readiness, at)
	r.readiness = nil
}

func (t *Tracer) endRun(ev tasks.Event, at time.Time) {
	key := instanceKey{ev.Task, ev.Instance}
	r := t.runs[key]
	if r == nil {
		return
	}
	delete(t.runs, key)
	end := map[string]any{}
	if ev.ExitCode != nil {
		end["exit_code"] = *ev.ExitCode
	}
	if ev.Signal != "" {
		end["signal"] = ev.Signal
	}
	if ev.Error != "" {
		end["error"] = ev.Error
	}
	t.closeRun(r, at, end)
}

// closeRun sends a run's span, and its readiness span if it never became ready.
func (t *Tracer) closeRun(r *run, at time.Time, fields map[string]any) {
	if r.readiness != nil {
		r.readiness.fields["ready"] = false
		t.send(r.readiness, at)
	}
	for k, v := range fields {
		r.span.fields[k] = v
	}
	t.send(r.span, at)
}

func (t *Tracer) monitorFailed(ev tasks.Event, at time.Time) {
	parent := t.root
	if r := t.runs[instanceKey{ev.Task, ev.Instance}]; r != nil {
		parent = r.span
	}
	t.spanEvent(parent, ev, at)
}

func (t *Tracer) endMaintenance(ev tasks.Event, at time.Time) {
	if t.maint == nil {
		return
	}
	if ev.ExitCode != nil {
		t.maint.fields["exit_code"] = *ev.ExitCode
	}
	if ev.Error != "" {
		t.maint.fields["error"] = ev.Error
	}
	t.send(t.maint, at)
	t.maint = nil
}

// spanEvent sends ev as a Honeycomb span event: a point in time inside parent.
func (t *Tracer) spanEvent(parent *span, ev tasks.Event, at time.Time) {
	if parent.sampleRate == 0 {
		return
	}
	e := &span{parent: parent.id, name: ev.Type, start: at, sampleRate: parent.sampleRate, fields: map[string]any{
		"meta.annotation_type": "span_event",
	}}
	for k, v := range map[string]string{"task": ev.Task, "monitor": ev.Monitor, "error": ev.Error, "signal": ev.Signal, "delay": ev.Delay} {
		if v != "" {
			e.fields[k] = v
		}
	}
	if ev.Task != "" {
		e.fields["instance"] = ev.Instance
	}
	if len(ev.Tasks) > 0 {
		e.fields["tasks"] = ev.Tasks
	}
	t.send(e, at)
}

// send hands a finished span to libhoney, which never blocks: when its queue is
// full the span is dropped and the failure shows in watchResponses.
func (t *Tracer) send(s *span, end time.Time) {
	if s.sampleRate == 0 {
		return
	}
	ev := t.client.NewEvent()
	ev.Timestamp = s.start
	ev.SampleRate = s.sampleRate
	ev.AddField("trace.trace_id", t.traceID)
	if s.id != "" {
		ev.AddField("trace.span_id", s.id)
	}
	if s.parent != "" {
		ev.AddField("trace.parent_id", s.parent)
	}
	ev.AddField("name", s.name)
	ev.AddField("service.name", "procmon")
	ev.AddField("duration_ms", float64(end.Sub(s.start).Microseconds())/1000)
	ev.AddFields(s.fields)
	_ = ev.SendPresampled() // errors come back through the responses channel
}

// randomID returns n random bytes in hex: 16 for a trace id, 8 for a span id,
// the sizes of W3C trace context.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b) // never fails on Linux (Go 1.24+ panics instead)
	return hex.EncodeToString(b)
}
