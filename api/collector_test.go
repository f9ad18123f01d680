package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/tasks"
)

// runSupervisor runs the real engine on toml, serves it on a socket, and stops
// both when the test ends.
func runSupervisor(t *testing.T, toml string) (*tasks.Supervisor, string) {
	t.Helper()
	cfg, err := config.Parse("procmon.toml", []byte(toml), nil)
	require.NoError(t, err)
	sup, err := tasks.New(tasks.Options{Config: cfg, Reaper: testReaper, Log: quietLog()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sup.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	sock := socketPath(t)
	serve(t, Options{Engine: sup, Socket: sock, Log: quietLog()})
	return sup, sock
}

// taskGauges scrapes the lines of procmon_task_up and procmon_task_ready.
func taskGauges(t *testing.T, sock string) string {
	t.Helper()
	code, body := call(t, unixHTTP(sock), "GET", "http://x/metrics")
	require.Equal(t, 200, code, body)
	var gauges strings.Builder
	for _, line := range strings.SplitAfter(body, "\n") {
		if strings.HasPrefix(line, "procmon_task_up{") || strings.HasPrefix(line, "procmon_task_ready{") {
			gauges.WriteString(line)
		}
	}
	return gauges.String()
}

func TestTaskGaugesReadZeroForATaskScaledToZero(t *testing.T) {
	sup, sock := runSupervisor(t, `
[tasks.web]
command = ["sleep", "1000"]
instances = 2
[tasks.spare]
command = ["sleep", "1000"]
instances = 0
`)
	c := NewClient(sock)
	require.Eventually(t, func() bool {
		web, err := sup.TaskStatus("web")
		return err == nil && len(web) == 2 && web[0].Ready && web[1].Ready
	}, 10*time.Second, 5*time.Millisecond, "web never got ready")
	assert.Contains(t, taskGauges(t, sock), `procmon_task_ready{task="web"} 2`+"\n")
	require.NoError(t, c.Scale(context.Background(), "web", 0))
	require.Eventually(t, func() bool {
		web, err := sup.TaskStatus("web")
		return err == nil && len(web) == 0
	}, 10*time.Second, 5*time.Millisecond, "web never lost its instances")

	body := taskGauges(t, sock)
	for _, want := range []string{
		`procmon_task_up{task="web"} 0`,
		`procmon_task_ready{task="web"} 0`,
		`procmon_task_up{task="spare"} 0`,
		`procmon_task_ready{task="spare"} 0`,
	} {
		assert.Contains(t, body, want+"\n")
	}
	notReady, err := c.NotReady(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"web"}, notReady,
		"scaled to 0, web is held back; spare, which the file gives no instance, is not waited for (as with autostart off)")
}
