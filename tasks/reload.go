package tasks

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/procmon/procmon/config"
)

// Reload re-reads the configuration file and applies it (SPEC 3.11). An invalid
// file changes nothing: its errors are logged and returned (a config.Errors).
func (s *Supervisor) Reload() error { return s.reload(false) }

// reload loads the file and applies it. A reload by signal has nobody to hear a
// refusal: during a maintenance cycle it is held, and applied as the cycle ends,
// before any task starts again; any other refusal is logged.
func (s *Supervisor) reload(bySignal bool) error {
	s.reloading.Lock()
	defer s.reloading.Unlock()
	cfg, err := config.Load(s.file)
	if err != nil {
		s.logRejected(err)
		return err
	}
	var applyErr error
	if !s.Do(func() {
		if bySignal && s.maint != nil {
			s.maint.heldReload = cfg
			s.log.Info("reload requested during maintenance: applied when the cycle ends")
			return
		}
		applyErr = s.applyFile(cfg)
	}) {
		return ErrStopped
	}
	if applyErr != nil && bySignal {
		s.log.WithError(applyErr).Warn("reload ignored")
	}
	return applyErr
}

// applyFile makes cfg the file's configuration, unless apply refuses it.
func (s *Supervisor) applyFile(cfg *config.Config) error {
	prev := s.fileCfg
	s.fileCfg = cfg
	err := s.apply(s.withServices(cfg), fromFile, nil)
	if err != nil {
		s.fileCfg = prev
		return err
	}
	if keys := startOnly(s.boot, cfg.Procmon); len(keys) > 0 {
		s.log.WithField("keys", keys).Warn("reload: these [procmon] keys differ from those procmon started with, and take effect only when it restarts")
	}
	return nil
}

// startOnly lists the [procmon] keys that differ between boot (what procmon
// started with) and next and that procmon reads only as it starts: the files
// and sockets it opens, its log's format and the subreaper. log_level,
// stop_timeout, shutdown_timeout and load_metric apply at once.
func startOnly(boot, next config.Global) []string {
	var keys []string
	for _, k := range []struct {
		name    string
		changed bool
	}{
		{"log_format", boot.LogFormat != next.LogFormat},
		{"log_file", boot.LogFile != next.LogFile},
		{"socket", boot.Socket != next.Socket},
		{"http", boot.HTTP != next.HTTP},
		{"http_token", boot.HTTPToken != next.HTTPToken},
		{"pidfile", boot.Pidfile != next.Pidfile},
		{"journal", boot.Journal != next.Journal},
		{"services_dir", boot.ServicesDir != next.ServicesDir},
		{"subreaper", boot.Subreaper != next.Subreaper},
	} {
		if k.changed {
			keys = append(keys, k.name)
		}
	}
	return keys
}

func (s *Supervisor) logRejected(err error) {
	var list config.Errors
	if !errors.As(err, &list) {
		s.log.WithError(err).Error("reload rejected: nothing changed")
		return
	}
	for _, e := range list {
		s.log.WithField("error", e.Error()).Error("reload rejected: nothing changed")
	}
}

// changeSource says what changed the tasks: the configuration file (a reload,
// which is an event) or services_dir (which is not: nobody reloaded anything).
type changeSource bool

const (
	fromFile        changeSource = true
	fromServicesDir changeSource = false
)

// apply moves the running tree to cfg: removed tasks stop with their subtrees,
// changed ones (and those rewritten, services whose file has new content) restart
// with theirs, new ones start when their parents are ready, and unchanged ones
// are not touched.
func (s *Supervisor) apply(cfg *config.Config, source changeSource, rewritten map[string]bool) error {
	if s.shutdown != nil || s.maint != nil {
		return fmt.Errorf("%w: cannot reload during shutdown or maintenance", ErrConflict)
	}
	var added, changed, removed []string
	order := make([]*task, 0, len(cfg.Tasks))
	for _, name := range cfg.Graph.Order() {
		def := cfg.Tasks[name]
		t, ok := s.tasks[name]
		switch {
		case !ok:
			if t = s.leaving(name); t != nil {
				s.reviveTask(t, def)
			} else {
				t = s.newTask(def)
			}
			added = append(added, name)
		case !sameProcess(def, t.cfg) || monitorsChanged(s.cfg, cfg, def) || rewritten[name]:
			wasAutostart := t.cfg.Autostart
			t.cfg = def
			s.redefine(t, def.Autostart && !wasAutostart)
			changed = append(changed, name)
		case def.Instances != t.cfg.Instances: // a scale, as `procmon scale` would do
			t.cfg = def
			s.scale(t, def.Instances)
			changed = append(changed, name)
		default:
			t.cfg = def
		}
		t.parents, t.children = nil, nil
		order = append(order, t)
	}
	for _, t := range slices.Clone(s.order) { // remove forgets an idle task: s.order shrinks
		if _, kept := cfg.Tasks[t.cfg.Name]; kept && !t.removed {
			continue
		}
		if !t.removed {
			removed = append(removed, t.cfg.Name)
			s.remove(t)
		}
		if len(t.instances) > 0 { // until its processes are gone; it keeps its old children
			order = append(order, t)
		}
	}
	s.relink(cfg, order)
	s.cfg, s.order = cfg, order
	s.markServices(cfg)
	s.watchLoad()
	log := s.log.WithField("added", added).WithField("changed", changed).WithField("removed", removed)
	if source == fromServicesDir {
		if len(added)+len(changed)+len(removed) > 0 {
			log.Info("services_dir applied")
		}
		return nil
	}
	s.log.SetLevel(cfg.Procmon.LogLevel)
	if s.reloaded != nil { // before the event, which the new [[notify]] channels should see
		s.reloaded(s.fileCfg)
	}
	s.emit(Event{Type: EvReload, Tasks: sortedUnion(added, changed, removed)})
	log.Info("reload applied")
	return nil
}

// sameProcess reports whether def runs what old runs. How a process is stopped
// (stop_signal, stop_timeout, its own or [procmon]'s) shapes only its next stop,
// which reads the new definition: no reason to restart it, let alone everything.
// Nor is another number of instances a reason to restart those that run.
func sameProcess(def, old *config.Task) bool {
	d := *def
	d.StopSignal, d.StopTimeout, d.Instances = old.StopSignal, old.StopTimeout, old.Instances
	return d.Equal(old)
}

func (s *Supervisor) newTask(def *config.Task) *task {
	t := &task{cfg: def}
	for n := 0; n < def.Instances; n++ {
		t.instances = append(t.instances, newInstance(t, n))
	}
	s.tasks[def.Name] = t
	return t
}

// redefine restarts every instance of t under its new definition, which also
// fixes a task that had gone fatal. An instance stopped by `procmon stop` stays
// stopped, unless the change is autostart turned on.
func (s *Supervisor) redefine(t *task, autostartOn bool) {
	for _, i := range t.instances {
		i.freshOutput = true
		if i.run == nil {
			s.reopenOutput(i)
		}
		if i.enabled || autostartOn {
			s.restartInstance(i)
			s.enable(i)
		}
	}
	s.scale(t, t.cfg.Instances)
}

// leaving is the removed task of that name whose processes are still stopping.
func (s *Supervisor) leaving(name string) *task {
	for _, t := range s.order {
		if t.removed && t.cfg.Name == name {
			return t
		}
	}
	return nil
}

// reviveTask takes back a removed task that the configuration defines again
// before its processes are gone. A new task would run beside them; this one runs
// each instance again, under the new definition, once its process is gone, as
// a scale back up does.
func (s *Supervisor) reviveTask(t *task, def *config.Task) {
	t.removed, t.cfg = false, def
	s.tasks[def.Name] = t
	for _, i := range t.instances {
		i.freshOutput = true
	}
	s.scaleTo(t, def.Instances, def.Autostart)
}

func (s *Supervisor) remove(t *task) {
	t.removed = true
	if s.tasks[t.cfg.Name] == t {
		delete(s.tasks, t.cfg.Name)
	}
	s.scale(t, 0)
}

// relink rebuilds parent and child links from cfg's graph; removed tasks keep
// their old children, which stop before them.
func (s *Supervisor) relink(cfg *config.Config, order []*task) {
	for _, t := range order {
		if t.removed {
			continue
		}
		for _, p := range cfg.Graph.Parents(t.cfg.Name) {
			parent := s.tasks[p]
			t.parents = append(t.parents, parent)
			parent.children = append(parent.children, t)
		}
	}
}

// forget drops a removed task whose last instance is gone.
func (s *Supervisor) forget(t *task) {
	for f := range t.followers {
		t.unfollow(f)
		f.End() // its `logs -f` ends, as `kubectl logs -f` does with its pod
	}
	for n, o := range s.order {
		if o == t {
			s.order = append(s.order[:n], s.order[n+1:]...)
			return
		}
	}
}

// monitorsChanged reports whether a monitor the task uses, directly or through
// wrappers, is defined differently in next than in prev.
func monitorsChanged(prev, next *config.Config, def *config.Task) bool {
	seen := map[string]bool{}
	var changed func(name string) bool
	changed = func(name string) bool {
		if seen[name] {
			return false
		}
		seen[name] = true
		a, b := prev.Monitors[name], next.Monitors[name]
		if a == nil || b == nil {
			return a != b
		}
		ac, bc := *a, *b
		ac.Line, bc.Line = 0, 0
		if !reflect.DeepEqual(ac, bc) {
			return true
		}
		for _, inner := range append([]string{b.Monitor}, b.Children...) {
			if inner != "" && changed(inner) {
				return true
			}
		}
		return false
	}
	for _, names := range [][]string{def.WaitFor, def.Ready, def.Monitors} {
		for _, name := range names {
			if changed(name) {
				return true
			}
		}
	}
	return false
}

func sortedUnion(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.Strings(out)
	return out
}
