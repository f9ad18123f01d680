package signals

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroupSignalsReachTheWholeGroupAndRefuseZeroAndOne(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 1000 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	exited := make(chan Exit, 1)
	started, err := reaper.Start(cmd, func(e Exit) { exited <- e })
	pid := started.Pid
	require.NoError(t, err)
	require.True(t, GroupAlive(pid))
	SignalGroup(pid, syscall.SIGKILL)
	<-exited
	require.Eventually(t, func() bool { return !GroupAlive(pid) }, 10*time.Second, time.Millisecond, "the background sleep went with its group")

	assert.Panics(t, func() { SignalGroup(1, syscall.SIGKILL) }, "kill(-1) would reach every process")
	assert.Panics(t, func() { GroupAlive(0) }, "kill(-0) is procmon's own group")
}
