package signals

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcStat is what procmon reads from /proc/PID/stat.
type ProcStat struct {
	State byte   // field 3: R, S, D, Z...
	Pgrp  int    // field 5
	Start uint64 // field 22: clock ticks after boot, fixed for the process's life
}

// ReadProcStat parses /proc/PID/stat. The command name (field 2) may hold spaces
// and parentheses, so the fields are counted from its last ')'.
func ReadProcStat(pid int) (ProcStat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcStat{}, err
	}
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return ProcStat{}, errors.New("malformed stat")
	}
	fields := strings.Fields(string(data[end+1:])) // fields[0] is field 3
	if len(fields) < 20 || len(fields[0]) != 1 {
		return ProcStat{}, fmt.Errorf("malformed stat of pid %d", pid)
	}
	pgrp, err1 := strconv.Atoi(fields[2])
	start, err2 := strconv.ParseUint(fields[19], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return ProcStat{}, fmt.Errorf("malformed stat of pid %d: %w", pid, err)
	}
	return ProcStat{State: fields[0][0], Pgrp: pgrp, Start: start}, nil
}

// GroupHasLiving reports whether a process that is not a zombie is left in the
// group. A zombie whose parent is not procmon, and never waits, stays in its
// group until that parent ends: no signal removes it, and a stop must not wait
// for it. Without a readable /proc it cannot tell, and says yes.
func GroupHasLiving(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := ReadProcStat(pid); err == nil && st.Pgrp == pgid && st.State != 'Z' {
			return true
		}
	}
	return false
}
