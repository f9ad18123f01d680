package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/procmon/procmon/api"
	"github.com/procmon/procmon/config"
)

// control runs one control command against the server and returns its exit code.
// ^C ends a command that waits (logs -f) as a normal end.
func control(a args, cmd *command) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := newSession(a, "procmon ")
	err := cmd.run(ctx, s, a.rest)
	s.report(cmd.name, err)
	return exitCode(err)
}

func newSession(a args, prefix string) *session {
	return &session{client: api.NewClient(socketPath(a)), out: os.Stdout, errOut: os.Stderr, prefix: prefix}
}

// socketPath is -s, else $PROCMON_SOCKET, else the configuration's socket, else
// the default (SPEC 1). A configuration that cannot be loaded is no reason not to
// try the default: the server may well run with another file.
func socketPath(a args) string {
	if a.socket != "" {
		return a.socket
	}
	if p := os.Getenv("PROCMON_SOCKET"); p != "" {
		return p
	}
	if cfg, err := config.Load(a.config); err == nil && cfg.Procmon.Socket != "" {
		return cfg.Procmon.Socket
	}
	return config.DefaultSocket()
}

// usageOf lists the control commands for the usage text and the shell's help.
func usageOf(cmds []command, indent string) string {
	var b strings.Builder
	for _, c := range cmds {
		line := c.name
		if c.args != "" {
			line += " " + c.args
		}
		fmt.Fprintf(&b, "%s%-28s %s\n", indent, line, c.help)
	}
	return b.String()
}
