package tasks

import (
	"errors"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	killSignal = unix.SIGKILL
	quitSignal = unix.SIGQUIT
	stopSignal = unix.SIGSTOP
	contSignal = unix.SIGCONT
)

// signalGroup signals a run's whole process group. The group id is the leader's
// pid, which cannot be reused while the leader is an unreaped zombie or any member
// of its group is alive, so the group signalled is always the run's own.
func signalGroup(pgid int, sig syscall.Signal) {
	if pgid <= 1 {
		panic("tasks: signalling process group " + strconv.Itoa(pgid)) // -pgid would reach init or everything
	}
	_ = unix.Kill(-pgid, sig) // ESRCH: the group is already gone, which is the goal
}

func signalPid(pid int, sig syscall.Signal) {
	_ = unix.Kill(pid, sig)
}

// groupAlive reports whether any process (zombies included) is left in the group.
func groupAlive(pgid int) bool {
	if pgid <= 1 {
		panic("tasks: probing process group " + strconv.Itoa(pgid))
	}
	err := unix.Kill(-pgid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

func signalName(sig syscall.Signal) string {
	return unix.SignalName(sig)
}
