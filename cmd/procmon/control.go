package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"

	"github.com/procmon/procmon/api"
	"github.com/procmon/procmon/config"
)

// control runs one control command against the server and returns its exit code.
// ^C ends a command that waits (logs -f) as a normal end.
func control(a args, cmd *command) int {
	socket, err := socketPath(a, cmd.readOnly)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procmon %s: %v\n", cmd.name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := sessionOn(socket, "procmon ")
	err = cmd.run(ctx, s, a.rest)
	s.report(cmd.name, err)
	if cmd.name == "reload" {
		reportLocalErrors(os.Stderr, a.config, err)
	}
	return exitCode(err)
}

// newSession is the shell's session: a socket that cannot be told ends procmon
// before the first prompt, as it would end each command.
func newSession(a args, prefix string) *session {
	socket, err := socketPath(a, false) // the shell runs every command
	if err != nil {
		fmt.Fprintf(os.Stderr, "procmon: %v\n", err)
		os.Exit(2)
	}
	return sessionOn(socket, prefix)
}

func sessionOn(socket, prefix string) *session {
	return &session{client: api.NewClient(socket), out: os.Stdout, errOut: os.Stderr, prefix: prefix}
}

// socketPath is -s, else $PROCMON_SOCKET, else the configuration's socket, else
// the default (SPEC 1). The socket of a file with errors elsewhere is still the
// one its server listens on. A file that does not parse at all says nothing:
// a command that only reads (guess) tries the default, saying why, so that
// `ready` as a health check goes on answering; any other must not reach what
// may be another server. Neither may a socket key that cannot be read, or one
// that turns the socket off.
func socketPath(a args, guess bool) (string, error) {
	if a.socket != "" {
		return a.socket, nil
	}
	if p := os.Getenv("PROCMON_SOCKET"); p != "" {
		return p, nil
	}
	socket, err := config.Socket(a.config)
	var syntax toml.ParseError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return config.DefaultSocket(), nil
	case errors.As(err, &syntax) && guess:
		// A file mid-edit: the server runs on with what it loaded, most often on
		// the default socket.
		fmt.Fprintf(os.Stderr, "procmon: %v\nprocmon: trying the default socket %s\n", err, config.DefaultSocket())
		return config.DefaultSocket(), nil
	case err != nil:
		return "", fmt.Errorf("cannot tell the socket from %s (name it with -s PATH): %w", a.config, err)
	case socket == "":
		return "", fmt.Errorf("%s turns the control socket off (socket = \"\"): name one with -s PATH", a.config)
	}
	return socket, nil
}

// reportLocalErrors adds the file's own errors to a reload that reached no
// server: the user who runs reload wants them either way.
func reportLocalErrors(w io.Writer, file string, err error) {
	var unreachable *api.UnreachableError
	if !errors.As(err, &unreachable) {
		return
	}
	if _, err := config.Load(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "%s is invalid:\n%v\n", file, err)
	}
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
