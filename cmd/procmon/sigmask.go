package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// clearInheritedSigmask re-executes procmon with an empty signal mask when it
// was started with signals blocked, so that tasks start with an empty mask
// (SPEC 3.7). The Go runtime gives every thread the mask the process started
// with, less the signals it needs itself, and before exec a child gets the mask
// of the thread that forked it: a parent that blocked SIGUSR1 or a real-time
// signal and did not restore its mask before exec would pass it on to every
// task. The runtime offers no way to change the mask it hands on; exec keeps
// the calling thread's mask, so exec'ing procmon again from a thread with an
// empty mask starts every thread of the new image with none. The pid stays the
// same (PID 1, pidfiles, the parent's wait), and it cannot loop: the new image
// finds nothing blocked.
//
// A signal that was pending while blocked reaches the runtime as soon as the
// mask is cleared, before procmon has done anything: SIGUSR1 (reload), SIGUSR2
// (reopen logs) and the signals procmon forwards have nothing to act on yet and
// are lost; the job-control ones, not caught yet, take their default action.
// Termination signals are never among them: the runtime never
// leaves those blocked.
//
// If the exec fails (no /proc), procmon runs on with the mask it has.
func clearInheritedSigmask() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// This thread's mask is the one a child would get: it is what the runtime
	// left blocked on every thread.
	var inherited unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, nil, &inherited); err != nil || inherited == (unix.Sigset_t{}) {
		return
	}
	var empty unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &empty, nil); err != nil {
		fmt.Fprintf(os.Stderr, "procmon: cannot clear the inherited signal mask, tasks inherit it: %v\n", err)
		return
	}
	err := reexec()
	_ = unix.PthreadSigmask(unix.SIG_SETMASK, &inherited, nil)
	fmt.Fprintf(os.Stderr, "procmon: cannot clear the inherited signal mask, tasks inherit it: re-exec: %v\n", err)
}

// reexec runs procmon's binary again by its path, which keeps the process name
// (`pgrep procmon`, `killall -USR2 procmon` by a logrotate script); through
// /proc/self/exe only if that path is gone (the binary deleted since), at the
// cost of a process named "exe".
func reexec() error {
	err := errors.New("no path")
	if path, perr := os.Executable(); perr == nil {
		err = syscall.Exec(path, os.Args, os.Environ())
	}
	return errors.Join(err, syscall.Exec("/proc/self/exe", os.Args, os.Environ()))
}
