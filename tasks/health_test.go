package tasks

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadinessGatesChildren(t *testing.T) {
	addr := freePort()
	h := start(t, fmt.Sprintf(`
[monitors.listening]
type = "port_in_use"
address = %q
interval = "50ms"

[tasks.server]
command = ["sh", "-c", "sleep 0.2; exec \"$0\" \"$@\"", %q, %q]
env = { %s = "listen" }
ready = "listening"

[tasks.client]
parent = "server"
command = ["sleep", "1000"]
`, addr, testBinary(), addr, helperEnv))
	h.rec.waitFor(t, is(EvTaskReady, "client"))
	events, _ := h.rec.snapshot()
	assert.Less(t, indexOf(t, events, EvTaskReady, "server", 0), indexOf(t, events, EvTaskStarted, "client", 0))
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err, "the server was ready only once its port accepted connections")
	conn.Close()
}

func TestLivenessFailureRestartsTheSubtree(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	h := start(t, fmt.Sprintf(`
[monitors.health]
type = "http"
url = "%s/health"
interval = "20ms"

[monitors.flaky]
type = "retry"
monitor = "health"
retries = 1

[tasks.api]
command = ["sleep", "1000"]
monitors = "flaky"
restart_delay = "0s"

[tasks.web]
parent = "api"
command = ["sleep", "1000"]
`, srv.URL))
	h.rec.waitFor(t, is(EvTaskReady, "web"))
	api, web := h.pid("api", 0), h.pid("web", 0)
	healthy.Store(false)
	failed := h.rec.waitFor(t, is(EvMonitorFailed, "api"))
	healthy.Store(true)
	assert.Equal(t, "flaky", failed.Monitor)
	assert.Contains(t, failed.Error, "500")
	h.rec.waitN(t, 2, 10*time.Second, is(EvTaskReady, "web"))
	waitGone(t, api, web)
	assert.Equal(t, 1, h.instance("api", 0).Restarts, "a liveness failure counts as a restart")
	exited := h.rec.waitFor(t, is(EvTaskExited, "api"))
	assert.Equal(t, "SIGTERM", exited.Signal, "stopped with its stop signal")
}

func TestWaitForHoldsTheSpawnUntilThePortIsFree(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := start(t, fmt.Sprintf(`
[monitors.free]
type = "port_available"
address = %q
interval = "20ms"

[tasks.server]
command = ["sleep", "1000"]
wait_for = "free"
`, held.Addr().String()))
	h.waitState("server", 0, Starting)
	assert.Equal(t, 0, h.rec.count(is(EvTaskStarted, "server")), "no spawn while the port is taken")
	held.Close()
	h.rec.waitFor(t, is(EvTaskReady, "server"))
}

// In ready, a retry has nothing to tolerate (a failure there stops nothing):
// the reason of its wrapped check's failures reaches the timeout's message.
func TestReadyTimeoutNamesTheFailureARetryWraps(t *testing.T) {
	h := start(t, fmt.Sprintf(`
[monitors.closed]
type = "port_in_use"
address = %q
interval = "10ms"

[monitors.patient]
type = "retry"
monitor = "closed"
retries = 1000

[tasks.slow]
command = ["sleep", "1000"]
ready = "patient"
ready_timeout = "300ms"
start_retries = 0
`, freePort()))
	assert.Equal(t, 1, h.wait())
	failed := h.rec.waitFor(t, is(EvMonitorFailed, "slow"))
	assert.Regexp(t, `^not ready within ready_timeout \(300ms\); last check: patient: closed: dial tcp .*: connection refused$`, failed.Error)
	assert.NotContains(t, h.log.String(), "below the retry threshold", "no warning for each poll of a readiness check")
	assert.Equal(t, 1, strings.Count(h.log.String(), `level=info msg="not ready yet"`),
		"the failure is told once while its reason stays the same:\n%s", h.log.String())
}

func TestReadyTimeoutIsAFailedStart(t *testing.T) {
	h := start(t, fmt.Sprintf(`
[monitors.never]
type = "port_in_use"
address = %q
interval = "10ms"

[tasks.slow]
command = ["sleep", "1000"]
ready = "never"
ready_timeout = "500ms"
start_retries = 0
`, freePort()))
	assert.Equal(t, 1, h.wait())
	failed := h.rec.waitFor(t, is(EvMonitorFailed, "slow"))
	assert.Equal(t, "never", failed.Monitor, "the monitor that held the task back")
	assert.Regexp(t, `^not ready within ready_timeout \(500ms\); last check: never: dial tcp .*: connection refused$`, failed.Error)
	fatal := h.rec.waitFor(t, is(EvTaskFatal, "slow"))
	assert.Equal(t, "1 failed start(s), last: "+failed.Error, fatal.Error, "procmon's SIGTERM is not the cause")
	assert.Equal(t, "SIGTERM", h.rec.waitFor(t, is(EvTaskExited, "slow")).Signal)
}

// A wait_for that times out says which monitor held the spawn back, and why.
func TestWaitForTimeoutNamesTheMonitor(t *testing.T) {
	h := start(t, fmt.Sprintf(`
[monitors.passes]
type = "port_available"
address = %q

[monitors.db]
type = "port_in_use"
address = %q
interval = "10ms"

[tasks.app]
command = ["sleep", "1000"]
wait_for = ["passes", "db"]
ready_timeout = "500ms"
start_retries = 0
`, freePort(), freePort()))
	assert.Equal(t, 1, h.wait())
	failed := h.rec.waitFor(t, is(EvMonitorFailed, "app"))
	assert.Equal(t, "db", failed.Monitor)
	assert.Regexp(t, `^wait_for not satisfied within ready_timeout \(500ms\); last check: db: dial tcp .*: connection refused$`, failed.Error)
	assert.Zero(t, h.rec.count(is(EvTaskStarted, "app")))
}

func TestNotifyReadiness(t *testing.T) {
	h := start(t, `
[monitors.sd]
type = "notify"

`+helperTask("daemon", "notify")+`
ready = "sd"

[tasks.after]
parent = "daemon"
command = ["sleep", "1000"]
`)
	h.rec.waitFor(t, is(EvTaskReady, "after"))
}

// The notify socket is the process's for life: after READY=1 it is still read
// (STATUS=, systemd-notify's BARRIER=1), and it is removed once the run is gone.
func TestNotifySocketOutlivesReadiness(t *testing.T) {
	h := start(t, `
[monitors.sd]
type = "notify"

`+helperTask("daemon", "notify-more")+`
ready = "sd"
restart = "never"

[tasks.other]
command = ["sleep", "1000"]
`)
	h.rec.waitFor(t, is(EvTaskReady, "daemon"))
	var dir string
	h.sup.Do(func() { dir = h.sup.notifyDir })
	require.NoError(t, h.sup.Signal("daemon", syscall.SIGUSR1))
	exited := h.rec.waitFor(t, is(EvTaskExited, "daemon"))
	require.NotNil(t, exited.ExitCode)
	assert.Equal(t, 0, *exited.ExitCode, "exit 3: STATUS= failed; exit 4: BARRIER=1 was never read")
	require.Eventually(t, func() bool {
		left, err := os.ReadDir(dir)
		return err == nil && len(left) == 0
	}, 10*time.Second, time.Millisecond, "the socket is removed with its run")
}

// A task running as another user reaches its notify socket. The helper binary
// is copied where that user may run it.
func TestNotifyReadinessOfATaskWithUser(t *testing.T) {
	dir, err := os.MkdirTemp("", "procmon-helper-") // t.TempDir's parent is closed to other users
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "helper")
	data, err := os.ReadFile(testBinary())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	h := start(t, fmt.Sprintf(`
[monitors.sd]
type = "notify"

[tasks.daemon]
command = [%q]
env = { %s = "notify" }
user = "nobody"
ready = "sd"
`, bin, helperEnv))
	h.rec.waitFor(t, is(EvTaskReady, "daemon"))
}

// An exec check runs as the task's user, with its HOME: no more rights than the
// task it looks at.
func TestExecCheckRunsAsTheTasksUser(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	require.NoError(t, err)
	h := start(t, fmt.Sprintf(`
[monitors.asuser]
type = "exec"
command = ["sh", "-c", "[ \"$(id -u)\" = %s ] && [ \"$HOME\" = '%s' ]"]

[tasks.daemon]
command = ["sleep", "1000"]
user = "nobody"
ready = "asuser"
ready_timeout = "5s"
start_retries = 0
`, nobody.Uid, nobody.HomeDir))
	h.rec.waitFor(t, is(EvTaskReady, "daemon"))
}

// Without a socket directory a notify monitor fails; procmon must not take the
// temporary directory for one and remove it when it ends.
func TestNoNotifySocketDirectoryRemovesNothing(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "tmp")
	require.NoError(t, os.WriteFile(notADir, []byte("keep"), 0o644))
	t.Setenv("TMPDIR", notADir)
	h := start(t, `
[monitors.sd]
type = "notify"

[tasks.daemon]
command = ["sleep", "1000"]
ready = "sd"
start_retries = 0
`)
	h.rec.waitFor(t, is(EvStartFailed, "daemon"))
	h.stop()
	assert.FileExists(t, notADir)
}

// Only notify monitors need the socket directory: other checks make none.
func TestNoNotifySocketDirectoryForOtherMonitors(t *testing.T) {
	addr := freePort()
	h := start(t, fmt.Sprintf(`
[monitors.listening]
type = "port_in_use"
address = %q

%s
ready = "listening"
`, addr, helperTask("server", "listen", addr)))
	h.rec.waitFor(t, is(EvTaskReady, "server"))
	var dir string
	h.sup.Do(func() { dir = h.sup.notifyDir })
	assert.Empty(t, dir)
}
