package config

import (
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// Config is a fully validated configuration: every duration parsed, every signal
// resolved, every default applied. Nothing downstream re-reads raw TOML.
type Config struct {
	File        string // path the configuration was read from
	Procmon     Global
	Tasks       map[string]*Task
	Monitors    map[string]*Monitor
	Maintenance *Maintenance // nil when the file has no [maintenance]
	Notify      []*Notify
	Honeycomb   Honeycomb
	Graph       *Graph // parent/child relations of Tasks, computed once at load
}

// Global holds the [procmon] table.
type Global struct {
	LogLevel        logrus.Level
	LogFormat       string // "text" or "json"
	LogFile         string // "" = stderr
	Socket          string // resolved path; "" = control socket disabled
	HTTP            string
	HTTPToken       string
	Pidfile         string
	Journal         string
	ServicesDir     string
	StopTimeout     time.Duration
	ShutdownTimeout time.Duration // 0 = unbounded
	Subreaper       bool
	LoadMetric      string // what load_high and load_low compare with: LoadAverage or CPUPressure
}

// Load metrics for load_high and load_low.
const (
	LoadAverage = "loadavg"      // the 1-minute load average of /proc/loadavg
	CPUPressure = "cpu_pressure" // the cgroup's cpu.pressure "some avg60", in percent
)

// TaskType says whether a task is expected to keep running or to run to completion.
type TaskType string

// Task types.
const (
	Service TaskType = "service"
	Oneshot TaskType = "oneshot"
)

// RestartPolicy decides whether an exited task process runs again.
type RestartPolicy string

// Restart policies.
const (
	RestartAlways    RestartPolicy = "always"
	RestartOnFailure RestartPolicy = "on-failure"
	RestartNever     RestartPolicy = "never"
)

// Output destinations besides a file path.
const (
	OutputInherit = "inherit"
	OutputDiscard = "discard"
	OutputStdout  = "stdout" // stderr only: share the stdout destination
)

// MaxInstances bounds a task's instances, in the file and in a scale request
// alike: a typo such as 1000000 would otherwise fork until the machine chokes.
const MaxInstances = 1024

// Task is one validated [tasks.NAME] table.
type Task struct {
	Name            string
	Line            int      // line of the task's table header, for messages
	Command         []string // argv; a string command is ["/bin/sh", "-c", s]
	Type            TaskType
	Parents         []string
	Autostart       bool
	Instances       int
	Restart         RestartPolicy
	ExitCodes       []int
	StartTime       time.Duration
	StartRetries    int // -1 = never give up
	RestartDelay    time.Duration
	RestartDelayMax time.Duration
	StopSignal      syscall.Signal
	StopTimeout     time.Duration
	MaxRuntime      time.Duration // 0 = unbounded
	WaitFor         []string      // monitor names
	Ready           []string      // monitor names
	ReadyTimeout    time.Duration
	Monitors        []string // monitor names (liveness)
	Critical        bool
	Dir             string
	Env             map[string]string
	User            string
	Group           string
	Umask           int // -1 = inherited
	Stdout          string
	Stderr          string
	LogMaxSize      int64 // bytes; 0 = no rotation
	LogBackups      int
	LogCommand      []string // nil = none
	LoadHigh        float64
	LoadLow         float64
}

// ExpectedExit reports whether code is one of the task's exit_codes.
func (t *Task) ExpectedExit(code int) bool {
	for _, c := range t.ExitCodes {
		if c == code {
			return true
		}
	}
	return false
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

// Monitor is one validated [monitors.NAME] table. Which fields matter depends on Type.
type Monitor struct {
	Name         string
	Line         int
	Type         string // http, redis, port_in_use, port_available, exec, notify, retry, fail, all, any
	Interval     time.Duration
	Timeout      time.Duration
	InitialDelay time.Duration

	URL          string            // http
	Method       string            // http
	Headers      map[string]string // http
	ExpectStatus []StatusRange     // http

	Address  []string // redis (exactly one), port_in_use, port_available
	Password string   // redis
	DB       int      // redis

	Command []string // exec

	Monitor  string   // retry, fail: the wrapped monitor
	Retries  int      // retry
	Children []string // all, any: the `monitors` key
}

// Maintenance is the validated [maintenance] table.
type Maintenance struct {
	Command   []string
	Dir       string
	Env       map[string]string
	User      string
	Group     string
	Stdout    string
	Stderr    string
	Timeout   time.Duration
	OnFailure string // "resume" or "exit"
}

// Notify is one validated [[notify]] entry.
type Notify struct {
	Type     string // email, webhook, exec
	Events   []string
	SMTP     string
	From     string
	To       []string
	Username string
	Password string
	URL      string
	Command  []string
}

// Honeycomb is the validated [honeycomb] table. An empty APIKey turns it off.
type Honeycomb struct {
	APIKey     string
	Dataset    string
	APIHost    string
	SampleRate uint
}
