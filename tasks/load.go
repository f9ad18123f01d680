package tasks

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

// LoadSource reads the machine's load in the unit of load_high and load_low.
type LoadSource func() (float64, error)

// defaultLoadInterval is how often the load is read, and only while some task
// has load_high set: the load average itself moves over a minute.
const defaultLoadInterval = 5 * time.Second

func loadSourceFor(metric string) LoadSource {
	if metric == config.CPUPressure {
		return readCPUPressure
	}
	return readLoadAverage
}

// readLoadAverage is the 1-minute load average.
func readLoadAverage() (float64, error) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	return parseLoadAverage(data)
}

func parseLoadAverage(data []byte) (float64, error) {
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, fmt.Errorf("/proc/loadavg: empty")
	}
	return strconv.ParseFloat(fields[0], 64)
}

// readCPUPressure is the share of the last minute (in percent) during which some
// task of procmon's cgroup waited for a CPU. Inside a container it measures the
// container's own contention, which the machine-wide load average cannot.
func readCPUPressure() (float64, error) {
	path, err := cgroupFile("cpu.pressure")
	if err != nil {
		return 0, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parsePressure(data)
}

// parsePressure reads "some avg60" of a PSI file.
func parsePressure(data []byte) (float64, error) {
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "some" {
			continue
		}
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(f, "avg60="); ok {
				return strconv.ParseFloat(v, 64)
			}
		}
	}
	return 0, fmt.Errorf("no \"some avg60\" in the pressure file")
}

// cgroupFile is a file of procmon's own cgroup (v2).
func cgroupFile(name string) (string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return "/sys/fs/cgroup" + strings.TrimSuffix(rest, "/") + "/" + name, nil
		}
	}
	return "", fmt.Errorf("no cgroup v2 entry in /proc/self/cgroup")
}

type loadEvent struct {
	value float64
	err   error
}

// watchLoad samples the load while some task uses load_high, and stops when none
// does, so procmon without such tasks never wakes up for it.
func (s *Supervisor) watchLoad() {
	needed := false
	for _, t := range s.order {
		needed = needed || (t.cfg.LoadHigh > 0 && !t.removed)
	}
	switch {
	case needed && s.stopLoad == nil:
		stop := make(chan struct{})
		s.stopLoad = func() { close(stop) }
		go s.sampleLoad(stop)
	case !needed && s.stopLoad != nil:
		s.stopLoad()
		s.stopLoad = nil
	}
}

func (s *Supervisor) sampleLoad(stop <-chan struct{}) {
	tick := time.NewTicker(s.loadInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			v, err := s.loadSource()
			s.post(loadEvent{v, err})
		case <-stop:
			return
		case <-s.done:
			return
		}
	}
}

// onLoad pauses ready tasks, and oneshots as they run, while the load is above
// their load_high, and resumes them below load_low (load_high when load_low is 0).
func (s *Supervisor) onLoad(ev loadEvent) {
	if ev.err != nil {
		s.log.WithError(ev.err).Warn("cannot read the load")
		return
	}
	for _, t := range s.order {
		high, low := t.cfg.LoadHigh, t.cfg.LoadLow
		if high <= 0 {
			continue
		}
		if low <= 0 {
			low = high
		}
		for _, i := range t.instances {
			switch {
			case i.pausable() && ev.value > high:
				s.pause(i, ev.value)
			case i.state == Paused && ev.value < low:
				s.resume(i, ev.value)
			}
		}
	}
}

// pausable: a ready service, or a oneshot at work, which is what pausing under
// load is most often for (a backup, a report). A service still becoming ready
// is not: its readiness checks would fail on a stopped process.
func (i *instance) pausable() bool {
	if i.state == Ready {
		return true
	}
	return i.task.cfg.Type == config.Oneshot && i.state == Starting && i.live() != nil && !i.live().stopRequested()
}

// pause stops the process group (SIGSTOP) and holds its liveness monitors, which
// a stopped process would fail. A ready task still counts as ready for the tasks
// below.
func (s *Supervisor) pause(i *instance, load float64) {
	r := i.run
	signals.SignalGroup(r.pid, stopSignal)
	r.paused, r.pausedFrom = true, i.state
	r.stopMonitors()
	s.setState(i, Paused)
	s.log.WithFields(i.event("").fields()).WithField("load", load).Info("task paused by load")
}

func (s *Supervisor) resume(i *instance, load float64) {
	r := i.run
	signals.SignalGroup(r.pid, contSignal)
	r.paused = false
	s.setState(i, r.pausedFrom)
	if r.pausedFrom == Ready {
		s.startLiveness(r)
	}
	s.log.WithFields(i.event("").fields()).WithField("load", load).Info("task resumed")
}
