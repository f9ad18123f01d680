package journal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrLocked matches the error of Open when another procmon holds the journal.
var ErrLocked = errors.New("another procmon holds the journal lock")

// LockedError says which journal is held, and by which pid when /proc/locks tells.
type LockedError struct {
	Path string
	Pid  int // 0 when unknown
}

func (e *LockedError) Error() string {
	holder := "another procmon"
	if e.Pid > 0 {
		holder = fmt.Sprintf("another procmon (pid %d)", e.Pid)
	}
	return fmt.Sprintf("journal %s: %s holds its lock; two procmons must not share a journal", e.Path, holder)
}

// Is makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// openLocked opens path and takes an exclusive flock without waiting. The lock
// lives with the open file, so it goes when procmon exits, however it exits.
func openLocked(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return f, nil
	}
	defer f.Close()
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil, &LockedError{Path: path, Pid: lockHolder(f)}
	}
	return nil, fmt.Errorf("journal %s: lock: %w", path, err)
}

// lockHolder finds the pid holding a flock on f's inode in /proc/locks, whose
// lines read "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF".
func lockHolder(f *os.File) int {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	id := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer locks.Close()
	sc := bufio.NewScanner(locks)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && fields[1] == "FLOCK" && fields[5] == id {
			pid, _ := strconv.Atoi(fields[4])
			return pid
		}
	}
	return 0
}
