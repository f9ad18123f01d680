package signals

import (
	"errors"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// SignalGroup signals a whole process group. The group id is its leader's pid,
// which cannot be reused while the leader is an unreaped zombie or any member of
// the group is alive. ESRCH (nothing left) is ignored: it is what a stop hopes for.
func SignalGroup(pgid int, sig syscall.Signal) {
	mustBeGroup(pgid)
	_ = unix.Kill(-pgid, sig)
}

// GroupAlive reports whether any process (zombies included) is left in the group.
func GroupAlive(pgid int) bool {
	mustBeGroup(pgid)
	err := unix.Kill(-pgid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// mustBeGroup refuses 0 and 1: kill(-0) is procmon's own group and kill(-1)
// every process it may signal.
func mustBeGroup(pgid int) {
	if pgid <= 1 {
		panic("signals: not a task's process group: " + strconv.Itoa(pgid))
	}
}
