package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/procmon/procmon/api"
)

// session is what a control command needs: the server, and where to write.
// The CLI and the shell share it, so each command exists once.
type session struct {
	client *api.Client
	out    io.Writer
	errOut io.Writer
	prefix string // before a command's name in error messages: "procmon " on the CLI
}

// command is one control command of the CLI and the shell.
type command struct {
	name     string
	args     string
	help     string
	taskArgs int // leading arguments that are task names, for completion; -1: all
	// readOnly commands change nothing: with a file that does not parse, they
	// may ask the default socket, whose server may not be the file's.
	readOnly bool
	run      func(ctx context.Context, s *session, args []string) error
}

var commands = []command{
	{"status", "[--json] [NAME...]", "one line per task instance (or a JSON array)", -1, true, runStatus},
	{"start", "[--no-wait] NAME...", "start tasks, and the subtrees that waited for them; wait until they are ready", -1, false, act("start")},
	{"stop", "[--no-wait] NAME...", "stop tasks, their subtrees first; wait until no process of them is left", -1, false, act("stop")},
	{"restart", "[--no-wait] NAME...", "stop and start tasks with their subtrees; wait until they are ready again", -1, false, act("restart")},
	{"scale", "NAME N", "run N instances of NAME", 1, false, runScale},
	{"signal", "NAME SIG", "send SIG (HUP, SIGUSR1, 10...) to every process group of NAME", 1, false, runSignal},
	{"logs", "[-f] [-n LINES] NAME", "recent output of a task; -f follows it", -1, true, runLogs},
	{"reload", "", "re-read the configuration file", 0, false, global((*api.Client).Reload)},
	{"maintenance", "", "run the maintenance cycle", 0, false, global((*api.Client).Maintenance)},
	{"shutdown", "", "stop every task and exit", 0, false, global((*api.Client).Shutdown)},
	{"ready", "", "exit 0 when every autostart task is ready, else 1", 0, true, runReady},
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// usageError is a command line that cannot run: exit 2, as for a bad flag.
type usageError string

func (e usageError) Error() string { return string(e) }

// unexpected is the usage error of arguments a command does not take. A flag
// is named first: a misspelt one is the likelier mistake.
func unexpected(args []string) usageError {
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' && a != "--" {
			return usageError("unknown flag " + a)
		}
	}
	return usageError(fmt.Sprintf("unexpected arguments %q", args))
}

// exitStatus ends a command with a code and no message (`ready` when not ready).
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// exitCode follows SPEC 1: 2 for usage, an invalid configuration or a server
// that cannot be reached, 1 for a request the server refused.
func exitCode(err error) int {
	var status exitStatus
	var usage usageError
	var unreachable *api.UnreachableError
	var apiErr *api.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &status):
		return int(status)
	case errors.As(err, &usage), errors.As(err, &unreachable):
		return 2
	case errors.As(err, &apiErr) && (apiErr.Status == http.StatusBadRequest || apiErr.Status == http.StatusUnprocessableEntity):
		return 2
	}
	return 1
}

// report prints err, and each configuration problem on a line of its own.
func (s *session) report(name string, err error) {
	var status exitStatus
	if err == nil || errors.As(err, &status) {
		return
	}
	fmt.Fprintf(s.errOut, "%s%s: %v\n", s.prefix, name, err)
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		for _, d := range apiErr.Details {
			fmt.Fprintln(s.errOut, d)
		}
	}
	var usage usageError
	if errors.As(err, &usage) {
		c := lookup(name)
		fmt.Fprintf(s.errOut, "usage: %s%s %s\n", s.prefix, c.name, c.args)
	}
}

// act carries out action on each task in turn and, unless --no-wait, waits for
// it to take effect, as supervisorctl and systemctl do: `stop db && backup` must
// not race the stop.
func act(action string) func(context.Context, *session, []string) error {
	return func(ctx context.Context, s *session, args []string) error {
		do := s.client.Await
		if len(args) > 0 && args[0] == "--no-wait" {
			do, args = s.client.Act, args[1:]
		}
		if len(args) == 0 {
			return usageError("name at least one task")
		}
		for _, name := range args {
			if strings.HasPrefix(name, "-") {
				return unexpected([]string{name})
			}
		}
		var errs []error
		for _, name := range args {
			err := do(ctx, name, action)
			if ctx.Err() != nil { // ^C: the request was made, only the wait ends
				return fmt.Errorf("interrupted: stopped waiting for %s (a %s already asked for goes on)", name, action)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

func global(fn func(*api.Client, context.Context) error) func(context.Context, *session, []string) error {
	return func(ctx context.Context, s *session, args []string) error {
		if len(args) > 0 {
			return unexpected(args)
		}
		return fn(s.client, ctx)
	}
}

func runScale(ctx context.Context, s *session, args []string) error {
	if len(args) != 2 {
		return usageError("name a task and a number of instances")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 {
		return usageError(fmt.Sprintf("instances must be a whole number, 0 or more (got %q)", args[1]))
	}
	return s.client.Scale(ctx, args[0], n)
}

func runSignal(ctx context.Context, s *session, args []string) error {
	if len(args) != 2 {
		return usageError("name a task and a signal")
	}
	return s.client.Signal(ctx, args[0], args[1])
}

func runReady(ctx context.Context, s *session, args []string) error {
	if len(args) > 0 {
		return unexpected(args)
	}
	names, err := s.client.NotReady(ctx)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		fmt.Fprintf(s.out, "not ready: %s\n", strings.Join(names, ", "))
		return exitStatus(1)
	}
	fmt.Fprintln(s.out, "ready")
	return nil
}
