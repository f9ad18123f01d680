package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/api"
	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/journal"
	"github.com/procmon/procmon/monitors"
	"github.com/procmon/procmon/services"
	"github.com/procmon/procmon/signals"
	"github.com/procmon/procmon/tasks"
)

// runSupervisor is procmon's main job. The order matters: signals are registered
// before anything can be spawned or signalled (as PID 1, an unregistered SIGTERM
// would be ignored by the kernel, and a SIGCHLD before registration lost), the
// configuration is validated completely before anything starts, and the subreaper
// is set before the first child exists.
func runSupervisor(a args) int {
	if !takesNothing("run", "procmon [-c FILE] [run]", a.rest) {
		return 2
	}
	return superviseWith(func() (*config.Config, error) {
		cfg, err := config.Load(a.config)
		if err == nil && a.socket != "" { // -s names the socket to serve, as it names the one to reach
			cfg.Procmon.Socket = a.socket
		}
		return cfg, err
	}, tasks.Options{})
}

// superviseWith registers for signals, then builds the configuration with load
// (its error is printed as it is, exit 2) and supervises it.
func superviseWith(load func() (*config.Config, error), opts tasks.Options) int {
	reaper := signals.NewReaper(nil)
	listener := signals.Listen(reaper)
	defer listener.Stop()

	cfg, err := load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return supervise(cfg, reaper, listener, opts)
}

// supervise runs the supervisor on a validated configuration; opts may carry
// the options of single-command mode.
func supervise(cfg *config.Config, reaper *signals.Reaper, listener *signals.Listener, opts tasks.Options) int {
	log, logFile, closeLog, err := newLogger(cfg.Procmon)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procmon: %v\n", err)
		return 2
	}
	defer closeLog() // last: the observers log until they are flushed
	if dir := cfg.Procmon.ServicesDir; dir != "" {
		if err := config.ServicesDirProblem(dir); err != nil {
			cannotStart(log, logFile, "cannot start", err)
			return 2
		}
	}
	monitors.RouteRedisLogs(log)
	signals.BecomeInit(cfg.Procmon.Subreaper, log)
	recorders, closeRecorders, reloadRecorders, err := observers(cfg, reaper, log)
	if err != nil {
		cannotStart(log, logFile, "cannot start", err)
		return startFailure(err)
	}
	var flushBy time.Time // the end of the shutdown budget, once there is one
	defer func() { flushObservers(closeRecorders, flushBy, listener.Events(), log) }()
	if err := writePidfile(cfg.Procmon.Pidfile); err != nil {
		cannotStart(log, logFile, "cannot start", err)
		return startFailure(err)
	}
	defer removePidfile(cfg.Procmon.Pidfile)
	opts.Config, opts.Reaper, opts.Signals, opts.Log = cfg, reaper, listener.Events(), log
	opts.Reloaded = reloadRecorders
	if logFile != nil {
		opts.ReopenLog = logFile.Reopen
	}
	metrics := api.NewMetrics()
	opts.Observers = append(append(opts.Observers, recorders...), metrics)
	sup, err := tasks.New(opts)
	if err != nil {
		cannotStart(log, logFile, "cannot start", err)
		return 1
	}
	stopAPI, err := serveAPI(cfg.Procmon, sup, metrics, log)
	if err != nil {
		cannotStart(log, logFile, "cannot start the control API", err)
		return 1
	}
	defer stopAPI()
	if dir := cfg.Procmon.ServicesDir; dir != "" {
		defer watchServices(dir, sup, log)()
	}
	code := sup.Run(context.Background())
	flushBy, _ = sup.ShutdownDeadline()
	return code
}

// cannotStart logs why procmon cannot start, and says it on stderr too when the
// log goes to a file: whoever started procmon (a terminal, `docker logs`) must
// learn why it exited, and the file may even be another procmon's.
func cannotStart(log logrus.FieldLogger, file *logFile, what string, err error) {
	log.WithError(err).Error(what)
	if file != nil {
		fmt.Fprintf(os.Stderr, "procmon: %s: %v\n", what, err)
	}
}

// flushObservers lets the observers send what they still hold, by deadline when
// it is not zero. A SIGINT or SIGTERM meanwhile cuts it short: the orchestrator
// wants procmon gone now, and what is left is discarded (and counted).
func flushObservers(closeAll func(context.Context), deadline time.Time, sigs <-chan signals.Event, log logrus.FieldLogger) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !deadline.IsZero() {
		var stop context.CancelFunc
		ctx, stop = context.WithDeadline(ctx, deadline)
		defer stop()
	}
	done := make(chan struct{})
	go func() {
		closeAll(ctx)
		close(done)
	}()
	for {
		select {
		case <-done:
			return
		case ev := <-sigs:
			if ev.Action == signals.Shutdown {
				log.WithField("signal", ev.Signal.String()).Warn("signal while flushing journal, traces and alerts: exiting at once")
				cancel()
			}
		}
	}
}

// startFailure is the exit code of a start refused for err. Another procmon
// holding the journal or the pidfile is a conflict at run time, exit 1 as one
// serving the socket is (SPEC 1 keeps 2 for usage and configuration); anything
// else refused here, a journal path that cannot be opened say, is the
// configuration's.
func startFailure(err error) int {
	if errors.Is(err, journal.ErrLocked) || errors.Is(err, errAlreadyRunning) {
		return 1
	}
	return 2
}

// watchServices feeds services_dir to the supervisor from a goroutine of its own:
// the first report waits for Run to take it. It returns the function that stops it.
func watchServices(dir string, sup *tasks.Supervisor, log *logrus.Logger) (stop func()) {
	started := make(chan *services.Watcher, 1)
	go func() {
		w, err := services.Watch(dir, log, func(list []services.Service) { _ = sup.SetServices(list) })
		if err != nil {
			log.WithError(err).Error("cannot watch services_dir")
		}
		started <- w
	}()
	return func() {
		if w := <-started; w != nil {
			w.Close()
		}
	}
}
