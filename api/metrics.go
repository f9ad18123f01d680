package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/procmon/procmon/tasks"
)

// Metrics counts the engine's events for Prometheus. Its registry is its own, so
// that no library's global metrics leak into /metrics.
type Metrics struct {
	reg             *prometheus.Registry
	restarts        *prometheus.CounterVec
	exits           *prometheus.CounterVec
	monitorFailures *prometheus.CounterVec
	orphans         prometheus.Counter
	maintRuns       *prometheus.CounterVec
	maintDuration   prometheus.Histogram
	maintStarted    time.Time // touched by Observe only, on the supervisor goroutine
}

// NewMetrics returns the event counters; pass it in tasks.Options.Observers and
// in Options.Metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "procmon_task_restarts_total", Help: "Restarts of the task's instances.",
		}, []string{"task"}),
		exits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "procmon_task_exits_total", Help: "Exits of the task's processes, by exit code (128+N for signal N).",
		}, []string{"task", "code"}),
		monitorFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "procmon_monitor_failures_total", Help: "Failed liveness checks, and ready_timeouts or wait_fors that ran out (monitor: the first still to pass).",
		}, []string{"task", "monitor"}),
		orphans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "procmon_orphans_reaped_total", Help: "Orphaned processes reaped by procmon as init or subreaper.",
		}),
		maintRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "procmon_maintenance_runs_total", Help: "Maintenance cycles, by result (success or failure).",
		}, []string{"result"}),
		maintDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "procmon_maintenance_duration_seconds", Help: "Duration of maintenance cycles, from stopping the tasks to the command's end.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 s to about 4.5 h
		}),
	}
	m.reg.MustRegister(m.restarts, m.exits, m.monitorFailures, m.orphans, m.maintRuns, m.maintDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe implements tasks.Observer. Counting is lock-free, so the supervisor
// never waits on a scrape.
func (m *Metrics) Observe(ev tasks.Event) {
	switch ev.Type {
	case tasks.EvTaskStarted:
		m.restarts.WithLabelValues(ev.Task) // the series exists (at 0) from the first start on
	case tasks.EvTaskBackoff: // the engine counts a restart when it schedules one
		m.restarts.WithLabelValues(ev.Task).Inc()
	case tasks.EvTaskExited:
		m.exits.WithLabelValues(ev.Task, code(ev.ExitCode)).Inc()
	case tasks.EvMonitorFailed:
		m.monitorFailures.WithLabelValues(ev.Task, ev.Monitor).Inc()
	case tasks.EvOrphanReaped:
		m.orphans.Inc()
	case tasks.EvMaintenanceStarted:
		m.maintStarted = ev.Time
	case tasks.EvMaintenanceFinished:
		m.maintenanceFinished(ev)
	}
}

func (m *Metrics) maintenanceFinished(ev tasks.Event) {
	result := "failure"
	if ev.ExitCode != nil && *ev.ExitCode == 0 {
		result = "success"
	}
	m.maintRuns.WithLabelValues(result).Inc()
	if !m.maintStarted.IsZero() {
		m.maintDuration.Observe(ev.Time.Sub(m.maintStarted).Seconds())
		m.maintStarted = time.Time{}
	}
}

func code(c *int) string {
	if c == nil {
		return "unknown"
	}
	return strconv.Itoa(*c)
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// watch adds the gauges read from the engine's status at scrape time.
func (m *Metrics) watch(e Engine) {
	_ = m.reg.Register(&taskCollector{engine: e}) // a second server on the same Metrics shares the first one's
}
