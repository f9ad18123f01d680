package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample.toml is the newcomer's first run: it must validate and come up whole.
func TestSampleConfigurationRuns(t *testing.T) {
	out, err := procmon("check", "-c", "../../sample.toml").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "store (service)\n  migrate (oneshot)\n    web (service, 2 instances)\n  worker (service)\n")

	// As after an earlier run: the store's ready file is left over, naming a
	// process that is gone.
	require.NoError(t, os.WriteFile("/tmp/procmon-sample.ready", []byte("2147483646\n"), 0o644))
	cmd := procmon("-c", "../../sample.toml", "-s", t.TempDir()+"/procmon.sock")
	log := startProcmon(t, cmd)
	for _, line := range []string{"store | store: up", "web.0 | web 0: serving hello", "web.1 | web 1: serving hello", "worker | worker: tick", "flaky | flaky: started"} {
		require.Eventually(t, func() bool { return strings.Contains(log.String(), line) }, 20*time.Second, 10*time.Millisecond,
			"%q never appeared:\n%s", line, log.String())
	}
	assert.Less(t, strings.Index(log.String(), "store | store: up"), strings.Index(log.String(), "migrate | migrate: applying schema"),
		"the migration waits for the store, whatever an earlier run left")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	assert.Equal(t, 0, waitExit(t, cmd, log, 20*time.Second), log.String())
}
