package tasks

import (
	"time"

	"github.com/sirupsen/logrus"
)

// Event types, as the journal names them (SPEC 3.8).
const (
	EvProcmonStarted      = "procmon_started"
	EvTaskStarted         = "task_started"
	EvTaskReady           = "task_ready"
	EvTaskExited          = "task_exited"
	EvMonitorFailed       = "monitor_failed"
	EvTaskBackoff         = "task_backoff"
	EvTaskFatal           = "task_fatal"
	EvSubtreeStopped      = "subtree_stopped"
	EvReload              = "reload"
	EvMaintenanceStarted  = "maintenance_started"
	EvMaintenanceFinished = "maintenance_finished"
	EvShutdownStarted     = "shutdown_started"
	EvProcmonStopped      = "procmon_stopped"
	// Not journal types: they are logged, and observers may count them.
	EvStartFailed  = "task_start_failed" // no process was created (exec error, unknown user)
	EvStopTimeout  = "stop_timeout"
	EvOrphanReaped = "orphan_reaped"
)

// Event is one thing that happened to a task or to procmon, emitted from the
// supervisor goroutine only, so each appears exactly once in logs, journal and traces.
type Event struct {
	Time     time.Time `json:"time"` // for exits and reaps, when wait4 returned the status
	Type     string    `json:"type"`
	Task     string    `json:"task,omitempty"`
	Instance int       `json:"instance"`
	Pid      int       `json:"pid,omitempty"`
	ExitCode *int      `json:"exit_code,omitempty"`
	Signal   string    `json:"signal,omitempty"`
	Error    string    `json:"error,omitempty"`
	Monitor  string    `json:"monitor,omitempty"`
	Tasks    []string  `json:"tasks,omitempty"`
	Delay    string    `json:"delay,omitempty"`
	// StartTime is a started process's start time in clock ticks after boot
	// (/proc/PID/stat field 22): with Pid, it tells this process from a later
	// holder of the pid.
	StartTime uint64 `json:"start_time,omitempty"`
}

// Observer receives every event on the supervisor goroutine, the journal types
// and the log-only ones alike (it picks what it records); it must not block.
type Observer interface {
	Observe(Event)
}

var eventMessages = map[string]struct {
	msg   string
	level logrus.Level
}{
	EvProcmonStarted:      {"procmon started", logrus.InfoLevel},
	EvTaskStarted:         {"task started", logrus.InfoLevel},
	EvTaskReady:           {"task ready", logrus.InfoLevel},
	EvTaskExited:          {"task exited", logrus.InfoLevel},
	EvMonitorFailed:       {"monitor failed", logrus.WarnLevel},
	EvTaskBackoff:         {"task backoff", logrus.InfoLevel},
	EvTaskFatal:           {"task fatal", logrus.ErrorLevel},
	EvSubtreeStopped:      {"subtree stopped", logrus.InfoLevel},
	EvReload:              {"configuration reloaded", logrus.InfoLevel},
	EvMaintenanceStarted:  {"maintenance started", logrus.InfoLevel},
	EvMaintenanceFinished: {"maintenance finished", logrus.InfoLevel},
	EvShutdownStarted:     {"shutdown started", logrus.InfoLevel},
	EvProcmonStopped:      {"procmon stopped", logrus.InfoLevel},
	EvStartFailed:         {"task failed to start", logrus.ErrorLevel},
	EvStopTimeout:         {"stop timeout: killing process group", logrus.WarnLevel},
	EvOrphanReaped:        {"reaped orphan", logrus.DebugLevel},
}

func (s *Supervisor) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	m := eventMessages[ev.Type]
	level := m.level
	if ev.Type == EvMaintenanceFinished && *ev.ExitCode != 0 {
		level = logrus.WarnLevel // a backup that failed must stand out from one that worked
	}
	if s.log.IsLevelEnabled(level) {
		s.log.WithFields(ev.fields()).Log(level, m.msg)
	}
	for _, o := range s.observers {
		o.Observe(ev)
	}
}

func (ev Event) fields() logrus.Fields {
	f := logrus.Fields{}
	if ev.Task != "" {
		f["task"] = ev.Task
		f["instance"] = ev.Instance
	}
	if ev.Pid != 0 {
		f["pid"] = ev.Pid
	}
	if ev.ExitCode != nil {
		f["exit_code"] = *ev.ExitCode
	}
	if ev.Signal != "" {
		f["signal"] = ev.Signal
	}
	if ev.Error != "" {
		f["error"] = ev.Error
	}
	if ev.Monitor != "" {
		f["monitor"] = ev.Monitor
	}
	if len(ev.Tasks) > 0 {
		f["tasks"] = ev.Tasks
	}
	if ev.Delay != "" {
		f["delay"] = ev.Delay
	}
	return f
}
