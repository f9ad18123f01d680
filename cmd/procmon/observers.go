package main

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/alert"
	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/journal"
	"github.com/procmon/procmon/signals"
	"github.com/procmon/procmon/tasks"
	"github.com/procmon/procmon/telemetry"
)

// observers opens what records the supervisor's events: the journal, Honeycomb
// traces and alerts. The journal comes first: its lock is what tells a second
// procmon on the same files to stop before it touches anything, and the leftovers
// of a previous run are stopped before anything starts. closeAll flushes them all
// after Run.
func observers(cfg *config.Config, reaper *signals.Reaper, log *logrus.Logger) (list []tasks.Observer, closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		var wg sync.WaitGroup // slow endpoints are waited for side by side
		for _, c := range closers {
			wg.Add(1)
			go func() { defer wg.Done(); c() }()
		}
		wg.Wait()
	}
	if path := cfg.Procmon.Journal; path != "" {
		j, err := journal.Open(path, log)
		if err != nil {
			return nil, closeAll, err
		}
		closers = append(closers, func() { _ = j.Close() })
		if os.Getpid() != 1 { // as PID 1 a previous run's processes died with it
			if err := journal.Cleanup(path, stopSettings(cfg), log); err != nil {
				log.WithError(err).Warn("cannot read the previous journal")
			}
		}
		list = append(list, j)
	}
	tracer, err := telemetry.New(cfg.Honeycomb, log)
	if err != nil {
		closeAll()
		return nil, func() {}, err
	}
	closers = append(closers, tracer.Close)
	notifier := alert.New(cfg.Notify, alert.Deps{Start: reaper.Start}, log)
	closers = append(closers, notifier.Close)
	return append(list, tracer, notifier), closeAll, nil
}

// stopSettings stops what a previous run left of a task as procmon stops the task
// itself, when the configuration still has it, and with SIGTERM and the global
// stop_timeout otherwise.
func stopSettings(cfg *config.Config) journal.StopFunc {
	return func(task string) (unix.Signal, time.Duration) {
		if t, ok := cfg.Tasks[task]; ok {
			return t.StopSignal, t.StopTimeout
		}
		return unix.SIGTERM, cfg.Procmon.StopTimeout
	}
}
