package tasks

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/output"
	"github.com/procmon/procmon/services"
	"github.com/procmon/procmon/signals"
)

// Options configure a Supervisor.
type Options struct {
	Config    *config.Config
	Reaper    *signals.Reaper
	Signals   <-chan signals.Event // nil: no OS signals (tests drive shutdown through ctx)
	Log       *logrus.Logger
	Observers []Observer
	Stdout    io.Writer // where "inherit" task output goes; default os.Stdout
	Stderr    io.Writer // default os.Stderr
	// ForwardSignals (procmon exec): SIGTERM, SIGINT or SIGQUIT reaches the tasks
	// as it is and procmon exits with the code of the first task's last exit;
	// every other signal procmon catches is passed on instead of acted upon; a
	// command that cannot be executed ends procmon with 127 or 126. As tini does.
	ForwardSignals bool
	// DirectOutput (procmon exec): "inherit" hands the tasks procmon's own stdout
	// and stderr, with no prefix and no pipe in between.
	DirectOutput bool
	// InheritStdin (procmon exec, one task): the task reads procmon's own stdin,
	// and when that is procmon's controlling terminal its process group becomes
	// the terminal's foreground group, as tini does.
	InheritStdin bool
	// ReopenLog reopens procmon's own log file on SIGUSR2 (nil: nothing to reopen).
	ReopenLog func() error
	// Reloaded is given the file's configuration each time a reload is applied,
	// on the supervisor goroutine, before the reload event: for what lives
	// outside the task tree.
	Reloaded func(*config.Config)
	// Load and LoadInterval replace how and how often load_high and load_low are
	// read (default: [procmon] load_metric, every 5 s).
	Load         LoadSource
	LoadInterval time.Duration
}

// Supervisor runs the task tree of one configuration. All of its state belongs to
// the goroutine that calls Run; everything else (the reaper, timers, monitors,
// control requests) only posts events to it.
type Supervisor struct {
	cfg  *config.Config
	file string // the configuration file, for reloads
	// reloading is held from reading the file to applying it, so that reloads
	// that overlap apply the files in the order they read them.
	reloading sync.Mutex
	fileCfg   *config.Config // what the file says, without services_dir's tasks
	// boot is [procmon] as procmon started with it: the keys read only at
	// start (services_dir, sockets, files) stay as they were until a restart.
	boot     config.Global
	services []services.Service
	// ignoredServices are the files of services_dir left out, and why: logged once.
	ignoredServices map[string]string
	reaper          *signals.Reaper
	log             *logrus.Logger
	observers       []Observer
	sigs            <-chan signals.Event
	hub             *output.Hub
	files           *outputFiles   // task output files, shared by path
	releases        sync.WaitGroup // task outputs released after their last pipe ended
	stdout          *output.Writer // where "inherit" output goes
	stderr          *output.Writer
	devNull         *os.File // every task's discarded output
	stdin           *os.File // every task's stdin: devNull, or procmon's own (InheritStdin)
	takeTTY         bool     // stdin is procmon's controlling terminal: hand its foreground over

	tasks   map[string]*task
	order   []*task     // topological, parents first
	spawns  []*instance // decided by the reconcile pass under way, launched at its end
	waiters []*waiter   // Awaits whose action has not taken effect yet
	pass    int         // counts reconcile passes, for what a pass works out once

	events chan any
	done   chan struct{}

	shutdown  *shutdownState    // nil until a shutdown begins
	maint     *maintenanceState // nil outside a maintenance cycle
	exitCode  int
	draining  map[*run]struct{} // runs whose leader exited but whose group lives on
	adopts    bool              // orphans of tasks come back to procmon (PID 1 or subreaper)
	notifyDir string            // notify monitors' sockets; "" until one is needed
	forward   bool              // ForwardSignals
	forwarded syscall.Signal    // the signal passed on, once a shutdown began that way
	direct    bool              // DirectOutput
	reopenLog func() error
	reloaded  func(*config.Config)
	baseEnv   []string // procmon's environment as every task inherits it

	loadSource   LoadSource
	loadInterval time.Duration
	stopLoad     func() // ends the load sampling; nil while no task uses load_high
}

type task struct {
	removed   bool // gone from the configuration; forgotten once its processes are
	service   bool // comes from services_dir
	cfg       *config.Task
	instances []*instance
	parents   []*task
	children  []*task
	followers map[*output.Follower][]func() // `logs -f` readers, and how to let each go
	below     struct {
		pass int  // the reconcile pass that worked busy out
		busy bool // a task below has a process
	}
}

// New builds a supervisor for opts.Config. Nothing starts before Run.
func New(opts Options) (*Supervisor, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	hub, err := output.NewHub()
	if err != nil {
		devNull.Close()
		return nil, fmt.Errorf("output: %w", err)
	}
	s := &Supervisor{
		cfg:          opts.Config,
		file:         opts.Config.File,
		fileCfg:      opts.Config,
		boot:         opts.Config.Procmon,
		reaper:       opts.Reaper,
		log:          opts.Log,
		observers:    opts.Observers,
		sigs:         opts.Signals,
		hub:          hub,
		devNull:      devNull,
		stdin:        devNull,
		files:        &outputFiles{byPath: map[string]*sharedFile{}, log: opts.Log},
		stdout:       output.NewWriter(opts.Stdout, nil),
		stderr:       output.NewWriter(opts.Stderr, nil),
		tasks:        map[string]*task{},
		events:       make(chan any, 4096),
		done:         make(chan struct{}),
		draining:     map[*run]struct{}{},
		adopts:       os.Getpid() == 1 || opts.Config.Procmon.Subreaper,
		forward:      opts.ForwardSignals,
		direct:       opts.DirectOutput,
		reopenLog:    opts.ReopenLog,
		reloaded:     opts.Reloaded,
		baseEnv:      inheritedEnv(),
		loadSource:   opts.Load,
		loadInterval: opts.LoadInterval,
	}
	if s.loadSource == nil {
		s.loadSource = loadSourceFor(opts.Config.Procmon.LoadMetric)
	}
	if s.loadInterval <= 0 {
		s.loadInterval = defaultLoadInterval
	}
	if opts.InheritStdin {
		s.stdin, s.takeTTY = os.Stdin, isControllingTerminal(os.Stdin)
	}
	s.reaper.SetOrphanHandler(func(e signals.Exit) { s.post(orphanEvent{e}) })
	s.buildTree(opts.Config)
	return s, nil
}

func (s *Supervisor) buildTree(cfg *config.Config) {
	for _, name := range cfg.Graph.Order() {
		s.order = append(s.order, s.newTask(cfg.Tasks[name]))
	}
	s.relink(cfg, s.order)
}

// Run supervises until procmon should exit and returns its exit code (SPEC 3.6):
// 0 after a requested shutdown, a critical task's code, or the verdict on tasks
// that all ended by themselves. Cancelling ctx is a requested shutdown.
func (s *Supervisor) Run(ctx context.Context) int {
	defer close(s.done)
	s.emit(Event{Type: EvProcmonStarted, Pid: os.Getpid()})
	s.watchLoad()
	s.reconcile()
	// Loading the configuration and the first spawns leave megabytes of garbage.
	// An idle procmon allocates too little for the collector ever to hand that
	// memory back to the OS, so it is returned now, once.
	debug.FreeOSMemory()
	for {
		s.stepMaintenance()
		if s.finished() {
			break
		}
		select {
		case ev := <-s.events:
			s.handle(ev)
		case sig := <-s.sigs:
			s.onSignal(sig)
		case <-ctx.Done():
			s.beginShutdown(0)
			ctx = context.Background()
		}
		s.reconcile()
		s.settleWaiters()
	}
	if s.stopLoad != nil {
		s.stopLoad()
	}
	if s.shutdown != nil && s.shutdown.timer != nil {
		s.shutdown.timer.Stop()
	}
	if s.forwarded != 0 {
		s.exitCode = s.forwardedExitCode()
	}
	s.killStrays()
	s.closeOutput()
	s.devNull.Close()
	if s.notifyDir != "" {
		os.RemoveAll(s.notifyDir)
	}
	s.emit(Event{Type: EvProcmonStopped, ExitCode: &s.exitCode})
	return s.exitCode
}

// post hands an event to the supervisor goroutine; after Run has returned it is dropped.
func (s *Supervisor) post(ev any) {
	select {
	case s.events <- ev:
	case <-s.done:
	}
}

type exitEvent struct {
	run  *run
	exit signals.Exit
}

type orphanEvent struct{ exit signals.Exit }

type timerKind int

const (
	timerBackoff timerKind = iota
	timerKill
	timerRecheck
	timerMaxRuntime
	timerReadyTimeout
	timerShutdown
	timerWaitFor
	timerMaintenance
)

type timerEvent struct {
	kind timerKind
	inst *instance
	run  *run
	pre  *preSpawn
	gen  int
}

func (s *Supervisor) after(d time.Duration, ev timerEvent) *time.Timer {
	return time.AfterFunc(d, func() { s.post(ev) })
}

func (s *Supervisor) handle(ev any) {
	switch ev := ev.(type) {
	case exitEvent:
		if m := s.maint; m != nil && ev.run == m.run {
			s.onMaintenanceExit(ev.run, ev.exit)
			return
		}
		s.onExit(ev.run, ev.exit)
	case orphanEvent:
		s.emit(Event{Type: EvOrphanReaped, Pid: ev.exit.Pid, Time: ev.exit.Time})
		s.recheckDraining()
	case timerEvent:
		s.onTimer(ev)
	case monitorEvent:
		s.onMonitor(ev)
	case loadEvent:
		s.onLoad(ev)
	case request:
		ev.fn()
		close(ev.done)
	}
}

func (s *Supervisor) onTimer(ev timerEvent) {
	switch ev.kind {
	case timerBackoff:
		s.onBackoffDone(ev.inst, ev.gen)
	case timerWaitFor:
		s.onWaitForTimeout(ev.inst, ev.pre)
	case timerMaintenance:
		if m := s.maint; m != nil && ev.run == m.run {
			s.onMaintenanceTimeout(ev.run)
		}
	case timerShutdown:
		s.log.Warn("shutdown timeout: killing every remaining process")
		s.killAll()
	default:
		if ev.run.inst.run != ev.run {
			return // the run is gone; its timers are stale
		}
		s.onRunTimer(ev.run, ev.kind)
	}
}

func (s *Supervisor) onSignal(ev signals.Event) {
	if s.forward && ev.Action != signals.Shutdown {
		s.forwardSignal(ev.Signal)
		return
	}
	switch ev.Action {
	case signals.Shutdown:
		s.onShutdownSignal(ev.Signal)
	case signals.Maintenance:
		_ = s.beginMaintenance() // logs why when it cannot start
	case signals.Reload:
		go func() { _ = s.reload(true) }() // reload goes through Do, which the loop itself must not wait on
	case signals.ReopenLogs:
		s.reopenLogs()
	case signals.Forward:
		s.log.WithField("signal", signalName(ev.Signal)).Debug("signal ignored: only procmon exec passes it on")
	}
}

// forwardSignal passes sig on to the process group of every running task
// process, in place of any action of procmon's own (SPEC 5).
func (s *Supervisor) forwardSignal(sig syscall.Signal) {
	sent := false
	for _, t := range s.order {
		sent = t.signal(sig) || sent
	}
	if !sent {
		s.log.WithField("signal", signalName(sig)).Debug("signal dropped: no process to pass it on to")
	}
}

// request runs fn on the supervisor goroutine: the one way in for the control API.
type request struct {
	fn   func()
	done chan struct{}
}

// Do runs fn on the supervisor goroutine and waits for it; it returns false when
// the supervisor has already stopped.
func (s *Supervisor) Do(fn func()) bool {
	r := request{fn: fn, done: make(chan struct{})}
	select {
	case s.events <- r:
	case <-s.done:
		return false
	}
	select {
	case <-r.done:
		return true
	case <-s.done:
		return false
	}
}

// closeOutput lets the hub write the last lines of the last processes, then
// closes the tasks' files and loggers, those of outputs let go earlier included.
func (s *Supervisor) closeOutput() {
	s.hub.Close(time.Second)
	for _, t := range s.order {
		for _, i := range t.instances {
			if i.output != nil {
				i.output.close()
			}
		}
	}
	s.releases.Wait()
	// The last lines go out now, however slowly they are read; a stream nobody
	// reads for a second is left behind rather than hang procmon.
	for name, w := range map[string]*output.Writer{"stdout": s.stdout, "stderr": s.stderr} {
		if n := w.Close(time.Second); n > 0 {
			s.log.WithField("lines", n).Warn("procmon's " + name + " is not read: lines left unwritten at exit")
		}
	}
}

// reopenLogs opens procmon's log file and every task output file anew (SIGUSR2,
// for logrotate). Failures are logged: output keeps going to the old files.
func (s *Supervisor) reopenLogs() {
	if s.reopenLog != nil {
		if err := s.reopenLog(); err != nil {
			s.log.WithError(err).Error("cannot reopen log_file")
		}
	}
	if err := s.files.reopen(); err != nil {
		s.log.WithError(err).Error("cannot reopen an output file")
	}
	s.log.Info("log files reopened")
}
