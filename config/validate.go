package config

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// The checks below relate tables to each other, so they run after every table has
// been converted. Each reports all it finds.

// validateParents reports unknown parents, self-parents and cycles.
func (l *loader) validateParents(raw map[string]*rawTask, tasks map[string]*Task) {
	names := sortedKeys(tasks)
	edges := make(map[string][]string, len(tasks))
	for _, name := range names {
		key := toml.Key{"tasks", name, raw[name].parentKey()}
		edges[name] = nil
		for _, p := range tasks[name].Parents {
			switch {
			case p == name:
				l.errorf(key, "task %q cannot be its own parent", name)
			case tasks[p] == nil:
				if !l.isMisshapen("tasks", p) {
					l.errorf(key, "unknown parent %q%s", p, didYouMean(p, names))
				}
			default:
				edges[name] = append(edges[name], p)
			}
		}
	}
	for _, c := range findCycles(edges) {
		l.errorf(toml.Key{"tasks", c[0], raw[c[0]].parentKey()}, "cycle among parents: %s", strings.Join(c, " -> "))
	}
}

// taskMonitorLists names the keys of a task that refer to monitors.
func taskMonitorLists(t *Task) []struct {
	key   string
	names []string
} {
	return []struct {
		key   string
		names []string
	}{{"wait_for", t.WaitFor}, {"ready", t.Ready}, {"monitors", t.Monitors}}
}

// validateMonitorRefs reports names of monitors that do not exist. known holds
// every [monitors.NAME], even those too broken to build, so that one bad table
// does not also make each of its users an error; for the same reason, names are
// not judged at all when the monitors table itself has the wrong shape.
func (l *loader) validateMonitorRefs(known []string, tasks map[string]*Task, monitors map[string]*Monitor) {
	if l.isMisshapen("monitors") {
		return
	}
	isKnown := map[string]bool{}
	for _, n := range known {
		isKnown[n] = true
	}
	check := func(key toml.Key, names ...string) {
		for _, n := range names {
			if !isKnown[n] && !l.isMisshapen("monitors", n) {
				l.errorf(key, "unknown monitor %q%s", n, didYouMean(n, known))
			}
		}
	}
	for _, name := range sortedKeys(tasks) {
		for _, list := range taskMonitorLists(tasks[name]) {
			check(toml.Key{"tasks", name, list.key}, list.names...)
		}
	}
	for _, name := range sortedKeys(monitors) {
		m := monitors[name]
		check(toml.Key{"monitors", name, wrapperKey(m)}, wrappedMonitors(m)...)
	}
}

// wrappedMonitors lists the monitors m reacts to.
func wrappedMonitors(m *Monitor) []string {
	switch m.Type {
	case "retry", "fail":
		if m.Monitor != "" {
			return []string{m.Monitor}
		}
	case "all", "any":
		return m.Children
	}
	return nil
}

func wrapperKey(m *Monitor) string {
	if m.Type == "all" || m.Type == "any" {
		return "monitors"
	}
	return "monitor"
}

// validateMonitorCycles reports wrappers that end up wrapping themselves.
func (l *loader) validateMonitorCycles(monitors map[string]*Monitor) {
	edges := make(map[string][]string, len(monitors))
	for name, m := range monitors {
		edges[name] = wrappedMonitors(m)
	}
	for _, c := range findCycles(edges) {
		key := toml.Key{"monitors", c[0], wrapperKey(monitors[c[0]])}
		l.errorf(key, "cycle among monitors: %s", strings.Join(c, " -> "))
	}
}

// validateMonitorUse enforces where monitor kinds may serve: a fail monitor never
// succeeds, so it cannot gate readiness or a spawn; a notify monitor needs a
// process to send READY=1, so it only makes sense as a readiness check.
func (l *loader) validateMonitorUse(tasks map[string]*Task, monitors map[string]*Monitor) {
	forbidden := map[string][]string{
		"wait_for": {"fail", "notify"},
		"ready":    {"fail"},
		"monitors": {"notify"},
	}
	for _, name := range sortedKeys(tasks) {
		for _, list := range taskMonitorLists(tasks[name]) {
			key := toml.Key{"tasks", name, list.key}
			for _, ref := range list.names {
				for _, typ := range forbidden[list.key] {
					if bad := findWrapped(monitors, ref, typ); bad != "" {
						l.errorf(key, "%s", misuse(ref, bad, typ, list.key))
					}
				}
			}
		}
	}
}

func misuse(ref, bad, typ, where string) string {
	why := "never reports success"
	if typ == "notify" {
		why = "can only be used in ready"
	}
	if ref == bad {
		if typ == "notify" {
			return fmt.Sprintf("notify monitor %q %s", ref, why)
		}
		return fmt.Sprintf("fail monitor %q cannot be used in %s: it %s", ref, where, why)
	}
	return fmt.Sprintf("monitor %q cannot be used in %s: it wraps %s monitor %q, which %s", ref, where, typ, bad, why)
}

// findWrapped returns the first monitor of type typ that name is or wraps,
// transitively, or "". It tolerates cycles, which are reported elsewhere.
func findWrapped(monitors map[string]*Monitor, name, typ string) string {
	seen := map[string]bool{}
	var walk func(string) string
	walk = func(n string) string {
		m := monitors[n]
		if m == nil || seen[n] {
			return ""
		}
		seen[n] = true
		if m.Type == typ {
			return n
		}
		for _, c := range wrappedMonitors(m) {
			if found := walk(c); found != "" {
				return found
			}
		}
		return ""
	}
	return walk(name)
}

// validateNotifyUse reports a ready list that reaches more than one notify monitor,
// directly or through wrappers, the same one reached twice included: each gets its
// own socket and sets NOTIFY_SOCKET for the same process, whose environment keeps
// only the last, so the others could never see READY=1.
func (l *loader) validateNotifyUse(tasks map[string]*Task, monitors map[string]*Monitor) {
	reach := notifyReach{monitors: monitors, memo: map[string][]string{}}
	for _, name := range sortedKeys(tasks) {
		var paths []string
		for _, ref := range tasks[name].Ready {
			paths = append(paths, reach.from(ref)...)
		}
		if len(paths) > 1 {
			l.errorf(toml.Key{"tasks", name, "ready"}, "more than one notify monitor (%s and %s): each would set "+
				"NOTIFY_SOCKET for the same process, which keeps only the last, so only that one could ever see READY=1",
				paths[0], paths[1])
		}
	}
}

// notifyReach lists the paths from a monitor to the notify monitors it reaches
// ("both -> r -> n"), one per way through the wrappers. Two are enough to tell a
// conflict, so no list grows longer, and each monitor is walked once, however many
// wrappers share it.
type notifyReach struct {
	monitors map[string]*Monitor
	memo     map[string][]string
}

func (r notifyReach) from(name string) []string {
	if paths, ok := r.memo[name]; ok {
		return paths
	}
	r.memo[name] = nil // a cycle, reported elsewhere, must not recurse forever
	m := r.monitors[name]
	var paths []string
	switch {
	case m == nil:
	case m.Type == "notify":
		paths = []string{name}
	default:
		for _, c := range wrappedMonitors(m) {
			for _, p := range r.from(c) {
				paths = append(paths, name+" -> "+p)
			}
		}
	}
	paths = paths[:min(len(paths), 2)]
	r.memo[name] = paths
	return paths
}
