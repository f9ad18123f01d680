package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/procmon/procmon/config"
)

// check validates the configuration with the same loader as `run`, then prints
// the dependency tree, or with --what-if NAME the plan if NAME died: the one the
// engine would carry out in a procmon that started what the file starts.
func check(a args) int {
	whatIf, err := whatIfArg(a.rest)
	if err != nil {
		fmt.Fprintf(os.Stderr, "procmon check: %v\n", err)
		return 2
	}
	cfg, err := config.Load(a.config)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if dir := cfg.Procmon.ServicesDir; dir != "" {
		if err := config.ServicesDirProblem(dir); err != nil {
			fmt.Fprintf(os.Stderr, "procmon check: warning: %v on this machine: procmon will not start without it\n", err)
		}
	}
	if whatIf == "" {
		printTree(os.Stdout, cfg)
		return 0
	}
	if _, ok := cfg.Tasks[whatIf]; !ok {
		fmt.Fprintf(os.Stderr, "procmon check: --what-if: unknown task %q\n", whatIf)
		return 2
	}
	stop, start := cfg.WhatIf(whatIf)
	for _, name := range stop {
		fmt.Println("stop", name)
	}
	for _, name := range start {
		fmt.Println("start", name)
	}
	return 0
}

func whatIfArg(rest []string) (string, error) {
	switch {
	case len(rest) == 0:
		return "", nil
	case len(rest) == 2 && rest[0] == "--what-if":
		return rest[1], nil
	case len(rest) == 1 && strings.HasPrefix(rest[0], "--what-if="):
		return strings.TrimPrefix(rest[0], "--what-if="), nil
	}
	return "", fmt.Errorf("unexpected arguments %q", rest)
}

// printTree shows each task under each of its parents, roots first, in start order.
func printTree(w io.Writer, cfg *config.Config) {
	fmt.Fprintf(w, "%s: %d tasks, valid\n", cfg.File, len(cfg.Tasks))
	for _, name := range cfg.Graph.Order() {
		if len(cfg.Graph.Parents(name)) == 0 {
			printNode(w, cfg, name, "")
		}
	}
}

func printNode(w io.Writer, cfg *config.Config, name, indent string) {
	t := cfg.Tasks[name]
	detail := string(t.Type)
	if t.Instances != 1 {
		detail += fmt.Sprintf(", %d instances", t.Instances)
	}
	if !t.Autostart {
		detail += ", autostart off"
	}
	if t.Critical {
		detail += ", critical"
	}
	fmt.Fprintf(w, "%s%s (%s)\n", indent, name, detail)
	for _, c := range cfg.Graph.Children(name) {
		printNode(w, cfg, c, indent+"  ")
	}
}
