package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/tasks"
)

// execCommand is single-command mode (SPEC 5): one command kept running without
// a configuration file (with --no-restart, a drop-in for tini or dumb-init). It
// is an ordinary configuration of one critical task, run by the same supervisor.
func execCommand(a args) int {
	cfg, err := execConfig(a.rest)
	var help helpRequested
	if errors.As(err, &help) {
		fmt.Printf("%s\n%s", execUsage, help)
		return 0
	}
	return superviseWith(func() (*config.Config, error) {
		if err != nil {
			return nil, fmt.Errorf("procmon exec: %w\n%s", err, execUsage)
		}
		return cfg, nil
	}, tasks.Options{ForwardSignals: true, DirectOutput: true, InheritStdin: true})
}

// helpRequested is exec's -h: the description of its flags.
type helpRequested string

func (h helpRequested) Error() string { return string(h) }

const execUsage = `usage: procmon exec [--once | --no-restart] [--restart-delay D] [--max-runtime D] [--load-high X --load-low Y]
                    [--stdout FILE] [--stderr FILE|stdout] [--log-command CMD] [--pidfile FILE]
                    [--user U] [--group G] [--log-level LEVEL] -- CMD ARG...`

func execConfig(argv []string) (*config.Config, error) {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error and execUsage say it all, once
	once := fs.Bool("once", false, "exit when the command exits 0; restart it while it fails")
	noRestart := fs.Bool("no-restart", false, "run the command once and exit with its code, as tini does")
	delay := fs.Duration("restart-delay", time.Second, "pause before a restart")
	maxRuntime := fs.Duration("max-runtime", 0, "kill the command when it has run this long")
	loadHigh := fs.Float64("load-high", 0, "pause the command while the load average is above this")
	loadLow := fs.Float64("load-low", 0, "resume it below this")
	stdout := fs.String("stdout", config.OutputInherit, "file for the command's stdout")
	stderr := fs.String("stderr", config.OutputInherit, `file for its stderr, or "stdout"`)
	logCommand := fs.String("log-command", "", "pipe the output into this shell command")
	pidfile := fs.String("pidfile", "", "write procmon's pid here")
	user := fs.String("user", "", "run the command as this user")
	group := fs.String("group", "", "and group")
	logLevel := fs.String("log-level", "info", "procmon's own log: debug, info, warn or error (warn: silent while all goes well, as tini)")
	if err := fs.Parse(argv); errors.Is(err, flag.ErrHelp) {
		var flags strings.Builder
		fs.SetOutput(&flags)
		fs.PrintDefaults()
		return nil, helpRequested(flags.String())
	} else if err != nil {
		return nil, err
	}
	command := fs.Args()
	if len(command) == 0 {
		return nil, fmt.Errorf("no command given")
	}
	if *loadLow > *loadHigh {
		return nil, fmt.Errorf("--load-low must not exceed --load-high")
	}
	if *once && *noRestart {
		return nil, fmt.Errorf("--once and --no-restart exclude each other")
	}
	level, err := logrus.ParseLevel(*logLevel)
	if err != nil || level > logrus.DebugLevel || level < logrus.ErrorLevel {
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error (got %q)", *logLevel)
	}
	cfg := config.Empty()
	cfg.Procmon.LogLevel = level
	cfg.Procmon.Socket = "" // no control API: one command needs none
	cfg.Procmon.Pidfile = *pidfile
	typ, restart := config.Service, config.RestartAlways
	switch {
	case *once:
		typ, restart = config.Oneshot, config.RestartOnFailure
	case *noRestart: // its end, whatever the code, is procmon's (the task is critical)
		restart = config.RestartNever
	}
	t := config.NewTask(taskName(command[0]), typ, cfg.Procmon, command)
	t.Restart, t.StartRetries, t.Critical = restart, -1, true
	t.RestartDelay, t.RestartDelayMax = *delay, max(*delay, t.RestartDelayMax)
	t.MaxRuntime, t.LoadHigh, t.LoadLow = *maxRuntime, *loadHigh, *loadLow
	t.Stdout, t.Stderr, t.User, t.Group = *stdout, *stderr, *user, *group
	if *logCommand != "" {
		t.LogCommand = []string{"/bin/sh", "-c", *logCommand}
	}
	if stream, err := t.FileBesideLogCommand(); err != nil {
		return nil, fmt.Errorf("--%s: %w", stream, err)
	}
	cfg.Tasks[t.Name] = t
	graph, err := config.NewGraph(map[string][]string{t.Name: nil})
	if err != nil {
		return nil, err
	}
	cfg.Graph = graph
	return cfg, nil
}

// taskName is the command's base name, made safe as a task name.
func taskName(command string) string {
	name := strings.Map(func(r rune) rune {
		if config.InvalidInTaskName(r) {
			return '_'
		}
		return r
	}, filepath.Base(command))
	if config.CheckTaskName(name) != nil { // ".", "..", "-x"
		return "command"
	}
	return name
}
