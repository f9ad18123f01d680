package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// stat is what Cleanup needs from /proc/PID/stat.
type stat struct {
	state byte   // field 3: R, S, D, Z...
	pgrp  int    // field 5
	start uint64 // field 22: clock ticks after boot, fixed for the process's life
}

// readStat parses /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so the fields are counted from its last ')'.
func readStat(pid int) (stat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return stat{}, errors.New("malformed stat")
	}
	fields := strings.Fields(string(data[end+1:])) // fields[0] is field 3
	if len(fields) < 20 || len(fields[0]) != 1 {
		return stat{}, fmt.Errorf("malformed stat of pid %d", pid)
	}
	pgrp, err1 := strconv.Atoi(fields[2])
	start, err2 := strconv.ParseUint(fields[19], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return stat{}, fmt.Errorf("malformed stat of pid %d: %w", pid, err)
	}
	return stat{state: fields[0][0], pgrp: pgrp, start: start}, nil
}

// bootID tells boots apart: start times count from boot, so they only compare
// within one. "" when the kernel does not say.
func bootID() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
