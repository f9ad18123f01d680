// Command procmon runs a tree of tasks as a container's init or in the foreground,
// and is also the client of a running procmon's control API.
package main

import (
	"fmt"
	"os"

	"github.com/procmon/procmon/tasks"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	tasks.RunUmaskHelper(os.Args)
	os.Exit(run(os.Args[1:]))
}

func run(argv []string) int {
	a, err := parseArgs(argv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procmon: %v\n%s", err, usage)
		return 2
	}
	switch a.command {
	case "run":
		return runSupervisor(a)
	case "check":
		return check(a)
	case "exec":
		return execCommand(a)
	case "version":
		fmt.Println("procmon", version)
		return 0
	case "help":
		fmt.Print(usage)
		return 0
	case "shell":
		return shell(a)
	}
	if cmd := lookup(a.command); cmd != nil {
		return control(a, cmd)
	}
	fmt.Fprintf(os.Stderr, "procmon: unknown command %q\n%s", a.command, usage)
	return 2
}
