// Command floor measures what this machine allows without procmon, for the
// README's figures: "spawn" forks N sleeps from four goroutines with no pipes,
// "reap" kills N daemons re-parented to it and reaps them in a blocking wait4 loop.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 1000, "processes")
	flag.Parse()
	switch flag.Arg(0) {
	case "spawn":
		spawn(*n)
	case "reap":
		reap(*n)
	default:
		fmt.Fprintln(os.Stderr, "usage: floor [-n N] spawn|reap")
		os.Exit(2)
	}
}

func spawn(n int) {
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	var mu sync.Mutex
	var pids []int
	began := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range jobs {
				cmd := exec.Command("sleep", "1000")
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
				must(cmd.Start())
				mu.Lock()
				pids = append(pids, cmd.Process.Pid)
				mu.Unlock()
				_ = cmd.Process.Release()
			}
		})
	}
	wg.Wait()
	fmt.Printf("%d sleeps forked in %.1f ms\n", n, ms(time.Since(began)))
	killAndReap(pids)
}

func reap(n int) {
	must(unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do setsid sh -c 'sleep 1000 &'; i=$((i+1)); done", n)
	must(exec.Command("sh", "-c", script).Run())
	last := killAndReap(children())
	fmt.Printf("%d daemons: last kill to last reap %.1f ms\n", n, ms(last))
}

// killAndReap SIGKILLs pids and reaps them; it returns the time from the last
// kill to the last reap.
func killAndReap(pids []int) time.Duration {
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	killed := time.Now()
	var last time.Time
	for range pids {
		var ws unix.WaitStatus
		_, err := unix.Wait4(-1, &ws, 0, nil)
		must(err)
		last = time.Now()
	}
	return last.Sub(killed)
}

func children() []int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/children", os.Getpid()))
	must(err)
	var pids []int
	for _, field := range strings.Fields(string(data)) {
		pid, err := strconv.Atoi(field)
		must(err)
		pids = append(pids, pid)
	}
	return pids
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
