package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangingHoneycomb accepts span batches and never answers them.
func hangingHoneycomb(t *testing.T) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv.URL
}

func tracedConfig(t *testing.T, shutdownTimeout, logFile string) string {
	return writeConfig(t, fmt.Sprintf(`
[procmon]
socket = ""
shutdown_timeout = %q
log_file = %q

[honeycomb]
api_key = "k"
api_host = %q

[tasks.web]
command = ["sleep", "1000"]
`, shutdownTimeout, logFile, hangingHoneycomb(t)))
}

// startTraced runs procmon with traces to an endpoint that never answers, until
// its task is ready, then sends it SIGTERM.
func startTraced(t *testing.T, shutdownTimeout string) (cmd *exec.Cmd, out *output, logFile string) {
	logFile = filepath.Join(t.TempDir(), "procmon.log")
	cmd = procmon("-c", tracedConfig(t, shutdownTimeout, logFile))
	out = startProcmon(t, cmd)
	require.Eventually(t, func() bool { return strings.Contains(readFile(logFile), "task ready") }, 10*time.Second, time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	return cmd, out, logFile
}

// The last spans are waited for only within shutdown_timeout, and what procmon
// says about them still reaches its log file.
func TestFlushingTracesKeepsToTheShutdownBudget(t *testing.T) {
	cmd, out, logFile := startTraced(t, "1s")
	signalled := time.Now()
	assert.Equal(t, 0, waitExit(t, cmd, out, 10*time.Second))
	assert.Less(t, time.Since(signalled), 3*time.Second, "the tracer's own 5 s wait overran shutdown_timeout = 1s")
	assert.Contains(t, readFile(logFile), "the last spans were not sent in time")
	assert.NotContains(t, out.String(), "file already closed")
}

// A second SIGTERM while the last spans are being sent ends procmon at once.
func TestSecondSignalEndsTheFlush(t *testing.T) {
	cmd, out, logFile := startTraced(t, "1m")
	require.Eventually(t, func() bool { return strings.Contains(readFile(logFile), "procmon stopped") }, 10*time.Second, time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	signalled := time.Now()
	assert.Equal(t, 0, waitExit(t, cmd, out, 10*time.Second))
	assert.Less(t, time.Since(signalled), 3*time.Second, "procmon waited out the tracer's 5 s")
	assert.Contains(t, readFile(logFile), "exiting at once")
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
