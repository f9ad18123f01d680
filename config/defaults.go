package config

import (
	"time"

	"github.com/sirupsen/logrus"
)

// Every default lives here. Builders start from these values and overwrite only
// what the file sets, so no code downstream needs a fallback of its own.

// defaultEvents are the journal events a [[notify]] entry sends when it names none.
var defaultEvents = []string{"task_fatal", "monitor_failed", "maintenance_finished"}

func defaultGlobal() Global {
	return Global{
		LogLevel:    logrus.InfoLevel,
		LogFormat:   "text",
		Socket:      DefaultSocket(),
		StopTimeout: 10 * time.Second,
		Subreaper:   true,
		LoadMetric:  LoadAverage,
	}
}

// defaultTask depends on the task's type (the restart policy) and on [procmon]
// (stop_timeout), so those are read before it is called.
func defaultTask(name string, typ TaskType, g *Global) Task {
	restart := RestartAlways
	if typ == Oneshot {
		restart = RestartOnFailure
	}
	return Task{
		Name:            name,
		Type:            typ,
		Autostart:       true,
		Instances:       1,
		Restart:         restart,
		ExitCodes:       []int{0},
		StartTime:       time.Second,
		StartRetries:    3,
		RestartDelay:    time.Second,
		RestartDelayMax: time.Minute,
		StopSignal:      signalNames["TERM"],
		StopTimeout:     g.StopTimeout,
		ReadyTimeout:    60 * time.Second,
		Umask:           -1,
		Stdout:          OutputInherit,
		Stderr:          OutputInherit,
		LogBackups:      3,
	}
}

// defaultMonitor leaves wrappers without a schedule: they react to the monitors
// they wrap, which keep their own.
func defaultMonitor(name, typ string) Monitor {
	m := Monitor{Name: name, Type: typ}
	if !wrapperTypes[typ] {
		m.Interval, m.Timeout = 5*time.Second, 2*time.Second
	}
	switch typ {
	case "http":
		m.Method = "GET"
		m.ExpectStatus = []StatusRange{{Lo: 200, Hi: 299}}
	case "retry":
		m.Retries = 3
	}
	return m
}

func defaultMaintenance() Maintenance {
	return Maintenance{
		Stdout:    OutputInherit,
		Stderr:    OutputInherit,
		Timeout:   time.Hour,
		OnFailure: "resume",
	}
}

func defaultNotify() Notify {
	return Notify{Events: append([]string(nil), defaultEvents...)}
}

func defaultHoneycomb() Honeycomb {
	return Honeycomb{
		Dataset:    "procmon",
		APIHost:    "https://api.honeycomb.io",
		SampleRate: 1,
	}
}

// NewTask returns a task with every default applied, for tasks that come from
// outside a file: `procmon exec` and the executables of services_dir.
func NewTask(name string, typ TaskType, g Global, command []string) *Task {
	t := defaultTask(name, typ, &g)
	t.Command = command
	return &t
}

// Empty returns a configuration without tasks and with every default applied.
func Empty() *Config {
	g, _ := NewGraph(nil)
	return &Config{
		Procmon:  defaultGlobal(),
		Tasks:    map[string]*Task{},
		Monitors: map[string]*Monitor{},
		Graph:    g,
	}
}
