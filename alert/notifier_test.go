package alert

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/journal"
	"github.com/procmon/procmon/signals"
	"github.com/procmon/procmon/tasks"
)

// reaper is the test binary's single wait(2) caller, as procmon's is.
var reaper *signals.Reaper

func TestMain(m *testing.M) {
	reaper = signals.NewReaper(nil)
	signals.Listen(reaper)
	os.Exit(m.Run())
}

const wait = 10 * time.Second

func quietLog() (logrus.FieldLogger, *logtest.Hook) {
	l, hook := logtest.NewNullLogger()
	l.SetLevel(logrus.DebugLevel)
	return l, hook
}

func newNotifier(t *testing.T, deps Deps, entries ...*config.Notify) (*Notifier, *logtest.Hook) {
	t.Helper()
	log, hook := quietLog()
	n := New(entries, deps, log)
	t.Cleanup(func() { n.Close(context.Background()) })
	return n, hook
}

func fatal(task string) tasks.Event {
	code := 1
	return tasks.Event{Time: time.Now(), Type: tasks.EvTaskFatal, Task: task, Pid: 42, ExitCode: &code, Error: "gave up"}
}

// closedAddr is a TCP address where nothing listens.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestEmailIsSentWithSTARTTLSAndAuth(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	smtpd := newFakeSMTP(t, serverTLS)
	n, hook := newNotifier(t, Deps{TLSConfig: clientTLS}, &config.Notify{
		Type: "email", Events: []string{tasks.EvTaskFatal}, SMTP: smtpd.addr(),
		From: "procmon@example.com", To: []string{"ops@example.com", "dev@example.com"},
		Username: "user", Password: "secret",
	})
	n.Observe(tasks.Event{Type: tasks.EvTaskReady, Task: "web"}) // not listed: not sent
	n.Observe(fatal("web"))
	require.Eventually(t, func() bool { return len(smtpd.received()) == 1 }, wait, time.Millisecond, "%v", hook.AllEntries())

	m := smtpd.received()[0]
	assert.True(t, m.tls, "STARTTLS was offered, so it was used")
	assert.Equal(t, "\x00user\x00secret", m.auth)
	assert.Equal(t, "procmon@example.com", m.from)
	assert.Equal(t, []string{"ops@example.com", "dev@example.com"}, m.to)
	assert.Contains(t, m.data, "Subject: procmon: task_fatal web\n")
	assert.Contains(t, m.data, "task:      web\n")
	assert.Contains(t, m.data, "exit_code: 1\n")
	assert.Contains(t, m.data, "error:     gave up\n")
	var got map[string]any
	jsonLine := m.data[strings.LastIndex(strings.TrimSpace(m.data), "\n")+1:]
	require.NoError(t, json.Unmarshal([]byte(jsonLine), &got), "the body ends with the event as JSON: %q", jsonLine)
	assert.Equal(t, "task_fatal", got["type"])
	assert.Equal(t, "web", got["task"])
	assert.EqualValues(t, 1, got["exit_code"])
}

func TestEmailWithoutSTARTTLSRefusesToSendAPasswordInClear(t *testing.T) {
	// 127.0.0.2: loopback, but not one of the names net/smtp's PlainAuth trusts
	// with a password in clear (localhost, 127.0.0.1, ::1).
	smtpd := newFakeSMTPOn(t, "127.0.0.2", nil)
	e := &config.Notify{Type: "email", Events: []string{tasks.EvTaskFatal}, SMTP: smtpd.addr(),
		From: "a@example.com", To: []string{"b@example.com"}}
	n, _ := newNotifier(t, Deps{}, e)
	n.Observe(fatal("db"))
	require.Eventually(t, func() bool { return len(smtpd.received()) == 1 }, wait, time.Millisecond)
	assert.False(t, smtpd.received()[0].tls)

	e.Username, e.Password = "user", "secret"
	err := emailSender(e, nil)(t.Context(), newPayload(fatal("db")))
	require.ErrorContains(t, err, "auth")
	assert.Len(t, smtpd.received(), 1, "nothing was sent")
}

func TestWebhookPostsTheEventAndRetries(t *testing.T) {
	var mu sync.Mutex
	var tries int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	n, _ := newNotifier(t, Deps{}, &config.Notify{Type: "webhook", Events: []string{tasks.EvMonitorFailed}, URL: srv.URL})
	n.Observe(tasks.Event{Type: tasks.EvMonitorFailed, Task: "api", Instance: 2, Monitor: "health", Error: "timeout"})

	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return body != nil }, wait, time.Millisecond)
	var got map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, "monitor_failed", got["type"])
	assert.Equal(t, "api", got["task"])
	assert.EqualValues(t, 2, got["instance"])
	assert.Equal(t, "health", got["monitor"])
	assert.Equal(t, 2, tries, "the 503 was retried")
}

func TestExecGetsTheEventOnStdin(t *testing.T) {
	out := filepath.Join(t.TempDir(), "event.json")
	n, hook := newNotifier(t, Deps{Start: reaper.Start}, &config.Notify{
		Type: "exec", Events: []string{tasks.EvMaintenanceFinished},
		Command: []string{"sh", "-c", `cat > "$1.tmp" && echo "$PROCMON_EVENT" >> "$1.tmp" && mv "$1.tmp" "$1"`, "sh", out},
	})
	code := 0
	n.Observe(tasks.Event{Type: tasks.EvMaintenanceFinished, ExitCode: &code})
	require.Eventually(t, func() bool { _, err := os.Stat(out); return err == nil }, wait, time.Millisecond, "%v", hook.AllEntries())

	data, err := os.ReadFile(out)
	require.NoError(t, err)
	jsonPart, env, _ := strings.Cut(string(data), "}")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(jsonPart+"}"), &got))
	assert.Equal(t, "maintenance_finished", got["type"])
	assert.EqualValues(t, 0, got["exit_code"])
	assert.Equal(t, "maintenance_finished", strings.TrimSpace(env))
}

func TestExecFailureAndTimeoutAreLoggedNotFatal(t *testing.T) {
	n, hook := newNotifier(t, Deps{Start: reaper.Start},
		&config.Notify{Type: "exec", Events: []string{tasks.EvTaskFatal}, Command: []string{"sh", "-c", "exit 3"}})
	n.Observe(fatal("x"))
	require.Eventually(t, func() bool {
		e := hook.LastEntry()
		return e != nil && e.Message == "cannot send notification"
	}, wait, time.Millisecond)
	assert.Contains(t, hook.LastEntry().Data["error"].(error).Error(), "exit code 3")
}

func TestDeadEndpointsNeitherBlockNorPanic(t *testing.T) {
	dead := closedAddr(t)
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	events := []string{tasks.EvTaskExited}
	n, hook := newNotifier(t, Deps{},
		&config.Notify{Type: "email", Events: events, SMTP: dead, From: "a@b", To: []string{"c@d"}},
		&config.Notify{Type: "webhook", Events: events, URL: "http://" + dead + "/hook"},
		&config.Notify{Type: "webhook", Events: events, URL: slow.URL},
		&config.Notify{Type: "exec", Events: events, Command: []string{"true"}}, // no Deps.Start
	)
	start := time.Now()
	for i := 0; i < 1000; i++ {
		n.Observe(tasks.Event{Type: tasks.EvTaskExited, Task: "t", Pid: i})
	}
	assert.Less(t, time.Since(start), time.Second, "Observe never waits for a channel")
	assert.Greater(t, n.Dropped(), int64(0), "full queues drop and count")
	require.Eventually(t, func() bool {
		for _, e := range hook.AllEntries() {
			if e.Message == "notify channel does not keep up: dropping events" {
				return true
			}
		}
		return false
	}, wait, time.Millisecond)

	start = time.Now()
	n.Close(context.Background())
	assert.Less(t, time.Since(start), 5*time.Second, "Close drains briefly, then gives up")
	queued := func() (total int) {
		for _, c := range n.channels {
			total += len(c.queue)
		}
		return total
	}
	dropped, before := n.Dropped(), queued()
	n.Observe(tasks.Event{Type: tasks.EvTaskExited, Task: "t"}) // no sender is left to take it
	assert.Equal(t, dropped, n.Dropped(), "an event after Close is not counted as dropped")
	assert.Equal(t, before, queued(), "nor queued")
}

func TestCloseKillsAHangingExecCommand(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	n, _ := newNotifier(t, Deps{Start: reaper.Start}, &config.Notify{
		Type: "exec", Events: []string{tasks.EvTaskFatal},
		Command: []string{"sh", "-c", `echo $$ > "$1.tmp" && mv "$1.tmp" "$1" && exec sleep 1000`, "sh", pidFile},
	})
	n.Observe(fatal("x"))
	var pid int
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	}, wait, time.Millisecond)

	start := time.Now()
	n.Close(context.Background())
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.ErrorIs(t, unix.Kill(pid, 0), unix.ESRCH, "the command was killed and reaped")
}

func TestWebhookIsRetriedThreeTimes(t *testing.T) {
	for _, tc := range []struct{ status, tries int }{
		{http.StatusServiceUnavailable, 1 + 3},
		{http.StatusBadRequest, 1}, // a refusal: another try would not change it
	} {
		var tries atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			tries.Add(1)
			http.Error(w, "no", tc.status)
		}))
		err := webhookSender(srv.URL, nil)(t.Context(), newPayload(fatal("web")))
		srv.Close()
		assert.Error(t, err)
		assert.EqualValues(t, tc.tries, tries.Load(), "status %d", tc.status)
	}
}

// heldWebhook is an endpoint that holds every request until Release or until
// the client gives up.
type heldWebhook struct {
	*httptest.Server
	Release   func()
	release   chan struct{}
	arrived   atomic.Int32 // requests received
	answered  atomic.Int32 // requests answered after Release
	cancelled atomic.Bool  // a request was given up by the client
}

func newHeldWebhook(t *testing.T) *heldWebhook {
	h := &heldWebhook{release: make(chan struct{})}
	h.Release = sync.OnceFunc(func() { close(h.release) })
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	t.Cleanup(h.Release) // first: Close waits for the handlers
	return h
}

func (h *heldWebhook) serve(_ http.ResponseWriter, r *http.Request) {
	h.arrived.Add(1)
	// Read in full, the body lets the server watch the connection, so that
	// r.Context() ends when the client gives up.
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-h.release:
		h.answered.Add(1)
	case <-r.Context().Done():
		h.cancelled.Store(true)
	}
}

func logged(hook *logtest.Hook, msg string) (found []*logrus.Entry) {
	for _, e := range hook.AllEntries() {
		if e.Message == msg {
			found = append(found, e)
		}
	}
	return found
}

func TestDrainSendsEverythingQueuedHoweverLongItTakes(t *testing.T) {
	h := newHeldWebhook(t)
	n, hook := newNotifier(t, Deps{}, &config.Notify{Type: "webhook", Events: []string{tasks.EvTaskFatal}, URL: h.URL})
	for range 5 {
		n.Observe(fatal("web"))
	}
	start := time.Now()
	n.Drain()
	assert.Less(t, time.Since(start), time.Second, "Drain does not wait for the sending")
	n.Observe(fatal("late")) // a replaced notifier takes no more events

	require.Eventually(t, func() bool { return h.arrived.Load() == 1 }, wait, time.Millisecond)
	assert.Never(t, h.cancelled.Load, drainWait+time.Second, 10*time.Millisecond,
		"a draining notifier is not cut short after Close's bound")
	h.Release()
	require.Eventually(t, func() bool { return h.answered.Load() == 5 }, wait, time.Millisecond, "%v", hook.AllEntries())
	n.Close(context.Background())
	assert.Empty(t, hook.AllEntries(), "nothing failed, nothing was discarded")
	assert.EqualValues(t, 5, h.arrived.Load(), "the late event was not taken")
}

func TestCloseLogsWhatItDiscards(t *testing.T) {
	h := newHeldWebhook(t)
	n, hook := newNotifier(t, Deps{}, &config.Notify{Type: "webhook", Events: []string{tasks.EvTaskFatal}, URL: h.URL})
	for range 6 {
		n.Observe(fatal("web"))
	}
	require.Eventually(t, func() bool { return h.arrived.Load() == 1 }, wait, time.Millisecond)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	n.Close(ctx)
	assert.Less(t, time.Since(start), drainWait, "the deadline comes before drainWait")
	discarded := logged(hook, "6 queued notifications discarded")
	require.Len(t, discarded, 1, "the one being sent and the 5 queued: %v", hook.AllEntries())
	assert.EqualValues(t, 6, discarded[0].Data["discarded"])
	assert.Empty(t, logged(hook, "cannot send notification"), "cut short by Close: not a failure of the endpoint")
}

// dropBurst fills the queue of n's only channel, held by h, then drops 499 events.
func dropBurst(t *testing.T, n *Notifier, h *heldWebhook) {
	n.Observe(fatal("web"))
	require.Eventually(t, func() bool { return h.arrived.Load() == 1 }, wait, time.Millisecond)
	for range queueSize + 499 {
		n.Observe(fatal("web"))
	}
	require.EqualValues(t, 499, n.Dropped())
}

func TestADropBurstIsLoggedInTotal(t *testing.T) {
	const msg = "notify channel does not keep up: dropping events"
	t.Run("at the end of the window", func(t *testing.T) {
		h := newHeldWebhook(t)
		n, hook := newNotifier(t, Deps{}, &config.Notify{Type: "webhook", Events: []string{tasks.EvTaskFatal}, URL: h.URL})
		n.channels[0].drops.Every = 20 * time.Millisecond
		dropBurst(t, n, h)
		// On a slow machine the burst may span windows: each logs the total so far.
		last := func() any {
			entries := logged(hook, msg)
			if len(entries) == 0 {
				return nil
			}
			return entries[len(entries)-1].Data["dropped"]
		}
		require.Eventually(t, func() bool { return last() == int64(499) }, wait, time.Millisecond, "the burst's total is logged")
		assert.EqualValues(t, 1, logged(hook, msg)[0].Data["dropped"], "the first drop is logged at once")
		n.Close(expired())
	})
	t.Run("at close", func(t *testing.T) {
		h := newHeldWebhook(t)
		n, hook := newNotifier(t, Deps{}, &config.Notify{Type: "webhook", Events: []string{tasks.EvTaskFatal}, URL: h.URL})
		dropBurst(t, n, h)
		n.Close(expired())
		entries := logged(hook, msg)
		require.NotEmpty(t, entries)
		assert.EqualValues(t, 499, entries[len(entries)-1].Data["dropped"])
	})
}

// expired is a context whose deadline has passed.
func expired() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now())
	cancel()
	return ctx
}

// An alert is the journal's line for the same event, plus the host: procmon's
// own events carry no instance there, so none here either.
func TestAlertsCarryTheEventAsTheJournalHasIt(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string]map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var got map[string]any
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		mu.Lock()
		defer mu.Unlock()
		bodies[got["type"].(string)] = got
	}))
	defer srv.Close()
	code, failed := 0, 4
	events := []tasks.Event{
		{Type: tasks.EvProcmonStarted},
		{Type: tasks.EvReload},
		{Type: tasks.EvMaintenanceFinished, ExitCode: &failed, Delay: "1.205s"},
		{Type: tasks.EvTaskExited, Task: "web", Instance: 0, Pid: 4242, ExitCode: &code},
	}
	var types []string
	for i := range events {
		events[i].Time = time.Now()
		types = append(types, events[i].Type)
	}
	n, hook := newNotifier(t, Deps{}, &config.Notify{Type: "webhook", Events: types, URL: srv.URL})
	path := filepath.Join(t.TempDir(), "journal")
	log, _ := quietLog()
	j, err := journal.Open(path, log)
	require.NoError(t, err)
	for _, ev := range events {
		n.Observe(ev)
		j.Observe(ev)
	}
	require.NoError(t, j.Close())
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(bodies) == len(events) },
		wait, time.Millisecond, "%v", hook.AllEntries())

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, len(events))
	mu.Lock()
	defer mu.Unlock()
	for _, line := range lines {
		var want map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &want))
		got := bodies[want["type"].(string)]
		if hostname != "" {
			assert.Equal(t, hostname, got["host"])
		}
		delete(got, "host")
		assert.Equal(t, want, got, "the %s alert and journal line differ", want["type"])
	}
	assert.NotContains(t, bodies[tasks.EvMaintenanceFinished], "instance", "procmon's own events have no instance")
	assert.EqualValues(t, 0, bodies[tasks.EvTaskExited]["instance"], "instance 0 of a task is kept")
}
