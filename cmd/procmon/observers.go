package main

import (
	"context"
	"reflect"
	"slices"
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
// after Run, until ctx is done at the latest; reload takes a reloaded
// configuration's [[notify]].
func observers(cfg *config.Config, reaper *signals.Reaper, log *logrus.Logger) (list []tasks.Observer, closeAll func(context.Context), reload func(*config.Config), err error) {
	var closers []func(context.Context)
	closeAll = func(ctx context.Context) {
		var wg sync.WaitGroup // slow endpoints are waited for side by side
		for _, c := range closers {
			wg.Go(func() { c(ctx) })
		}
		wg.Wait()
	}
	if path := cfg.Procmon.Journal; path != "" {
		j, err := journal.Open(path, log)
		if err != nil {
			return nil, closeAll, nil, err
		}
		closers = append(closers, func(context.Context) { _ = j.Close() })
		if err := journal.Cleanup(path, stopSettings(cfg), log); err != nil {
			log.WithError(err).Warn("cannot read the previous journal")
		}
		list = append(list, j)
	}
	tracer, err := telemetry.New(cfg.Honeycomb, log)
	if err != nil {
		closeAll(context.Background())
		return nil, func(context.Context) {}, nil, err
	}
	closers = append(closers, tracer.Close)
	notify := newAlerts(cfg.Notify, alert.Deps{Start: reaper.Start}, log)
	closers = append(closers, notify.Close)
	return append(list, tracer, notify), closeAll, notify.reload, nil
}

// alerts passes events to the notifier of the [[notify]] entries in force. A
// reload that changes them replaces it; the notifier replaced sends what it has
// queued in the background. Observe and reload run on the supervisor goroutine,
// Close after it.
type alerts struct {
	entries  []*config.Notify
	deps     alert.Deps
	log      logrus.FieldLogger
	current  *alert.Notifier
	replaced []*alert.Notifier // still sending what they had queued
}

func newAlerts(entries []*config.Notify, deps alert.Deps, log logrus.FieldLogger) *alerts {
	return &alerts{entries: entries, deps: deps, log: log, current: alert.New(entries, deps, log)}
}

func (a *alerts) Observe(ev tasks.Event) { a.current.Observe(ev) }

func (a *alerts) reload(cfg *config.Config) {
	if reflect.DeepEqual(cfg.Notify, a.entries) {
		return
	}
	a.current.Drain()
	a.replaced = append(slices.DeleteFunc(a.replaced, drained), a.current)
	a.entries, a.current = cfg.Notify, alert.New(cfg.Notify, a.deps, a.log)
	a.log.WithField("entries", len(cfg.Notify)).Info("notify channels reloaded")
}

func drained(n *alert.Notifier) bool {
	select {
	case <-n.Drained():
		return true
	default:
		return false
	}
}

// Close flushes the notifier in force and those replaced, side by side, until
// ctx is done at the latest.
func (a *alerts) Close(ctx context.Context) {
	var wg sync.WaitGroup
	for _, n := range append(a.replaced, a.current) {
		wg.Go(func() { n.Close(ctx) })
	}
	wg.Wait()
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
