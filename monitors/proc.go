package monitors

import (
	"errors"
	"os/exec"
	"syscall"

	"github.com/procmon/procmon/signals"
)

// startGroup starts cmd through start in a process group of its own and returns its
// pid, which is also the group's id.
func startGroup(start signals.StartFunc, cmd *exec.Cmd, onExit func(signals.Exit)) (int, error) {
	if start == nil {
		return 0, errors.New("no process starter (Deps.Start is nil)")
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	started, err := start(cmd, onExit)
	return started.Pid, err
}
