package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/tasks"
)

// call sends a request through hc and returns the status and the raw body.
func call(t *testing.T, hc *http.Client, method, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func unixHTTP(socket string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
}

func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e errorBody
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	return e.Error
}

func startFake(t *testing.T) (*fakeEngine, *http.Client) {
	eng := newFakeEngine()
	sock := socketPath(t)
	serve(t, Options{Engine: eng, Socket: sock})
	return eng, unixHTTP(sock)
}

func TestStatusOfAllTasksAndOfOne(t *testing.T) {
	_, hc := startFake(t)
	code, body := call(t, hc, "GET", "http://x/v1/tasks")
	require.Equal(t, 200, code, body)
	var all []Instance
	require.NoError(t, json.Unmarshal([]byte(body), &all))
	require.Len(t, all, 3)
	assert.Equal(t, Instance{Name: "idle", State: tasks.Stopped, ExitCode: all[2].ExitCode, Parents: []string{"web"}}, all[2])
	assert.Equal(t, 1, *all[2].ExitCode)
	assert.Equal(t, 2, all[1].Restarts)
	assert.NotNil(t, all[1].StartedAt)

	code, body = call(t, hc, "GET", "http://x/v1/tasks/web")
	require.Equal(t, 200, code, body)
	var web []Instance
	require.NoError(t, json.Unmarshal([]byte(body), &web))
	assert.Len(t, web, 2)

	code, body = call(t, hc, "GET", "http://x/v1/tasks/empty")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, "[]", body, "a task scaled to 0 exists, with no instances")

	code, body = call(t, hc, "GET", "http://x/v1/tasks/nosuch")
	assert.Equal(t, 404, code)
	assert.Equal(t, `unknown task "nosuch"`, errorOf(t, body))
}

// SPEC 4 fixes the keys: a client reads them as a schema, so one with no value
// is null, never left out.
func TestStatusHasEverySpecKeyNullWhenItHasNoValue(t *testing.T) {
	_, hc := startFake(t)
	code, body := call(t, hc, "GET", "http://x/v1/tasks")
	require.Equal(t, 200, code, body)
	var all []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &all))
	require.Len(t, all, 3)
	spec := []string{"name", "instance", "state", "pid", "ready", "restarts", "exit_code", "started_at", "parents"}
	for _, st := range all {
		for _, key := range spec {
			assert.Contains(t, st, key, "%s", body)
		}
	}
	idle := all[2]
	assert.Nil(t, idle["pid"], "no process: null, not 0")
	assert.Nil(t, idle["started_at"])
	assert.EqualValues(t, 1, idle["exit_code"])
	web := all[0]
	assert.EqualValues(t, 100, web["pid"])
	assert.NotNil(t, web["started_at"])
	assert.Nil(t, web["exit_code"])
}

func TestActionsMapEngineErrorsToStatuses(t *testing.T) {
	eng, hc := startFake(t)
	for _, c := range []struct {
		method, path string
		status       int
		err          string
	}{
		{"POST", "/v1/tasks/web/start", 200, ""},
		{"POST", "/v1/tasks/web/stop", 200, ""},
		{"POST", "/v1/tasks/web/restart", 200, ""},
		{"POST", "/v1/tasks/web/scale?instances=3", 200, ""},
		{"POST", "/v1/tasks/web/signal?signal=hup", 200, ""},
		{"POST", "/v1/tasks/web/signal?signal=9", 200, ""},
		{"POST", "/v1/tasks/nosuch/stop", 404, `unknown task "nosuch"`},
		{"POST", "/v1/tasks/idle/signal?signal=TERM", 409, "not possible in this state: idle has no running process"},
		{"POST", "/v1/tasks/web/scale?instances=-1", 400, `instances must be a whole number, 0 or more (got "-1")`},
		{"POST", "/v1/tasks/web/scale", 400, `instances must be a whole number, 0 or more (got "")`},
		{"POST", "/v1/tasks/web/signal?signal=HPU", 400, `unknown signal "HPU" (did you mean "HUP"?)`},
		{"GET", "/v1/tasks/web/start", 405, "method GET not allowed on /v1/tasks/web/start: use POST"},
		{"DELETE", "/v1/tasks", 405, "method DELETE not allowed on /v1/tasks: use GET"},
		{"POST", "/healthz", 405, "method POST not allowed on /healthz: use GET"},
		{"GET", "/v2/nothing", 404, "no such endpoint: /v2/nothing"},
	} {
		code, body := call(t, hc, c.method, "http://x"+c.path)
		assert.Equal(t, c.status, code, "%s %s: %s", c.method, c.path, body)
		if c.err != "" {
			assert.Equal(t, c.err, errorOf(t, body), "%s %s", c.method, c.path)
		}
	}
	assert.Equal(t, []string{"start web", "stop web", "restart web", "scale 3 web", "signal web 1", "signal web 9"}, eng.Calls())
}

func TestReloadErrorsAre422WithEveryProblem(t *testing.T) {
	eng := newFakeEngine()
	eng.reloadErr = config.Errors{
		{File: "procmon.toml", Line: 3, Key: "tasks.web.parent", Msg: `unknown parent "redsi"`},
		{File: "procmon.toml", Line: 9, Key: "tasks.db.command", Msg: "missing command"},
	}
	sock := socketPath(t)
	serve(t, Options{Engine: eng, Socket: sock})
	code, body := call(t, unixHTTP(sock), "POST", "http://x/v1/reload")
	assert.Equal(t, 422, code)
	assert.JSONEq(t, `{"error": "invalid configuration", "errors": [
		"procmon.toml:3: tasks.web.parent: unknown parent \"redsi\"",
		"procmon.toml:9: tasks.db.command: missing command"]}`, body)

	err := NewClient(sock).Reload(context.Background())
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 422, apiErr.Status)
	assert.Len(t, apiErr.Details, 2)
}

func TestMaintenanceConflictShutdownThenStopped(t *testing.T) {
	eng, hc := startFake(t)
	eng.maintErr = tasks.ErrConflict
	code, _ := call(t, hc, "POST", "http://x/v1/maintenance")
	assert.Equal(t, 409, code)
	code, _ = call(t, hc, "POST", "http://x/v1/shutdown")
	assert.Equal(t, 202, code)
	code, body := call(t, hc, "POST", "http://x/v1/tasks/web/start")
	assert.Equal(t, 503, code)
	assert.Equal(t, "procmon is shutting down", errorOf(t, body))
	code, _ = call(t, hc, "GET", "http://x/healthz")
	assert.Equal(t, 503, code)
}

func TestReadyz(t *testing.T) {
	eng, hc := startFake(t)
	code, body := call(t, hc, "GET", "http://x/readyz")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"ready": true}`, body)

	eng.mu.Lock()
	eng.notReady = []string{"db", "web"}
	eng.mu.Unlock()
	code, body = call(t, hc, "GET", "http://x/readyz")
	assert.Equal(t, 503, code)
	assert.JSONEq(t, `{"ready": false, "not_ready": ["db", "web"], "error": "not ready: db, web"}`, body)
}

func TestTokenGuardsTCPButNotProbesNorSocket(t *testing.T) {
	eng := newFakeEngine()
	sock := socketPath(t)
	s := serve(t, Options{Engine: eng, Socket: sock, HTTP: "127.0.0.1:0", Token: "s3cret"})
	base := "http://" + s.TCPAddr().String()
	hc := &http.Client{}
	for _, path := range []string{"/v1/tasks", "/metrics", "/v1/tasks/web/logs", "/nothing"} {
		code, body := call(t, hc, "GET", base+path)
		assert.Equal(t, 401, code, path)
		assert.Equal(t, "missing bearer token", errorOf(t, body))
		code, body = call(t, hc, "GET", base+path, "Authorization", "Bearer s3cre")
		assert.Equal(t, 401, code, path)
		assert.Equal(t, "wrong bearer token", errorOf(t, body))
	}
	code, _ := call(t, hc, "POST", base+"/v1/tasks/web/stop")
	assert.Equal(t, 401, code)
	code, _ = call(t, hc, "GET", base+"/v1/tasks", "Authorization", "Bearer s3cret")
	assert.Equal(t, 200, code)
	code, _ = call(t, hc, "GET", base+"/healthz")
	assert.Equal(t, 200, code)
	code, _ = call(t, hc, "GET", base+"/readyz")
	assert.Equal(t, 200, code)
	code, _ = call(t, unixHTTP(sock), "GET", "http://x/v1/tasks")
	assert.Equal(t, 200, code, "the socket's mode protects it, not a token")
	assert.Empty(t, eng.Calls(), "no unauthorized request reached the engine")
}

func TestMetricsNamesAndValues(t *testing.T) {
	eng := newFakeEngine()
	m := NewMetrics()
	one, zero := 1, 0
	for _, ev := range []tasks.Event{
		{Type: tasks.EvTaskStarted, Task: "web"},
		{Type: tasks.EvTaskExited, Task: "web", ExitCode: &one},
		{Type: tasks.EvTaskBackoff, Task: "web"},
		{Type: tasks.EvMonitorFailed, Task: "web", Monitor: "http"},
		{Type: tasks.EvMonitorFailed, Task: "web", Monitor: "http"},
		{Type: tasks.EvOrphanReaped},
		{Type: tasks.EvMaintenanceStarted, Time: time.Now().Add(-3 * time.Second)},
		{Type: tasks.EvMaintenanceFinished, Time: time.Now(), ExitCode: &zero},
	} {
		m.Observe(ev)
	}
	sock := socketPath(t)
	serve(t, Options{Engine: eng, Socket: sock, Metrics: m})
	code, body := call(t, unixHTTP(sock), "GET", "http://x/metrics")
	require.Equal(t, 200, code)
	for _, want := range []string{
		`procmon_task_up{task="web"} 2`,
		`procmon_task_up{task="idle"} 0`,
		`procmon_task_ready{task="web"} 2`,
		`procmon_task_up{task="empty"} 0`,
		`procmon_task_ready{task="empty"} 0`,
		`procmon_task_restarts_total{task="web"} 1`,
		`procmon_task_exits_total{code="1",task="web"} 1`,
		`procmon_monitor_failures_total{monitor="http",task="web"} 2`,
		`procmon_orphans_reaped_total 1`,
		`procmon_maintenance_runs_total{result="success"} 1`,
		`procmon_maintenance_duration_seconds_bucket{le="1"} 0`,
		`procmon_maintenance_duration_seconds_bucket{le="4"} 1`,
		`go_goroutines `,
		`process_open_fds `,
	} {
		assert.True(t, strings.Contains(body, want), "/metrics lacks %q", want)
	}
	assert.True(t, strings.HasPrefix(body, "# HELP"), body[:min(len(body), 200)])
}

func TestScaleIsBoundLikeTheInstancesKey(t *testing.T) {
	eng, hc := startFake(t)
	tooMany := `instances must be 1024 or less, as in the configuration file (got %s)`
	for _, c := range []struct {
		instances string
		status    int
		err       string
	}{
		{"1024", 200, ""},
		{"1025", 400, fmt.Sprintf(tooMany, "1025")},
		{"1000000", 400, fmt.Sprintf(tooMany, "1000000")},
		{"99999999999999999999", 400, fmt.Sprintf(tooMany, "99999999999999999999")},
		{"-99999999999999999999", 400, `instances must be a whole number, 0 or more (got "-99999999999999999999")`},
	} {
		code, body := call(t, hc, "POST", "http://x/v1/tasks/web/scale?instances="+c.instances)
		assert.Equal(t, c.status, code, "%s: %s", c.instances, body)
		if c.err != "" {
			assert.Equal(t, c.err, errorOf(t, body), c.instances)
		}
	}
	assert.Equal(t, []string{fmt.Sprintf("scale %d web", config.MaxInstances)}, eng.Calls(), "no refused scale reached the engine")
}

func TestTokenSchemeIsCaseInsensitiveAndErrorsSayWhatIsWrong(t *testing.T) {
	eng := newFakeEngine()
	s := serve(t, Options{Engine: eng, HTTP: "127.0.0.1:0", Token: "s3cret"})
	url := "http://" + s.TCPAddr().String() + "/v1/tasks"
	for _, c := range []struct {
		header string
		status int
		err    string
	}{
		{"Bearer s3cret", 200, ""},
		{"bearer s3cret", 200, ""},
		{"BEARER s3cret", 200, ""},
		{"Bearer   s3cret", 200, ""}, // RFC 7235: one or more spaces
		{"bearer s3cre", 401, "wrong bearer token"},
		{"Bearer s3cretX", 401, "wrong bearer token"},
		{"Bearer", 401, `no token after "Bearer"`},
		{"Basic czNjcmV0", 401, `wrong authorization scheme: use "Authorization: Bearer TOKEN"`},
		{"s3cret", 401, `wrong authorization scheme: use "Authorization: Bearer TOKEN"`},
	} {
		code, body := call(t, &http.Client{}, "GET", url, "Authorization", c.header)
		assert.Equal(t, c.status, code, "%q: %s", c.header, body)
		if c.err != "" {
			assert.Equal(t, c.err, errorOf(t, body), c.header)
		}
	}
}

// The client escapes a task name once: the server gets the name as written,
// whatever characters it holds.
func TestClientSendsTaskNamesAsWritten(t *testing.T) {
	eng := newFakeEngine()
	sock := socketPath(t)
	serve(t, Options{Engine: eng, Socket: sock})
	c := NewClient(sock)
	for _, name := range []string{"café", "a?b", "a#b", "x%2fy", "a b"} {
		err := c.Act(context.Background(), name, "stop")
		assert.ErrorContains(t, err, fmt.Sprintf("unknown task %q", name))
	}
	require.NoError(t, c.Act(context.Background(), "web", "stop"))
	assert.Equal(t, []string{"stop web"}, eng.Calls())
}

func TestActionsWaitWhenAsked(t *testing.T) {
	eng, hc := startFake(t)
	code, body := call(t, hc, "POST", "http://x/v1/tasks/web/stop?wait=1")
	require.Equal(t, 200, code, body)
	code, body = call(t, hc, "POST", "http://x/v1/tasks/web/restart")
	require.Equal(t, 200, code, body)
	assert.Equal(t, []string{"await stop web", "restart web"}, eng.Calls())
	code, body = call(t, hc, "POST", "http://x/v1/tasks/web/start?wait=soon")
	assert.Equal(t, 400, code, body)
	assert.Equal(t, `wait must be 1 or 0 (got "soon")`, errorOf(t, body))
}
