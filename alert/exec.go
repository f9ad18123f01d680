package alert

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/signals"
)

// execTimeout bounds one run of an exec channel's command.
const execTimeout = 30 * time.Second

func execSender(argv []string, start signals.StartFunc) func(context.Context, *payload) error {
	return func(ctx context.Context, p *payload) error {
		if len(argv) == 0 {
			return errors.New("exec: empty command")
		}
		if start == nil {
			return errors.New("exec: no process starter (alert.Deps.Start is nil)")
		}
		ctx, cancel := context.WithTimeout(ctx, execTimeout)
		defer cancel()
		return runCommand(ctx, argv, start, p)
	}
}

// runCommand runs argv with the event's JSON on its stdin, in a process group of
// its own so that a timeout kills all it started. Its exit comes from the reaper:
// procmon has one wait(2) caller.
func runCommand(ctx context.Context, argv []string, start signals.StartFunc, p *payload) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PROCMON_EVENT="+p.ev.Type, "PROCMON_TASK="+p.ev.Task)
	cmd.Stdin, cmd.Stderr = r, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	exited := make(chan signals.Exit, 1)
	started, err := start(cmd, func(x signals.Exit) { exited <- x })
	r.Close()
	if err != nil {
		w.Close()
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = w.SetWriteDeadline(deadline)
	}
	_, _ = w.Write(p.json) // a command that does not read its stdin is its own business
	w.Close()
	select {
	case x := <-exited:
		if x.Code() != 0 {
			return fmt.Errorf("exec %s: %s", argv[0], x)
		}
		return nil
	case <-ctx.Done():
		// Not reaped yet, so the group id is still the command's own.
		signals.SignalGroup(started.Pid, unix.SIGKILL)
		<-exited
		return fmt.Errorf("exec %s: killed: %w", argv[0], ctx.Err())
	}
}
