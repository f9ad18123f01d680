package journal

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/signals"
	"github.com/procmon/procmon/tasks"
)

// reaper is the test binary's single wait(2) caller, as procmon's is.
var reaper *signals.Reaper

func TestMain(m *testing.M) {
	reaper = signals.NewReaper(nil)
	signals.Listen(reaper)
	os.Exit(m.Run())
}

func quietLog() (logrus.FieldLogger, *logtest.Hook) {
	l, hook := logtest.NewNullLogger()
	l.SetLevel(logrus.DebugLevel)
	return l, hook
}

// startedEvent is pid's task_started as the supervisor emits it, with the start
// time the reaper read.
func startedEvent(t *testing.T, task string, pid int) tasks.Event {
	t.Helper()
	st, err := signals.ReadProcStat(pid)
	require.NoError(t, err)
	return tasks.Event{Type: tasks.EvTaskStarted, Task: task, Pid: pid, StartTime: st.Start}
}

// proc is a process started as a group leader, standing in for a task of a
// previous procmon run.
type proc struct {
	pid    int
	exited chan signals.Exit
}

func startProc(t *testing.T, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{exited: make(chan signals.Exit, 1)}
	started, err := reaper.Start(cmd, func(x signals.Exit) { p.exited <- x })
	require.NoError(t, err)
	p.pid = started.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("process %d did not exit", p.pid)
		}
	})
	return p
}

// exit waits for the process to be reaped.
func (p *proc) exit(t *testing.T) signals.Exit {
	t.Helper()
	select {
	case x := <-p.exited:
		p.exited <- x // for the cleanup
		return x
	case <-time.After(10 * time.Second):
		t.Fatalf("process %d still running", p.pid)
		return signals.Exit{}
	}
}

// running reports whether the process has not exited (nor become a zombie).
func (p *proc) running() bool {
	select {
	case x := <-p.exited:
		p.exited <- x
		return false
	default:
	}
	st, err := signals.ReadProcStat(p.pid)
	return err == nil && st.State != 'Z'
}
