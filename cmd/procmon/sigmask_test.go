package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// blockEnv makes the test binary start as if its parent had left signals
// blocked: it blocks the listed signal numbers and execs itself without the
// variable, so that procmon starts with them in its inherited mask. An init
// function, because TestMain runs main (in PROCMON_AS_MAIN mode) too late.
const blockEnv = "PROCMON_TEST_BLOCK_SIGNALS"

func init() {
	list, ok := os.LookupEnv(blockEnv)
	if !ok {
		return
	}
	os.Unsetenv(blockEnv) // or the new image would do this again, forever
	runtime.LockOSThread()
	var set unix.Sigset_t
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", blockEnv, err)
			os.Exit(125)
		}
		sigaddset(&set, n)
	}
	err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
	if err == nil {
		err = syscall.Exec(os.Args[0], os.Args, os.Environ())
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", blockEnv, err)
	os.Exit(125)
}

// sigaddset works whatever the width of Sigset_t's words on this architecture.
func sigaddset(set *unix.Sigset_t, sig int) {
	bits := int(unsafe.Sizeof(set.Val[0])) * 8
	set.Val[(sig-1)/bits] |= 1 << ((sig - 1) % bits)
}

var sigBlkLine = regexp.MustCompile(`(?m)^SigBlk:\s*([0-9a-f]+)$`)

// keptBlocked lists the threads of pid that block any signal of the set, with
// their SigBlk.
func keptBlocked(pid int, set uint64) string {
	dirs, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*")
	var kept []string
	for _, dir := range dirs {
		data, err := os.ReadFile(dir + "/status")
		m := sigBlkLine.FindSubmatch(data)
		if err != nil || m == nil {
			continue // the thread has just ended
		}
		if mask, err := strconv.ParseUint(string(m[1]), 16, 64); err == nil && mask&set != 0 {
			kept = append(kept, filepath.Base(dir)+":"+string(m[1]))
		}
	}
	return strings.Join(kept, " ")
}

// procmon started with signals blocked (by a parent that blocked them for
// signalfd or a critical section and did not restore its mask before exec) must
// not pass the mask on to its tasks, nor keep it itself.
func TestBlockedSignalsAreNotInherited(t *testing.T) {
	for _, c := range []struct {
		name string
		sigs []syscall.Signal
	}{
		// two of procmon's own, one it forwards, a real-time one
		{"caught", []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.Signal(40)}},
		// ones the Go runtime unblocks on its threads itself: procmon finds no
		// mask to clear, and the tasks must get none all the same
		{"unblocked by the runtime", []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGCHLD}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeConfig(t, `
[procmon]
socket = ""

[tasks.sigs]
type = "oneshot"
command = ["grep", "^SigBlk", "/proc/self/status"]

[tasks.keep]
command = ["sleep", "1000"]
`)
			nums := make([]string, len(c.sigs))
			for i, s := range c.sigs {
				nums[i] = strconv.Itoa(int(s))
			}
			cmd := procmon("-c", cfg)
			cmd.Env = append(cmd.Env, blockEnv+"="+strings.Join(nums, ","))
			out := startProcmon(t, cmd)
			require.Eventually(t, func() bool { return strings.Contains(out.String(), "sigs | SigBlk:") },
				10*time.Second, time.Millisecond, "no SigBlk line; output:\n%s", out)
			assert.Contains(t, out.String(), "sigs | SigBlk:\t0000000000000000")

			// Nor does procmon keep them blocked on any of its threads. Eventually:
			// a thread blocks every signal for a moment while it forks or starts
			// a thread.
			var blocked uint64
			for _, s := range c.sigs {
				blocked |= 1 << (s - 1)
			}
			var kept string
			assert.Eventually(t, func() bool {
				kept = keptBlocked(cmd.Process.Pid, blocked)
				return kept == ""
			}, 10*time.Second, time.Millisecond)
			assert.Empty(t, kept, "procmon's threads still block signals its parent blocked")

			// Its name stays its binary's, for pgrep and killall.
			comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
			require.NoError(t, err)
			name := filepath.Base(os.Args[0])
			assert.Equal(t, name[:min(len(name), 15)], strings.TrimSpace(string(comm)))
		})
	}
}
