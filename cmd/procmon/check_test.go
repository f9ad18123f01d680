package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The plan is the engine's: a task with autostart off is not running when its
// parent dies, so it neither stops nor starts, and nor does what runs only below it.
func TestCheckWhatIfLeavesOutTasksWithoutAutostart(t *testing.T) {
	cfg := writeConfig(t, `
[procmon]
socket = ""

[tasks.db]
command = "sleep 1000"
[tasks.api]
command = "sleep 1000"
parent = "db"
[tasks.admin]
command = "sleep 1000"
parent = "db"
autostart = false
[tasks.report]
command = "sleep 1000"
parent = "admin"
`)
	out, err := procmon("check", "-c", cfg, "--what-if", "db").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, "stop api\nstop db\nstart db\nstart api\n", string(out))
}

// check may run where the container's paths do not exist: a missing services_dir
// is a warning there; run refuses to start without it.
func TestAMissingServicesDirWarnsCheckAndStopsRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not-yet")
	cfg := writeConfig(t, "[procmon]\nsocket = \"\"\nservices_dir = \""+dir+"\"\n[tasks.a]\ncommand = \"sleep 1000\"\n")
	cmd := procmon("check", "-c", cfg)
	out, _ := cmd.CombinedOutput()
	assert.Equal(t, 0, cmd.ProcessState.ExitCode(), string(out))
	assert.Contains(t, string(out), `procmon check: warning: services_dir: directory "`+dir+`" does not exist on this machine`)

	cmd = procmon("-c", cfg)
	out, _ = cmd.CombinedOutput()
	assert.Equal(t, 2, cmd.ProcessState.ExitCode(), string(out))
	assert.Contains(t, string(out), `services_dir: directory \"`+dir+`\" does not exist`)
	assert.NotContains(t, string(out), "task started", "nothing started")

	// The log going to a file, the reason still reaches the terminal.
	logFile := filepath.Join(t.TempDir(), "procmon.log")
	cfg = writeConfig(t, "[procmon]\nsocket = \"\"\nlog_file = \""+logFile+"\"\nservices_dir = \""+dir+"\"\n[tasks.a]\ncommand = \"sleep 1000\"\n")
	cmd = procmon("-c", cfg)
	out, _ = cmd.CombinedOutput()
	assert.Equal(t, 2, cmd.ProcessState.ExitCode(), string(out))
	assert.Contains(t, string(out), `procmon: cannot start: services_dir: directory "`+dir+`" does not exist`)
}
