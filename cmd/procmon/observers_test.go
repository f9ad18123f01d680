package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/alert"
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

// Notifiers replaced by reloads are let go once they have sent what they had:
// a procmon reloaded every day keeps only those still sending.
func TestReplacedNotifiersAreLetGoOnceDrained(t *testing.T) {
	log, _ := test.NewNullLogger()
	a := newAlerts(nil, alert.Deps{}, log)
	for n := range 5 {
		cfg := config.Empty()
		cfg.Notify = []*config.Notify{{Type: "webhook", URL: fmt.Sprintf("http://127.0.0.1:1/%d", n), Events: []string{"task_fatal"}}}
		a.reload(cfg)
		require.Eventually(t, func() bool { return drained(a.replaced[len(a.replaced)-1]) }, 10*time.Second, time.Millisecond)
	}
	assert.Len(t, a.replaced, 1, "only the last one replaced, which nothing has pruned yet")
	a.Close(context.Background())
}
