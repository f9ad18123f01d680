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

func (c *taskCollector) Collect(ch chan<- prometheus.Metric) {
	type counts struct{ up, ready int }
	var order []string
	byTask := map[string]*counts{}
	for _, st := range c.engine.Status() {
		n := byTask[st.Name]
		if n == nil {
			n = &counts{}
			byTask[st.Name] = n
			order = append(order, st.Name)
		}
		if st.Pid != 0 {
			n.up++
		}
		if st.Ready {
			n.ready++
		}
	}
	for _, name := range order {
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, float64(byTask[name].up), name)
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, float64(byTask[name].ready), name)
	}
}
