package api

import "github.com/prometheus/client_golang/prometheus"

var (
	upDesc = prometheus.NewDesc("procmon_task_up",
		"Instances of the task with a running process.", []string{"task"}, nil)
	readyDesc = prometheus.NewDesc("procmon_task_ready",
		"Instances of the task that are ready (or completed, for a oneshot).", []string{"task"}, nil)
)

// taskCollector reads the instance counts from the engine at each scrape rather
// than tracking them from events, so they can never drift from the truth.
type taskCollector struct{ engine Engine }

func (c *taskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- upDesc
	ch <- readyDesc
}

// Collect gives every task its series, a task scaled to zero included: a series
// that vanished would go stale in Prometheus instead of reading 0, and alerts on
// it would never fire while /readyz says the task is not ready.
func (c *taskCollector) Collect(ch chan<- prometheus.Metric) {
	names, byTask := c.count()
	for _, name := range names {
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, float64(byTask[name].up), name)
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, float64(byTask[name].ready), name)
	}
}

type taskCounts struct{ up, ready int }

// count tallies the instances of every task, in start order.
func (c *taskCollector) count() ([]string, map[string]*taskCounts) {
	names := c.engine.TaskNames()
	byTask := map[string]*taskCounts{}
	for _, name := range names {
		byTask[name] = &taskCounts{}
	}
	for _, st := range c.engine.Status() {
		n := byTask[st.Name]
		if n == nil { // added by a reload between the two questions
			n = &taskCounts{}
			byTask[st.Name] = n
			names = append(names, st.Name)
		}
		if st.Pid != 0 {
			n.up++
		}
		if st.Ready {
			n.ready++
		}
	}
	return names, byTask
}
