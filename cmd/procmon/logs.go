package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/procmon/procmon/api"
)

func runLogs(ctx context.Context, s *session, args []string) error {
	follow, n, name, err := logsArgs(args)
	if err != nil {
		return err
	}
	prefix, err := linePrefix(ctx, s.client, name)
	if err != nil {
		return err
	}
	show := func(l api.Line) {
		if l.Dropped > 0 { // in the stream, so the gap shows where it is
			fmt.Fprintf(s.out, "... %d lines dropped: logs -f fell behind\n", l.Dropped)
			return
		}
		fmt.Fprintln(s.out, prefix(l)+l.Text)
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

// linePrefix tells the lines of a task with several instances apart by the
// prefix procmon's own output gives them (LABEL |); it also rejects an unknown
// task before any streaming starts.
func linePrefix(ctx context.Context, c *api.Client, name string) (func(api.Line) string, error) {
	instances, err := c.Status(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(instances) <= 1 {
		return func(api.Line) string { return "" }, nil
	}
	return func(l api.Line) string { return l.Label + " | " }, nil
}
