package monitors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/signals"
)

// Monitor is one health check instance, owned by one run of one task instance (never
// shared, so counters never leak between instances or restarts).
type Monitor interface {
	// Run checks until ctx is done and calls report with each result (nil =
	// healthy, else the reason). report is never called concurrently and never
	// after Run returns. Run returns only after ctx is done and its own goroutines
	// and children are gone, except a check that ignores ctx, which is abandoned.
	Run(ctx context.Context, t Target, report func(error))
}

// Target is what the monitor watches.
type Target struct {
	Mode Mode
	Pgid int // process group of the task's run (0 before spawn, e.g. for wait_for)
}

// Mode is how a leaf check is scheduled.
type Mode int

// Modes.
const (
	// Steady is for liveness: the first check comes after initial_delay plus a
	// jitter of at most 10% of interval, so that tasks started together do not
	// probe in lockstep; then one check every interval.
	Steady Mode = iota
	// Polling is for readiness and wait_for: after initial_delay the first check
	// comes at once, then after 5 ms, the pause doubling up to interval, so that a
	// chain of parents comes up as fast as its services do.
	Polling
)

// Deps are what checks need from the engine.
type Deps struct {
	Start signals.StartFunc // Reaper.Start
	// The task's environment, for exec checks, and where notify monitors create
	// their datagram socket: asked for only by the monitors that use them, on
	// the goroutine calling New, as making them costs (a directory, say).
	Env func() []string
	// Who exec checks run as: the task's user and group (nil: procmon's own). A
	// check should have no more rights than the task it looks at.
	Credential func() (*syscall.Credential, error)
	// LookPath finds an exec check's program as the task's environment says
	// (nil: in procmon's PATH).
	LookPath  func(name string) (string, error)
	Dir       string // working dir for exec checks
	SocketDir func() string
	Log       logrus.FieldLogger // nil = discard
}

// Reasons the runner gives on its own, for callers that want to tell them apart.
var (
	ErrTimeout      = errors.New("timed out")
	ErrStillRunning = errors.New("previous check still running")
)

// node is what every Monitor built by New implements besides Run, so that Environ
// and Close can reach the leaves through any wrapper while callers keep a
// one-method interface.
type node interface {
	Monitor
	environ() []string
	close()
}

// New builds a fresh instance of the named monitor (recursively building the ones it
// wraps) from defs. Nothing is shared with other instances.
func New(name string, defs map[string]*config.Monitor, deps Deps) (Monitor, error) {
	if deps.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		deps.Log = l
	}
	b := builder{defs: defs, deps: deps, path: map[string]bool{}}
	return b.build(name)
}

// Environ returns the environment variables m needs in the task's process
// (NOTIFY_SOCKET=... for notify monitors, also inside wrappers); nil when none.
func Environ(m Monitor) []string {
	if n, ok := m.(node); ok {
		return n.environ()
	}
	return nil
}

// Close releases what New allocated (notify sockets, clients) if Run never ran; it
// is safe after Run too, and twice.
func Close(m Monitor) {
	if n, ok := m.(node); ok {
		n.close()
	}
}

type builder struct {
	defs map[string]*config.Monitor
	deps Deps
	path map[string]bool // monitors being built: a cycle would recurse forever
}

func (b builder) build(name string) (node, error) {
	def := b.defs[name]
	if def == nil {
		return nil, fmt.Errorf("monitor %q is not defined", name)
	}
	if b.path[name] {
		return nil, fmt.Errorf("monitor %q wraps itself", name)
	}
	b.path[name] = true
	defer delete(b.path, name)
	log := b.deps.Log.WithField("monitor", name)
	switch def.Type {
	case "retry", "fail":
		child, err := b.build(def.Monitor)
		if err != nil {
			return nil, fmt.Errorf("monitor %q: %w", name, err)
		}
		if def.Type == "fail" {
			return &fail{child: child}, nil
		}
		return &retry{name: name, child: child, retries: def.Retries, log: log}, nil
	case "all", "any":
		return b.combine(name, def)
	case "notify":
		return newNotify(name, b.deps.SocketDir, log)
	}
	if err := checkTiming(def); err != nil {
		return nil, fmt.Errorf("monitor %q: %w", name, err)
	}
	c, err := b.leaf(def)
	if err != nil {
		return nil, fmt.Errorf("monitor %q: %w", name, err)
	}
	return newRunner(name, def, c, log), nil
}

func (b builder) leaf(def *config.Monitor) (checker, error) {
	switch def.Type {
	case "http":
		return newHTTP(def)
	case "redis":
		return newRedis(def)
	case "port_in_use", "port_available":
		if len(def.Address) == 0 {
			return nil, errors.New("address is empty") // it would pass vacuously
		}
		if def.Type == "port_in_use" {
			return portInUse(def.Address), nil
		}
		return portAvailable(def.Address), nil
	case "exec":
		return newExec(def, b.deps)
	}
	return nil, fmt.Errorf("unknown type %q", def.Type)
}

func (b builder) combine(name string, def *config.Monitor) (node, error) {
	if len(def.Children) == 0 {
		return nil, fmt.Errorf("monitor %q: no monitors listed", name)
	}
	c := &combinator{name: name, decide: allOf}
	if def.Type == "any" {
		c.decide = anyOf
	}
	for _, childName := range def.Children {
		child, err := b.build(childName)
		if err != nil {
			c.close() // the children built so far may hold sockets
			return nil, fmt.Errorf("monitor %q: %w", name, err)
		}
		c.children = append(c.children, child)
	}
	return c, nil
}
