package config

import (
	"strconv"

	"github.com/BurntSushi/toml"
)

// checkShapes verifies that the top-level tables have the shape the raw structs
// need. The decoder would otherwise stop at the first mismatch or, for some
// (`tasks = 5`), silently ignore it. What it rejects is left out of decoding, so
// that the rest of the file is still validated.
func (l *loader) checkShapes(doc map[string]any) {
	for _, name := range []string{"procmon", "maintenance", "honeycomb"} {
		if v, ok := doc[name]; ok {
			if _, isTable := v.(map[string]any); !isTable {
				l.misshapenAt(toml.Key{name}, "must be a table ([%s]), not %s", name, tomlType(v))
			}
		}
	}
	for _, name := range []string{"tasks", "monitors"} {
		l.checkTableOfTables(name, doc[name])
	}
	if v, ok := doc["notify"]; ok && !isTableArray(v) {
		l.misshapenAt(toml.Key{"notify"}, "must be an array of tables ([[notify]]), not %s", tomlType(v))
	}
}

func (l *loader) checkTableOfTables(name string, v any) {
	if v == nil {
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		l.misshapenAt(toml.Key{name}, "must be a table of [%s.NAME] tables, not %s", name, tomlType(v))
		return
	}
	for _, k := range sortedKeys(m) {
		if _, ok := m[k].(map[string]any); !ok {
			l.misshapenAt(toml.Key{name, k}, "must be a table ([%s.%s]), not %s", name, k, tomlType(m[k]))
		}
	}
}

// misshapenAt reports a value of the wrong shape and marks it to be left out.
func (l *loader) misshapenAt(key toml.Key, format string, args ...any) {
	l.errorf(key, format, args...)
	l.misshapen[key.String()] = true
}

// isMisshapen tells whether checkShapes rejected the value at key. Such a value
// exists, even though it cannot be used: a task naming a misshapen parent or
// monitor has no error of its own.
func (l *loader) isMisshapen(key ...string) bool {
	return l.misshapen[toml.Key(key).String()]
}

func isTableArray(v any) bool {
	switch x := v.(type) {
	case []map[string]any:
		return true
	case []any:
		for _, e := range x {
			if _, ok := e.(map[string]any); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// Keys allowed in each kind of table, read once from the raw structs' tags.
var (
	fileKeys         = tomlKeys(rawFile{})
	globalKeys       = tomlKeys(rawGlobal{})
	maintenanceKeys  = tomlKeys(rawMaintenance{})
	notifyEntryKeys  = tomlKeys(rawNotify{})
	honeycombKeys    = tomlKeys(rawHoneycomb{})
	taskKeys         = tomlKeys(rawTask{})
	monitorTableKeys = tomlKeys(rawMonitor{})
)

// knownKeys returns the keys allowed directly below path, or free=true where any
// key is allowed (task names, env variables, headers). Arrays of tables carry no
// index in BurntSushi's keys, so "notify" stands for each of its entries.
func knownKeys(path toml.Key) (keys []string, free bool) {
	switch len(path) {
	case 0:
		return fileKeys, false
	case 1:
		switch path[0] {
		case "procmon":
			return globalKeys, false
		case "maintenance":
			return maintenanceKeys, false
		case "notify":
			return notifyEntryKeys, false
		case "honeycomb":
			return honeycombKeys, false
		}
	case 2:
		switch path[0] {
		case "tasks":
			return taskKeys, false
		case "monitors":
			return monitorTableKeys, false
		}
	}
	return nil, true
}

func (l *loader) unknownKeys(md toml.MetaData) {
	reported := map[string]bool{}
	for _, k := range append(md.Undecoded(), md.Keys()...) {
		bad, hint := firstUnknown(k)
		if bad == nil || reported[bad.String()] {
			continue
		}
		reported[bad.String()] = true
		for _, at := range l.arrayEntries(bad) {
			l.errorf(at, "unknown key %q%s", bad[len(bad)-1], hint)
		}
	}
}

// firstUnknown returns the shortest prefix of k whose last part is unknown, with
// a did-you-mean hint, or nil when every part is known.
func firstUnknown(k toml.Key) (toml.Key, string) {
	for i := range k {
		known, free := knownKeys(k[:i])
		if free {
			continue
		}
		found := false
		for _, name := range known {
			found = found || name == k[i]
		}
		if !found {
			return k[:i+1], didYouMean(k[i], known)
		}
	}
	return nil, ""
}

// arrayEntries turns a key below [[notify]] into one key per entry that sets it,
// numbered like the line index ("notify.1.urll"), so each gets its own line.
func (l *loader) arrayEntries(k toml.Key) []toml.Key {
	if len(k) < 2 || k[0] != "notify" {
		return []toml.Key{k}
	}
	var out []toml.Key
	for i := 0; ; i++ {
		entry := toml.Key{"notify", strconv.Itoa(i)}
		if _, ok := l.lines.lines[entry.String()]; !ok {
			break
		}
		at := append(entry, k[1:]...)
		if _, ok := l.lines.lines[at.String()]; ok {
			out = append(out, at)
		}
	}
	if len(out) == 0 {
		out = []toml.Key{k}
	}
	return out
}
