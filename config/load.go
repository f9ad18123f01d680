package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads and validates the file at path. A non-nil error is an Errors value
// listing every problem found, so that a user can fix them all in one go.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error(), err: err}}
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse validates data as if read from file, resolving ${VAR} through lookup
// (os.LookupEnv when nil). Like Load, its error is an Errors value.
func Parse(file string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	l := &loader{file: file, lookup: lookup, misshapen: map[string]bool{}}
	cfg := l.parse(string(data))
	if len(l.errs) > 0 {
		l.errs.sort()
		return nil, l.errs
	}
	return cfg, nil
}

// DefaultPath is where the configuration is looked for without -c:
// $PROCMON_CONFIG, else ./procmon.toml if it exists, else /etc/procmon/procmon.toml.
func DefaultPath() string {
	if p := os.Getenv("PROCMON_CONFIG"); p != "" {
		return p
	}
	if _, err := os.Stat("procmon.toml"); err == nil {
		return "procmon.toml"
	}
	return "/etc/procmon/procmon.toml"
}

// DefaultSocket is the control socket used when the file does not name one:
// /run/procmon.sock as root, else $XDG_RUNTIME_DIR/procmon.sock, else
// /tmp/procmon-UID.sock, so that unprivileged users never collide.
func DefaultSocket() string {
	if os.Geteuid() == 0 {
		return "/run/procmon.sock"
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "procmon.sock")
	}
	return fmt.Sprintf("/tmp/procmon-%d.sock", os.Getuid())
}

// Socket reads the control socket that the file at path names, as Load would,
// however wrong the rest of the file is: a control command must reach the server
// that runs with this file, and that server is the one to report the file's
// errors on reload. Without a socket key it is DefaultSocket(). Like Load's, its
// error is an Errors value; errors.Is finds fs.ErrNotExist in it.
func Socket(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", Errors{{File: path, Msg: err.Error(), err: err}}
	}
	l := &loader{file: path, lookup: os.LookupEnv, misshapen: map[string]bool{}}
	socket := l.socket(string(data))
	if len(l.errs) > 0 {
		l.errs.sort()
		return "", l.errs
	}
	return socket, nil
}

// socket looks only at [procmon] socket, so that nothing else in src matters
// but TOML syntax.
func (l *loader) socket(src string) string {
	var doc map[string]any
	if _, err := toml.Decode(src, &doc); err != nil {
		l.syntaxError(src, err)
		return ""
	}
	l.lines = indexLines(src)
	procmon, isTable := doc["procmon"].(map[string]any)
	if !isTable && doc["procmon"] != nil {
		l.errorf(toml.Key{"procmon"}, "must be a table ([procmon]), not %s", tomlType(doc["procmon"]))
		return ""
	}
	socket := DefaultSocket()
	if v, set := procmon["socket"]; set {
		l.str(toml.Key{"procmon", "socket"}, value{v: v, set: true}, &socket)
	}
	return socket
}

// parse decodes src twice: first generically, which only fails on TOML syntax and
// lets checkShapes vet the table layout the typed decode depends on, then table by
// table into the raw structs, leaving out what checkShapes rejected; the metadata
// of that second decode reveals unknown keys.
func (l *loader) parse(src string) *Config {
	var generic map[string]any
	if _, err := toml.Decode(src, &generic); err != nil {
		l.syntaxError(src, err)
		return nil
	}
	l.lines = indexLines(src)
	l.checkShapes(generic)
	var sections map[string]toml.Primitive
	md, err := toml.Decode(src, &sections)
	if err != nil {
		// The generic decode accepted src; whatever fails here is reported as it is.
		l.errs = append(l.errs, &Error{File: l.file, Msg: err.Error(), err: err})
		return nil
	}
	raw := l.decodeSections(&md, sections)
	l.unknownKeys(md)
	return l.build(raw)
}

// decodeSections fills the raw structs from the top-level tables that have the
// right shape; the others stay empty, as if absent.
func (l *loader) decodeSections(md *toml.MetaData, sections map[string]toml.Primitive) *rawFile {
	raw := &rawFile{}
	section := func(name string, dst any) {
		if p, ok := sections[name]; ok && !l.isMisshapen(name) {
			l.decode(md, p, toml.Key{name}, dst)
		}
	}
	section("procmon", &raw.Procmon)
	section("maintenance", &raw.Maintenance)
	section("notify", &raw.Notify)
	section("honeycomb", &raw.Honeycomb)
	var tasks, monitors map[string]toml.Primitive
	section("tasks", &tasks)
	section("monitors", &monitors)
	raw.Tasks = decodeEntries[rawTask](l, md, "tasks", tasks)
	raw.Monitors = decodeEntries[rawMonitor](l, md, "monitors", monitors)
	return raw
}

// decodeEntries decodes the [SECTION.NAME] tables that have the right shape.
func decodeEntries[T any](l *loader, md *toml.MetaData, section string, entries map[string]toml.Primitive) map[string]*T {
	out := make(map[string]*T, len(entries))
	for name, p := range entries {
		if l.isMisshapen(section, name) {
			continue
		}
		entry := new(T)
		if l.decode(md, p, toml.Key{section, name}, entry) {
			out[name] = entry
		}
	}
	return out
}

// decode decodes one table; checkShapes should have caught whatever the decoder
// trips on, so an error here is reported as it is.
func (l *loader) decode(md *toml.MetaData, p toml.Primitive, key toml.Key, dst any) bool {
	err := md.PrimitiveDecode(p, dst)
	if err != nil {
		l.errs = append(l.errs, &Error{File: l.file, Line: l.lines.lineOf(key), Key: key.String(), Msg: err.Error(), err: err})
	}
	return err == nil
}

var duplicateKey = regexp.MustCompile(`^Key '(.*)' has already been defined\.?$`)

// syntaxError reports what the TOML parser rejected, at its line. Duplicate
// tables and keys are among them; for those, the first definition is named too.
func (l *loader) syntaxError(src string, err error) {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		l.errs = append(l.errs, &Error{File: l.file, Msg: err.Error(), err: err})
		return
	}
	e := &Error{File: l.file, Line: pe.Position.Line, Msg: pe.Message, err: err}
	if m := duplicateKey.FindStringSubmatch(pe.Message); m != nil {
		e.Key, e.Msg = m[1], "defined more than once"
		if first := l.firstDefinition(src, pe.Position.Line, m[1]); first > 0 {
			e.Msg = fmt.Sprintf("already defined at line %d", first)
		}
	}
	l.errs = append(l.errs, e)
}

// firstDefinition finds where key was first defined, in the lines before line.
func (l *loader) firstDefinition(src string, line int, key string) int {
	lines := strings.SplitAfter(src, "\n")
	before := strings.Join(lines[:min(max(line-1, 0), len(lines))], "")
	idx := indexLines(before)
	if !idx.explicit[key] {
		return 0
	}
	return idx.lines[key]
}

// build converts every table, then checks how they refer to each other.
func (l *loader) build(raw *rawFile) *Config {
	cfg := &Config{
		File:     l.file,
		Procmon:  l.buildGlobal(&raw.Procmon),
		Tasks:    map[string]*Task{},
		Monitors: map[string]*Monitor{},
	}
	for _, name := range sortedKeys(raw.Tasks) {
		cfg.Tasks[name] = l.buildTask(name, raw.Tasks[name], &cfg.Procmon)
	}
	for _, name := range sortedKeys(raw.Monitors) {
		if m := l.buildMonitor(name, raw.Monitors[name]); m != nil {
			cfg.Monitors[name] = m
		}
	}
	cfg.Maintenance = l.buildMaintenance(raw.Maintenance)
	for i, n := range raw.Notify {
		if notify := l.buildNotify(i, n); notify != nil {
			cfg.Notify = append(cfg.Notify, notify)
		}
	}
	cfg.Honeycomb = l.buildHoneycomb(&raw.Honeycomb)

	l.validateLabels(cfg.Tasks)
	l.validateParents(raw.Tasks, cfg.Tasks)
	l.validateMonitorRefs(sortedKeys(raw.Monitors), cfg.Tasks, cfg.Monitors)
	l.validateMonitorCycles(cfg.Monitors)
	l.validateMonitorUse(cfg.Tasks, cfg.Monitors)
	l.validateNotifyUse(cfg.Tasks, cfg.Monitors)
	if len(l.errs) > 0 {
		return nil
	}
	parents := make(map[string][]string, len(cfg.Tasks))
	for name, t := range cfg.Tasks {
		parents[name] = t.Parents
	}
	graph, err := NewGraph(parents)
	if err != nil {
		l.errs = append(l.errs, &Error{File: l.file, Msg: err.Error(), err: err})
		return nil
	}
	cfg.Graph = graph
	return cfg
}
