package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// go-redis logs a failed dial on its own; in JSON mode every line of procmon's
// log must still be JSON, the library's lines included, timed to the millisecond.
func TestRedisClientLogsGoThroughProcmonsLogger(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String() // nothing listens there once l is closed
	require.NoError(t, l.Close())
	path := writeConfig(t, fmt.Sprintf(`
[procmon]
socket = ""
log_format = "json"
log_level = "debug"

[monitors.cache]
type = "redis"
address = %q

[tasks.app]
command = ["sleep", "1000"]
ready = "cache"
`, closed))
	cmd := procmon("-c", path)
	out := startProcmon(t, cmd)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), `"component":"go-redis"`) },
		20*time.Second, 10*time.Millisecond, "go-redis's dial failure in procmon's log; output:\n%s", out.String())
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var entry struct{ Time string }
		if assert.NoError(t, json.Unmarshal([]byte(line), &entry), "not a JSON log line: %q", line) {
			assert.Regexp(t, `T\d\d:\d\d:\d\d\.\d{3}`, entry.Time, "milliseconds, as in text logs")
		}
	}
}

// On a terminal, procmon's text log keeps logrus's terminal form and colours,
// though it goes through a queue logrus cannot see through.
func TestTextLogOnATerminalIsColoured(t *testing.T) {
	path := writeConfig(t, "[procmon]\nsocket = \"\"\n[tasks.once]\ntype = \"oneshot\"\ncommand = [\"true\"]\n")
	cmd := exec.Command("script", "-qec", os.Args[0]+" -c "+path, "/dev/null")
	cmd.Env = append(os.Environ(), "PROCMON_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "\x1b[36mINFO\x1b[0m[", "logrus's coloured level, as on any terminal")
}
