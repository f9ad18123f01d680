// Command procmon runs a tree of tasks as a container's init or in the foreground,
// and is also the client of a running procmon's control API.
package main

import (
	"fmt"
	"os"

	"github.com/procmon/procmon/signals/early"
	"github.com/procmon/procmon/tasks"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	clearInheritedSigmask()
	tasks.RunUmaskHelper(os.Args)
	os.Exit(run(os.Args[1:]))
}

// subcommands are the commands main runs itself; the others are the control
// commands. A table rather than a switch, so that a test can hold the usage
// text to it.
var subcommands = map[string]func(args) int{
	"run":     runSupervisor,
	"check":   check,
	"exec":    execCommand,
	"shell":   shell,
	"version": printVersion,
	"help":    printUsage,
}

func run(argv []string) int {
	a, err := parseArgs(argv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procmon: %v\n%s", err, usage)
		return 2
	}
	if a.command != "run" && a.command != "exec" {
		early.Release() // only a supervisor reads them: a client dies of them, as any command
	}
	cmd := lookup(a.command)
	switch {
	case a.help && cmd != nil:
		fmt.Printf("usage: procmon %s %s\n  %s\n", cmd.name, cmd.args, cmd.help)
		return 0
	case a.help:
		return printUsage(a)
	}
	if sub, ok := subcommands[a.command]; ok {
		return sub(a)
	}
	if cmd != nil {
		return control(a, cmd)
	}
	fmt.Fprintf(os.Stderr, "procmon: unknown command %q\n%s", a.command, usage)
	return 2
}

func printVersion(a args) int {
	if !takesNothing("version", "procmon version", a.rest) {
		return 2
	}
	fmt.Println("procmon", version)
	return 0
}

// printUsage ignores what follows help: `procmon -h run` asks for help too.
func printUsage(args) int {
	fmt.Print(usage)
	return 0
}
