package monitors

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/signals"
)

// startFunc is Reaper.Start.
type startFunc = func(cmd *exec.Cmd, onExit func(signals.Exit)) error

// startGroup starts cmd through start in a process group of its own and returns its
// pid, which is also the group's id; 0 means the process is already gone.
//
// The pid comes from a pidfd of our own, not from cmd.Process.Pid: the reaper calls
// cmd.Process.Release, which writes Pid, on its goroutine as soon as the child
// exits, so reading Pid after Start is a data race.
func startGroup(start startFunc, cmd *exec.Cmd, onExit func(signals.Exit)) (int, error) {
	if start == nil {
		return 0, errors.New("no process starter (Deps.Start is nil)")
	}
	pidfd := -1
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.PidFD = &pidfd
	if err := start(cmd, onExit); err != nil {
		return 0, err
	}
	if pidfd >= 0 {
		defer unix.Close(pidfd)
		if pid, ok := pidfdPid(pidfd); ok {
			return pid, nil
		}
	}
	// No pidfd (Linux before 5.2) or no /proc: only os/exec's racy record is left.
	return cmd.Process.Pid, nil
}

// pidfdPid reads the pid behind a pidfd from the kernel's fdinfo; the kernel shows
// -1 (made 0 here) once the process has been reaped.
func pidfdPid(fd int) (int, bool) {
	info, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(info) {
		if v, ok := bytes.CutPrefix(line, []byte("Pid:")); ok {
			pid, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			return max(pid, 0), err == nil
		}
	}
	return 0, false
}

// killGroup SIGKILLs what is left of a process group. pid 0 or 1 would address our
// own group or everything, so they are refused. ESRCH (nothing left) is the hoped-
// for outcome.
func killGroup(pgid int) {
	if pgid > 1 {
		_ = unix.Kill(-pgid, unix.SIGKILL)
	}
}
