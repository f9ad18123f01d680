package telemetry

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/tasks"
)

// batchEvent is one element of a libhoney batch POST.
type batchEvent struct {
	Data       map[string]any `json:"data"`
	Time       time.Time      `json:"time"`
	SampleRate uint           `json:"samplerate"`
}

// fakeHoneycomb is a stand-in for api.honeycomb.io that records every event.
type fakeHoneycomb struct {
	*httptest.Server
	mu     sync.Mutex
	events []batchEvent
	errs   []string
}

func newFakeHoneycomb(t *testing.T) *fakeHoneycomb {
	f := &fakeHoneycomb{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeHoneycomb) fail(msg string, w http.ResponseWriter) {
	f.mu.Lock()
	f.errs = append(f.errs, msg)
	f.mu.Unlock()
	http.Error(w, msg, http.StatusBadRequest)
}

func (f *fakeHoneycomb) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/1/batch/procmon-test" || r.Header.Get("X-Honeycomb-Team") != "test-key" {
		f.fail("unexpected "+r.URL.Path+" with key "+r.Header.Get("X-Honeycomb-Team"), w)
		return
	}
	body, err := decompress(r)
	if err != nil {
		f.fail(err.Error(), w)
		return
	}
	var batch []batchEvent
	if err := json.NewDecoder(body).Decode(&batch); err != nil {
		f.fail("decode: "+err.Error(), w)
		return
	}
	f.mu.Lock()
	f.events = append(f.events, batch...)
	f.mu.Unlock()
	statuses := make([]map[string]int, len(batch))
	for i := range statuses {
		statuses[i] = map[string]int{"status": http.StatusAccepted}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(statuses)
}

func decompress(r *http.Request) (io.Reader, error) {
	switch r.Header.Get("Content-Encoding") {
	case "zstd":
		return zstd.NewReader(r.Body)
	case "gzip":
		return gzip.NewReader(r.Body)
	}
	return r.Body, nil
}

func (f *fakeHoneycomb) received() ([]batchEvent, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]batchEvent(nil), f.events...), append([]string(nil), f.errs...)
}

func newTracer(t *testing.T, apiHost string) *Tracer {
	t.Helper()
	log, _ := logtest.NewNullLogger()
	tr, err := New(config.Honeycomb{APIKey: "test-key", Dataset: "procmon-test", APIHost: apiHost, SampleRate: 1}, log)
	require.NoError(t, err)
	return tr
}

func intp(n int) *int { return &n }

func TestTracerSendsOneTraceOfSpans(t *testing.T) {
	hc := newFakeHoneycomb(t)
	tr := newTracer(t, hc.URL)
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, ev := range []tasks.Event{
		{Time: at(0), Type: tasks.EvProcmonStarted},
		{Time: at(10), Type: tasks.EvTaskStarted, Task: "web", Pid: 100},
		{Time: at(260), Type: tasks.EvTaskReady, Task: "web"},
		{Time: at(300), Type: tasks.EvMonitorFailed, Task: "web", Monitor: "http", Error: "status 503"},
		{Time: at(310), Type: tasks.EvOrphanReaped, Pid: 7}, // not traced
		{Time: at(1010), Type: tasks.EvTaskExited, Task: "web", Pid: 100, ExitCode: intp(1)},
		{Time: at(1100), Type: tasks.EvTaskStarted, Task: "web", Pid: 101},
		{Time: at(1200), Type: tasks.EvMaintenanceStarted},
		{Time: at(1300), Type: tasks.EvTaskExited, Task: "web", Pid: 101, Signal: "SIGTERM"},
		{Time: at(1700), Type: tasks.EvMaintenanceFinished, ExitCode: intp(0)},
		{Time: at(2000), Type: tasks.EvProcmonStopped, ExitCode: intp(0)},
	} {
		tr.Observe(ev)
	}
	tr.Close(context.Background())
	tr.Close(context.Background())

	events, errs := hc.received()
	require.Empty(t, errs)
	byName := map[string][]map[string]any{}
	for _, e := range events {
		d := e.Data
		name, _ := d["name"].(string)
		byName[name] = append(byName[name], d)
		assert.Equal(t, tr.traceID, d["trace.trace_id"], "one trace: %v", d)
		assert.Equal(t, "procmon", d["service.name"])
	}
	require.Len(t, byName["procmon"], 1)
	require.Len(t, byName["task.run"], 2)
	require.Len(t, byName["task.readiness"], 2)
	require.Len(t, byName["maintenance"], 1)
	require.Len(t, byName["monitor_failed"], 1)
	assert.Len(t, events, 7)

	root := byName["procmon"][0]
	assert.NotContains(t, root, "trace.parent_id")
	assert.EqualValues(t, 2000, root["duration_ms"])
	assert.EqualValues(t, 0, root["exit_code"])

	first, second := byName["task.run"][0], byName["task.run"][1]
	if first["pid"] != float64(100) {
		first, second = second, first
	}
	assert.Equal(t, root["trace.span_id"], first["trace.parent_id"])
	assert.Equal(t, "web", first["task"])
	assert.EqualValues(t, 0, first["instance"])
	assert.EqualValues(t, 1000, first["duration_ms"])
	assert.EqualValues(t, 1, first["exit_code"])
	assert.EqualValues(t, 0, first["restarts"])
	assert.Equal(t, "SIGTERM", second["signal"])
	assert.EqualValues(t, 1, second["restarts"])
	assert.NotEqual(t, first["trace.span_id"], second["trace.span_id"])

	for _, rd := range byName["task.readiness"] {
		if rd["pid"] == float64(100) {
			assert.Equal(t, first["trace.span_id"], rd["trace.parent_id"])
			assert.EqualValues(t, 250, rd["duration_ms"])
			assert.Equal(t, true, rd["ready"])
		} else {
			assert.Equal(t, second["trace.span_id"], rd["trace.parent_id"])
			assert.Equal(t, false, rd["ready"], "the second run exited before it was ready")
		}
	}

	failure := byName["monitor_failed"][0]
	assert.Equal(t, "span_event", failure["meta.annotation_type"])
	assert.Equal(t, first["trace.span_id"], failure["trace.parent_id"])
	assert.Equal(t, "http", failure["monitor"])
	assert.Equal(t, "status 503", failure["error"])

	maint := byName["maintenance"][0]
	assert.Equal(t, root["trace.span_id"], maint["trace.parent_id"])
	assert.EqualValues(t, 500, maint["duration_ms"])
	assert.EqualValues(t, 0, maint["exit_code"])

	for _, e := range events {
		if e.Data["trace.span_id"] == first["trace.span_id"] {
			assert.True(t, e.Time.Equal(at(10)), "a span's timestamp is its start: %v", e.Time)
		}
	}
}

func TestTracerCloseEndsOpenSpans(t *testing.T) {
	hc := newFakeHoneycomb(t)
	tr := newTracer(t, hc.URL)
	tr.Observe(tasks.Event{Type: tasks.EvProcmonStarted})
	tr.Observe(tasks.Event{Type: tasks.EvTaskStarted, Task: "db", Pid: 5})
	tr.Close(context.Background())
	tr.Observe(tasks.Event{Type: tasks.EvTaskExited, Task: "db", Pid: 5}) // after Close: ignored

	events, errs := hc.received()
	require.Empty(t, errs)
	names := map[string]map[string]any{}
	for _, e := range events {
		names[e.Data["name"].(string)] = e.Data
	}
	assert.Len(t, events, 3)
	assert.Equal(t, true, names["task.run"]["unfinished"])
	assert.Equal(t, false, names["task.readiness"]["ready"])
	assert.Contains(t, names, "procmon")
}

func TestTracerWithoutAPIKeyIsANoOp(t *testing.T) {
	log, _ := logtest.NewNullLogger()
	tr, err := New(config.Honeycomb{Dataset: "procmon"}, log)
	require.NoError(t, err)
	// No client: nothing to send with, and none of libhoney's goroutines. (A
	// count of goroutines would also see those of earlier tests winding down.)
	assert.Nil(t, tr.client)
	tr.Observe(tasks.Event{Type: tasks.EvProcmonStarted})
	tr.Observe(tasks.Event{Type: tasks.EvTaskStarted, Task: "x", Pid: 1})
	tr.Close(context.Background())
	assert.Nil(t, tr.runs, "nothing was recorded")
	var nilTracer *Tracer
	nilTracer.Observe(tasks.Event{Type: tasks.EvProcmonStopped})
	nilTracer.Close(context.Background())
}

func TestTracerNeverBlocksOnAnUnreachableHoneycomb(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	tr, err := New(config.Honeycomb{APIKey: "k", Dataset: "d", APIHost: url}, log)
	require.NoError(t, err)
	start := time.Now()
	for n := 0; n < 5000; n++ {
		tr.Observe(tasks.Event{Type: tasks.EvTaskStarted, Task: "t", Pid: n})
	}
	tr.Observe(tasks.Event{Type: tasks.EvProcmonStopped})
	assert.Less(t, time.Since(start), 2*time.Second)
	tr.Close(context.Background())
	assert.Less(t, time.Since(start), 10*time.Second)
	require.Eventually(t, func() bool {
		for _, e := range hook.AllEntries() {
			if e.Message == "honeycomb: cannot send spans" {
				return true
			}
		}
		return false
	}, 10*time.Second, time.Millisecond)
}

// procmon's shutdown budget bounds the wait for the last spans.
func TestCloseStopsWaitingAtTheDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	log, hook := logtest.NewNullLogger()
	tr, err := New(config.Honeycomb{APIKey: "k", Dataset: "d", APIHost: srv.URL}, log)
	require.NoError(t, err)
	tr.Observe(tasks.Event{Type: tasks.EvProcmonStarted})
	began := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), began.Add(100*time.Millisecond))
	defer cancel()
	tr.Close(ctx)
	assert.Less(t, time.Since(began), closeWait/2)
	assert.Equal(t, "honeycomb: the last spans were not sent in time", hook.LastEntry().Message)
}
