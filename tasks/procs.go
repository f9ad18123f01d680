package tasks

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	killSignal = unix.SIGKILL
	quitSignal = unix.SIGQUIT
	stopSignal = unix.SIGSTOP
	contSignal = unix.SIGCONT
)

func signalPid(pid int, sig syscall.Signal) {
	_ = unix.Kill(pid, sig)
}

func signalName(sig syscall.Signal) string {
	return unix.SignalName(sig)
}
