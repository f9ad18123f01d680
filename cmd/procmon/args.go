package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/procmon/procmon/config"
)

// usage lists every subcommand (a test holds it to the dispatch tables); the
// control commands come from the same table as the shell's help.
var usage = `usage:
  procmon [-c FILE] [run]              run the supervisor in the foreground
  procmon check [-c FILE] [--what-if NAME]
                                       validate FILE and print the dependency tree
  procmon exec [FLAGS] -- CMD ARG...   single-command mode (with --no-restart, a drop-in for tini)
` + usageOf(commands, "  procmon ") + `  procmon shell                        interactive control shell (or commands from stdin)
  procmon version                      print procmon's version
  procmon help                         this text (also -h)

-c FILE and -s PATH may stand before or after the subcommand (not after exec,
whose arguments are all its own). -h after a control command or exec prints
the usage of that command alone. Control commands
reach the server on -s PATH, else $PROCMON_SOCKET, else the socket of the
configuration file, else the default socket.
`

// args are the parsed command line: -c and -s may stand before or after the
// subcommand, everything else after it belongs to the subcommand.
type args struct {
	command string
	config  string
	socket  string
	help    bool // -h or --help: the usage of command, or of procmon
	rest    []string
}

func parseArgs(argv []string) (args, error) {
	var a args
	for n := 0; n < len(argv); n++ {
		arg := argv[n]
		if arg == "--" || a.command == "exec" {
			// The rest is a command line of its own: exec's flags, then the
			// command, whose -c is its own (sh -c), not procmon's.
			a.rest = append(a.rest, argv[n:]...)
			break
		}
		name, value, hasValue := strings.Cut(arg, "=")
		switch name {
		case "-c", "--config", "-s", "--socket":
			if !hasValue {
				if n+1 >= len(argv) {
					return a, fmt.Errorf("%s needs a value", name)
				}
				n++
				value = argv[n]
			}
			if name == "-c" || name == "--config" {
				a.config = value
			} else {
				a.socket = value
			}
		case "-h", "--help":
			a.help = true
		default:
			if a.command == "" && !strings.HasPrefix(arg, "-") {
				a.command = arg
			} else {
				a.rest = append(a.rest, arg)
			}
		}
	}
	switch {
	case a.command == "" && a.help:
		a.command = "help"
	case a.command == "":
		a.command = "run"
	}
	if a.config == "" {
		a.config = config.DefaultPath()
	}
	return a, nil
}

// takesNothing reports arguments given to a subcommand that takes none, in the
// form of the control commands' usage errors, and is false then (exit 2).
// Ignoring them would do something else than what was asked: `procmon --json`
// would start a supervisor.
func takesNothing(name, synopsis string, rest []string) bool {
	if len(rest) == 0 {
		return true
	}
	fmt.Fprintf(os.Stderr, "procmon %s: %v\nusage: %s\n", name, unexpected(rest), synopsis)
	return false
}
