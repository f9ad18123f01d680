package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/procmon/procmon/api"
)

func runLogs(ctx context.Context, s *session, args []string) error {
	follow, n, name, err := logsArgs(args)
	if err != nil {
		return err
	}
	p, err := newPrefixer(ctx, s.client, name, follow)
	if err != nil {
		return err
	}
	show := func(l api.Line) {
		if l.Dropped > 0 { // in the stream, so the gap shows where it is
			fmt.Fprintf(s.out, "... %d lines dropped: logs -f fell behind\n", l.Dropped)
			return
		}
		fmt.Fprintln(s.out, p.prefix(l)+l.Text)
	}
	if follow {
		return s.client.Follow(ctx, name, n, show)
	}
	lines, err := s.client.Logs(ctx, name, n)
	for _, l := range lines {
		show(l)
	}
	return err
}

// logsArgs reads [-f] [-n LINES] NAME, flags before or after the name.
func logsArgs(args []string) (follow bool, n int, name string, err error) {
	n = api.DefaultLines
	for i := 0; i < len(args); i++ {
		a := args[i]
		flag, value, hasValue := strings.Cut(a, "=")
		switch {
		case a == "-f" || a == "--follow":
			follow = true
		case flag == "-n" || flag == "--lines":
			if !hasValue {
				if i+1 == len(args) {
					return false, 0, "", usageError(flag + " needs a number of lines")
				}
				i++
				value = args[i]
			}
			if n, err = strconv.Atoi(value); err != nil || n < 0 {
				return false, 0, "", usageError(fmt.Sprintf("%s: want a number of lines, 0 or more (got %q)", flag, value))
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			return false, 0, "", usageError("unknown flag " + a)
		case name != "":
			return false, 0, "", usageError("name one task")
		default:
			name = a
		}
	}
	if name == "" {
		return false, 0, "", usageError("name a task")
	}
	return follow, n, name, nil
}

// recheckEvery bounds how long a follower goes on prefixing the lines of the
// one instance left after a scale down: no line says an instance has gone.
const recheckEvery = 500 * time.Millisecond

// prefixer tells the lines of a task with several instances apart by the
// prefix procmon's own output gives them (LABEL |). During a follow, a scale
// changes the number of instances, so it asks the server again at once when a
// line comes from an instance it does not know, and now and then otherwise.
type prefixer struct {
	ctx    context.Context
	client *api.Client
	name   string
	follow bool
	listed int // instances the server listed last
	// known are the labels listed then, and those heard since (one scaled away
	// still writes as it stops): lines of theirs cost no request each.
	known   map[string]bool
	checked time.Time
}

// newPrefixer also rejects an unknown task before any streaming starts.
func newPrefixer(ctx context.Context, c *api.Client, name string, follow bool) (*prefixer, error) {
	p := &prefixer{ctx: ctx, client: c, name: name, follow: follow}
	return p, p.recheck()
}

func (p *prefixer) recheck() error {
	p.checked = time.Now()
	instances, err := p.client.Status(p.ctx, p.name)
	if err != nil {
		return err
	}
	p.listed, p.known = len(instances), map[string]bool{}
	for _, st := range instances {
		p.known[st.Label] = true
	}
	return nil
}

func (p *prefixer) prefix(l api.Line) string {
	if p.follow && (!p.known[l.Label] || time.Since(p.checked) >= recheckEvery) {
		if err := p.recheck(); err != nil && !p.known[l.Label] {
			// The stream ends by itself if the server went away; until then the
			// line's own instance is surely there.
			p.listed++
		}
		p.known[l.Label] = true
	}
	if p.listed > 1 {
		return l.Label + " | "
	}
	return ""
}
