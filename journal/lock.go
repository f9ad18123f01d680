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

// lockTries bounds how often openLocked starts over when the file it locked
// lost its name meanwhile: each time takes a rotation by the holder, which comes
// only once the journal has grown by megabytes.
const lockTries = 10

// errReplaced says that the file locked is no longer the one named by its path.
var errReplaced = errors.New("replaced while being locked")

// openLocked opens path and takes an exclusive flock without waiting. The lock
// lives with the open file, so it goes when procmon exits, however it exits.
func openLocked(path string, flag int) (*os.File, error) {
	return lockCurrent(path, func() (*os.File, error) {
		return os.OpenFile(path, flag|os.O_CREATE, 0o644)
	})
}

// lockCurrent locks the file that open returns and checks that path still names
// it. Between open and flock, the holder may rotate the journal and close the
// file it held: the flock then succeeds on PATH.1, which protects nothing, and
// this procmon would stop the holder's tasks in Cleanup. So it starts over.
func lockCurrent(path string, open func() (*os.File, error)) (*os.File, error) {
	for try := 1; ; try++ {
		f, err := open()
		if err != nil {
			return nil, fmt.Errorf("journal %s: %w", path, err)
		}
		err = lock(f, path)
		if err == nil {
			return f, nil
		}
		f.Close()
		if !errors.Is(err, errReplaced) || try == lockTries {
			return nil, err
		}
	}
}

// lock takes f's flock and checks that f is still the file named path.
func lock(f *os.File, path string) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return &LockedError{Path: path, Pid: lockHolder(f)}
	}
	if err != nil {
		return fmt.Errorf("journal %s: lock: %w", path, err)
	}
	return named(f, path)
}

// named checks that path names f: a path that names nothing or another file
// means f was renamed or removed meanwhile, by a rotation or by hand.
func named(f *os.File, path string) error {
	var held, now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &held); err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	err := unix.Stat(path, &now)
	if errors.Is(err, unix.ENOENT) || err == nil && (held.Dev != now.Dev || held.Ino != now.Ino) {
		return fmt.Errorf("journal %s: %w", path, errReplaced)
	}
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	return nil
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
