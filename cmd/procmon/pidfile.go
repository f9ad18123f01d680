package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// errAlreadyRunning is a pidfile that names a live procmon.
var errAlreadyRunning = errors.New("procmon is already running")

// writePidfile records procmon's pid. A pidfile left by a run that is gone is
// replaced; one whose pid is a live procmon means another one is running.
func writePidfile(path string) error {
	if path == "" {
		return nil
	}
	if pid, ok := readPid(path); ok && pid != os.Getpid() && isProcmon(pid) {
		return fmt.Errorf("pidfile %s: %w as pid %d", path, errAlreadyRunning, pid)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("pidfile: %w", err)
	}
	return os.Rename(tmp, path) // never a half-written pidfile
}

func readPid(path string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid, err == nil && pid > 0
}

// isProcmon compares the pid's executable name with ours, so that a pid reused by
// an unrelated process does not block the start.
func isProcmon(pid int) bool {
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return false
	}
	self, err := os.ReadFile("/proc/self/comm")
	return err == nil && string(comm) == string(self)
}

// removePidfile removes the pidfile if it is still ours.
func removePidfile(path string) {
	if path == "" {
		return
	}
	if pid, ok := readPid(path); ok && pid == os.Getpid() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "procmon: pidfile: %v\n", err)
		}
	}
}
