package tasks

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The benchmarks report the figures of the core runner's targets as custom
// metrics (ms); ns/op is the time of one whole scenario.

// BenchmarkRestartLatency: a task that exits at once, restart_delay = "0s", from
// its exit to its next spawn.
func BenchmarkRestartLatency(b *testing.B) {
	h := start(b, `
[tasks.blink]
command = ["true"]
start_time = "0s"
restart_delay = "0s"
`)
	restarts := max(b.N, 50)
	b.ResetTimer()
	h.rec.waitN(b, restarts+1, time.Minute, is(EvTaskStarted, "blink"))
	b.StopTimer()
	events, _ := h.rec.snapshot()
	var gaps []time.Duration
	var exited time.Time
	for _, ev := range events {
		switch {
		case ev.Type == EvTaskExited:
			exited = ev.Time
		case ev.Type == EvTaskStarted && !exited.IsZero():
			gaps = append(gaps, ev.Time.Sub(exited))
			exited = time.Time{}
		}
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	b.ReportMetric(ms(gaps[len(gaps)/2]), "ms-median-restart")
	b.ReportMetric(ms(gaps[len(gaps)*99/100]), "ms-p99-restart")
	h.stop()
}

func manySleepers(n int) string { return sleepers(n, "") }

// sleepers defines n tasks that sleep, each with the extra keys given.
func sleepers(n int, extra string) string {
	var c strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&c, "[tasks.s%04d]\ncommand = [\"sleep\", \"1000\"]\n%s", i, extra)
	}
	return c.String()
}

// BenchmarkStartIndependent: from loading the configuration to every task running.
// "discarded" has no output pipes: the difference is what the descriptors procmon
// holds cost each later fork and exec.
func BenchmarkStartIndependent(b *testing.B) {
	cases := []struct {
		name string
		n    int
		toml string
	}{
		{"100", 100, manySleepers(100)},
		{"1000", 1000, manySleepers(1000)},
		{"1000-discarded", 1000, sleepers(1000, "stdout = \"discard\"\nstderr = \"discard\"\n")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				began := time.Now()
				h := startConfig(b, loadConfig(b, c.toml), infoLevel)
				last := h.rec.waitN(b, c.n, time.Minute, func(ev Event) bool { return ev.Type == EvTaskReady })[c.n-1]
				total += last.Time.Sub(began)
				b.StopTimer()
				h.stop()
				b.StartTimer()
			}
			b.ReportMetric(ms(total/time.Duration(b.N)), "ms-all-running")
		})
	}
}

// BenchmarkShutdown: from the shutdown request to Run returning, for 50 tasks
// that exit on SIGTERM, and for one that ignores it with stop_timeout = "1s".
func BenchmarkShutdown(b *testing.B) {
	cases := map[string]struct {
		toml string
		n    int
	}{
		"50-polite": {manySleepers(50), 50},
		"1-stubborn": {`
[tasks.stubborn]
command = ["sh", "-c", "trap '' TERM; echo armed; sleep 1000 & wait"]
stop_timeout = "1s"
`, 1},
	}
	for name, c := range cases {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				h := startConfig(b, loadConfig(b, c.toml), infoLevel)
				h.rec.waitN(b, c.n, time.Minute, func(ev Event) bool { return ev.Type == EvTaskReady })
				if c.n == 1 { // the trap must be set before the stop signal comes
					require.Eventually(b, func() bool { return strings.Contains(h.out.String(), "armed") }, time.Minute, time.Millisecond)
				}
				b.StartTimer()
				began := time.Now()
				h.stop()
				total += time.Since(began)
			}
			b.ReportMetric(ms(total/time.Duration(b.N)), "ms-shutdown")
		})
	}
}

// BenchmarkOrphanReaping: 2000 double-forked orphans are killed at once; from the
// last kill to the last reap. Each one leaves the spawner's process group (setsid,
// before the spawner goes on), as daemons do: procmon stops what is left in a
// task's group when the task exits.
func BenchmarkOrphanReaping(b *testing.B) {
	const n = 2000
	var total time.Duration
	for range b.N {
		b.StopTimer()
		h := startConfig(b, loadConfig(b, fmt.Sprintf(`
[tasks.spawner]
type = "oneshot"
command = ["sh", "-c", "i=0; while [ $i -lt %d ]; do setsid sh -c 'sleep 1000 &'; i=$((i+1)); done"]

[tasks.keepalive]
command = ["sleep", "1000"]
`, n)), infoLevel)
		h.rec.waitFor(b, is(EvTaskExited, "spawner"))
		var orphans []int
		require.Eventually(b, func() bool {
			orphans = testReaper.Adopted()
			return len(orphans) >= n
		}, time.Minute, time.Millisecond, "the spawner's orphans were adopted")
		b.StartTimer()
		for _, pid := range orphans {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		killed := time.Now()
		reaped := h.rec.waitN(b, n, time.Minute, func(ev Event) bool { return ev.Type == EvOrphanReaped })
		b.StopTimer()
		total += reaped[n-1].Time.Sub(killed)
		h.stop()
	}
	b.ReportMetric(ms(total/time.Duration(b.N)), "ms-last-kill-to-last-reap")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// infoLevel logs as procmon does by default, not at the tests' debug level.
func infoLevel(o *Options) { o.Log.SetLevel(logrus.InfoLevel) }

// BenchmarkReadyChain: ten tasks, each the parent of the next, each ready when
// its port accepts connections (or when it says READY=1 over sd_notify); from Run
// to the last one ready.
func BenchmarkReadyChain(b *testing.B) {
	for _, kind := range []string{"port", "notify"} {
		b.Run(kind, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				toml := readyChain(kind, 10)
				began := time.Now()
				h := start(b, toml)
				last := h.rec.waitFor(b, is(EvTaskReady, "link9"))
				total += last.Time.Sub(began)
				b.StopTimer()
				h.stop()
				b.StartTimer()
			}
			b.ReportMetric(ms(total/time.Duration(b.N)), "ms-chain-ready")
		})
	}
}

func readyChain(kind string, n int) string {
	var c strings.Builder
	c.WriteString("[monitors.sd]\ntype = \"notify\"\n")
	for i := 0; i < n; i++ {
		if kind == "notify" {
			c.WriteString(helperTask(fmt.Sprintf("link%d", i), "notify"))
			c.WriteString("ready = \"sd\"\n")
		} else {
			addr := freePort()
			fmt.Fprintf(&c, "[monitors.port%d]\ntype = \"port_in_use\"\naddress = %q\n", i, addr)
			c.WriteString(helperTask(fmt.Sprintf("link%d", i), "listen", addr))
			fmt.Fprintf(&c, "ready = \"port%d\"\n", i)
		}
		if i > 0 {
			fmt.Fprintf(&c, "parent = \"link%d\"\n", i-1)
		}
	}
	return c.String()
}
