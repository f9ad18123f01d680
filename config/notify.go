package config

import (
	"net"
	"slices"
	"strconv"

	"github.com/BurntSushi/toml"
)

// EventTypes are the journal event types (SPEC 3.8), the names [[notify]] events use.
var EventTypes = []string{
	"procmon_started", "task_started", "task_ready", "task_exited", "monitor_failed",
	"task_backoff", "task_fatal", "subtree_stopped", "reload", "maintenance_started",
	"maintenance_finished", "shutdown_started", "procmon_stopped",
}

// notifyKeys lists, per channel type, the keys besides `type` that apply to it.
var notifyKeys = map[string][]string{
	"email":   {"events", "smtp", "from", "to", "username", "password"},
	"webhook": {"events", "url"},
	"exec":    {"events", "command"},
}

func (l *loader) buildNotify(i int, r *rawNotify) *Notify {
	k := toml.Key{"notify", strconv.Itoa(i)}
	var typ string
	if !r.Type.set {
		l.errorf(k, "missing type (email, webhook or exec)")
		return nil
	}
	if !l.str(sub(k, "type"), r.Type, &typ) || !l.oneOf(sub(k, "type"), typ, "email", "webhook", "exec") {
		return nil
	}
	n := defaultNotify()
	n.Type = typ
	l.checkApplicable(k, "type "+typ, setKeys(r), notifyKeys[typ])
	l.events(sub(k, "events"), r.Events, &n.Events)
	switch typ {
	case "email":
		l.email(k, r, &n)
	case "webhook":
		if !r.URL.set {
			l.errorf(k, "missing url")
		}
		l.httpURL(sub(k, "url"), r.URL, &n.URL)
	case "exec":
		if !r.Command.set {
			l.errorf(k, "missing command")
		}
		l.command(sub(k, "command"), r.Command, &n.Command)
	}
	return &n
}

func (l *loader) events(key toml.Key, r value, dst *[]string) {
	var events []string
	if !l.names(key, r, &events) {
		return
	}
	if len(events) == 0 {
		l.errorf(key, "must name at least one event")
		return
	}
	for _, e := range events {
		if !slices.Contains(EventTypes, e) {
			l.errorf(key, "unknown event %q%s", e, didYouMean(e, EventTypes))
			return
		}
	}
	*dst = events
}

func (l *loader) email(k toml.Key, r *rawNotify, n *Notify) {
	for _, req := range []struct {
		key string
		v   value
	}{{"smtp", r.SMTP}, {"from", r.From}, {"to", r.To}} {
		if !req.v.set {
			l.errorf(k, "missing %s", req.key)
		}
	}
	if l.str(sub(k, "smtp"), r.SMTP, &n.SMTP) {
		if _, port, err := net.SplitHostPort(n.SMTP); err != nil || port == "" {
			l.errorf(sub(k, "smtp"), "invalid address %q: must be host:port", n.SMTP)
		}
	}
	if l.str(sub(k, "from"), r.From, &n.From) && n.From == "" {
		l.errorf(sub(k, "from"), "must not be empty")
	}
	if l.strList(sub(k, "to"), r.To, &n.To) && len(n.To) == 0 {
		l.errorf(sub(k, "to"), "must list at least one address")
	}
	l.str(sub(k, "username"), r.Username, &n.Username)
	l.str(sub(k, "password"), r.Password, &n.Password)
}
