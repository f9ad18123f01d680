package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/config"
)

func TestLeftoversAreStoppedAsTheirTasksAre(t *testing.T) {
	cfg, err := config.Load(writeConfig(t, `
[procmon]
stop_timeout = "3s"

[tasks.web]
command = ["sleep", "1000"]
stop_signal = "SIGINT"
stop_timeout = "7s"
`))
	require.NoError(t, err)
	stop := stopSettings(cfg)

	sig, timeout := stop("web")
	assert.Equal(t, unix.SIGINT, sig)
	assert.Equal(t, 7*time.Second, timeout)

	sig, timeout = stop("gone-from-the-configuration")
	assert.Equal(t, unix.SIGTERM, sig)
	assert.Equal(t, 3*time.Second, timeout)
}
