package alert

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/procmon/procmon/tasks"
)

// message is what every channel sends: the event as the journal has it, plus
// the host, since one alert address usually serves many containers.
type message struct {
	tasks.Event
	// Instance shadows the event's, as in the journal: procmon's own events
	// belong to no instance, and a consumer routing on it must not see one.
	Instance *int   `json:"instance,omitempty"`
	Host     string `json:"host,omitempty"`
}

func newMessage(ev tasks.Event) message {
	m := message{Event: ev, Host: hostname}
	if ev.Task != "" {
		m.Instance = &ev.Instance
	}
	return m
}

// payload is one event, encoded once for all the channels that send it.
type payload struct {
	ev   tasks.Event
	json []byte
}

var hostname = func() string {
	h, _ := os.Hostname()
	return h
}()

func newPayload(ev tasks.Event) *payload {
	p := &payload{ev: ev}
	p.json, _ = json.Marshal(newMessage(ev)) // plain fields: cannot fail
	return p
}

// subject reads "procmon: task_fatal web".
func (p *payload) subject() string {
	s := "procmon: " + p.ev.Type
	if p.ev.Task != "" {
		s += " " + p.ev.Task
	}
	return oneLine(s)
}

// text is the event for people: one "key: value" line per field set.
func (p *payload) text() string {
	ev := p.ev
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%-10s %v\n", k+":", v) }
	line("event", ev.Type)
	line("time", ev.Time.Format(time.RFC3339))
	if hostname != "" {
		line("host", hostname)
	}
	if ev.Task != "" {
		line("task", ev.Task)
		line("instance", ev.Instance)
	}
	if ev.Pid != 0 {
		line("pid", ev.Pid)
	}
	if ev.ExitCode != nil {
		line("exit_code", *ev.ExitCode)
	}
	for _, f := range []struct{ k, v string }{
		{"signal", ev.Signal}, {"monitor", ev.Monitor}, {"error", ev.Error}, {"delay", ev.Delay},
		{"tasks", strings.Join(ev.Tasks, ", ")},
	} {
		if f.v != "" {
			line(f.k, f.v)
		}
	}
	return b.String()
}

// oneLine keeps a header value from starting new headers.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
