package config

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// monitorKeys lists, per monitor type, the keys besides `type` that apply to it.
// A key that does not apply is an error rather than silently ignored: `retries`
// on an http monitor is a misunderstanding worth reporting.
var monitorKeys = map[string][]string{
	"http":           {"interval", "timeout", "initial_delay", "url", "method", "headers", "expect_status"},
	"redis":          {"interval", "timeout", "initial_delay", "address", "password", "db"},
	"port_in_use":    {"interval", "timeout", "initial_delay", "address"},
	"port_available": {"interval", "timeout", "initial_delay", "address"},
	"exec":           {"interval", "timeout", "initial_delay", "command"},
	"notify":         {},
	"retry":          {"monitor", "retries"},
	"fail":           {"monitor"},
	"all":            {"monitors"},
	"any":            {"monitors"},
}

// wrapperTypes react to the monitors they wrap and have no schedule of their own.
var wrapperTypes = map[string]bool{"retry": true, "fail": true, "all": true, "any": true}

func monitorTypes() []string { return sortedKeys(monitorKeys) }

// buildMonitor converts one [monitors.NAME] table; it returns nil when the type
// is unusable, since nothing else about the table can then be judged.
func (l *loader) buildMonitor(name string, r *rawMonitor) *Monitor {
	k := toml.Key{"monitors", name}
	var typ string
	if !r.Type.set {
		l.errorf(k, "missing type (one of %s)", strings.Join(monitorTypes(), ", "))
		return nil
	}
	if !l.str(sub(k, "type"), r.Type, &typ) || !l.oneOf(sub(k, "type"), typ, monitorTypes()...) {
		return nil
	}
	m := defaultMonitor(name, typ)
	m.Line = l.lines.lineOf(k)
	l.checkApplicable(k, "type "+typ, setKeys(r), monitorKeys[typ])
	l.duration(sub(k, "interval"), r.Interval, true, &m.Interval)
	l.duration(sub(k, "timeout"), r.Timeout, true, &m.Timeout)
	l.duration(sub(k, "initial_delay"), r.InitialDelay, false, &m.InitialDelay)
	switch typ {
	case "http":
		l.httpMonitor(k, r, &m)
	case "redis":
		l.redisMonitor(k, r, &m)
	case "port_in_use", "port_available":
		l.addresses(k, r, &m, typ)
	case "exec":
		l.command(sub(k, "command"), r.Command, &m.Command)
		if !r.Command.set {
			l.errorf(k, "missing command")
		}
	case "retry", "fail":
		l.wrapped(k, r, &m)
	case "all", "any":
		if !r.Monitors.set {
			l.errorf(k, "missing monitors (the list of monitors it combines)")
		} else if l.names(sub(k, "monitors"), r.Monitors, &m.Children) && len(m.Children) == 0 {
			l.errorf(sub(k, "monitors"), "an %s monitor needs at least one monitor", typ)
		}
	}
	return &m
}

// checkApplicable reports keys that were set but mean nothing for this kind.
func (l *loader) checkApplicable(k toml.Key, kind string, set, allowed []string) {
	ok := map[string]bool{"type": true}
	for _, a := range allowed {
		ok[a] = true
	}
	for _, s := range set {
		if !ok[s] {
			l.errorf(sub(k, s), "%s does not apply to %s", s, kind)
		}
	}
}

func (l *loader) httpMonitor(k toml.Key, r *rawMonitor, m *Monitor) {
	if !r.URL.set {
		l.errorf(k, "missing url")
	}
	l.httpURL(sub(k, "url"), r.URL, &m.URL)
	var method string
	if l.str(sub(k, "method"), r.Method, &method) {
		if method == "" || strings.ContainsFunc(method, func(c rune) bool { return c <= ' ' || c > '~' }) {
			l.errorf(sub(k, "method"), "invalid HTTP method %q", method)
		} else {
			m.Method = method
		}
	}
	l.strMap(sub(k, "headers"), r.Headers, &m.Headers)
	l.statusRanges(sub(k, "expect_status"), r.ExpectStatus, &m.ExpectStatus)
}

func (l *loader) redisMonitor(k toml.Key, r *rawMonitor, m *Monitor) {
	l.addresses(k, r, m, "redis")
	l.str(sub(k, "password"), r.Password, &m.Password)
	l.integer(sub(k, "db"), r.DB, 0, &m.DB)
}

// addresses reads `address`: exactly one for redis, at least one for port monitors.
func (l *loader) addresses(k toml.Key, r *rawMonitor, m *Monitor, typ string) {
	switch {
	case !r.Address.set:
		l.errorf(k, "missing address")
	case !l.hostPorts(sub(k, "address"), r.Address, &m.Address):
	case typ == "redis" && len(m.Address) != 1:
		l.errorf(sub(k, "address"), "a redis monitor needs exactly one address, not %d", len(m.Address))
	case len(m.Address) == 0:
		l.errorf(sub(k, "address"), "a %s monitor needs at least one host:port address", typ)
	}
}

// wrapped reads what retry and fail wrap.
func (l *loader) wrapped(k toml.Key, r *rawMonitor, m *Monitor) {
	if !r.Monitor.set {
		l.errorf(k, "missing monitor (the name of the monitor it wraps)")
	} else if l.str(sub(k, "monitor"), r.Monitor, &m.Monitor) && m.Monitor == "" {
		l.errorf(sub(k, "monitor"), "must name a monitor")
	}
	l.integer(sub(k, "retries"), r.Retries, 0, &m.Retries)
}
