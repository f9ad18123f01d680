package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/BurntSushi/toml"
)

// buildTask converts one [tasks.NAME] table. References to other tasks and to
// monitors are checked later, once every table has been read.
func (l *loader) buildTask(name string, r *rawTask, g *Global) *Task {
	k := toml.Key{"tasks", name}
	l.checkTaskName(k, name)
	typ := Service
	var s string
	if l.str(sub(k, "type"), r.Type, &s) && l.oneOf(sub(k, "type"), s, string(Service), string(Oneshot)) {
		typ = TaskType(s)
	}
	t := defaultTask(name, typ, g)
	t.Line = l.lines.lineOf(k)
	l.command(sub(k, "command"), r.Command, &t.Command)
	if !r.Command.set {
		l.errorf(k, "missing command")
	}
	l.taskParents(k, r, &t)
	l.boolean(sub(k, "autostart"), r.Autostart, &t.Autostart)
	l.integerUpTo(sub(k, "instances"), r.Instances, 0, MaxInstances, &t.Instances)
	if l.str(sub(k, "restart"), r.Restart, &s) &&
		l.oneOf(sub(k, "restart"), s, string(RestartAlways), string(RestartOnFailure), string(RestartNever)) {
		t.Restart = RestartPolicy(s)
	}
	l.exitCodes(sub(k, "exit_codes"), r.ExitCodes, &t.ExitCodes)
	l.taskTiming(k, r, &t)
	l.names(sub(k, "wait_for"), r.WaitFor, &t.WaitFor)
	l.names(sub(k, "ready"), r.Ready, &t.Ready)
	l.names(sub(k, "monitors"), r.Monitors, &t.Monitors)
	l.checkOneshotKeys(k, typ, r)
	l.boolean(sub(k, "critical"), r.Critical, &t.Critical)
	l.taskProcess(k, r, &t)
	l.taskOutput(k, r, &t)
	l.taskLoad(k, r, &t)
	return &t
}

// InvalidInTaskName reports a rune a task name must not contain: task names serve
// as file names and CLI arguments.
func InvalidInTaskName(r rune) bool { return unicode.IsSpace(r) || r == '/' }

// CheckTaskName says why name cannot be a task's name, if it cannot: it must
// serve as a file name, a CLI argument and a segment of an API path.
func CheckTaskName(name string) error {
	switch {
	case name == "":
		return errors.New("task name must not be empty")
	case strings.ContainsFunc(name, InvalidInTaskName):
		return fmt.Errorf("invalid task name %q: it must not contain whitespace or '/'", name)
	case name == "." || name == "..":
		return fmt.Errorf("invalid task name %q: it names a directory in a path", name)
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("invalid task name %q: it must not begin with '-', which reads as a flag", name)
	}
	return nil
}

// LabelClash says why name cannot be a task's name beside the tasks isTask
// knows, if it cannot: "BASE.N" is how instance N of a task BASE is labelled
// (status, output prefixes), so it must not be the name of another task.
// "php8.2" is fine while there is no task "php8".
func LabelClash(name string, isTask func(string) bool) error {
	base, n, ok := SplitLabel(name)
	if !ok || !isTask(base) {
		return nil
	}
	return fmt.Errorf("invalid task name %q: it reads as instance %s of task %q", name, n, base)
}

// SplitLabel reads name as an instance label, "BASE.N" with N digits.
func SplitLabel(name string) (base, n string, ok bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || dot == len(name)-1 {
		return "", "", false
	}
	base, n = name[:dot], name[dot+1:]
	return base, n, strings.Trim(n, "0123456789") == ""
}

func (l *loader) checkTaskName(k toml.Key, name string) {
	if err := CheckTaskName(name); err != nil {
		l.errorf(k, "%v", err)
	}
}

// checkOneshotKeys rejects the monitor keys a oneshot would never use: it is
// ready when it completes, and liveness is only checked from readiness on.
func (l *loader) checkOneshotKeys(k toml.Key, typ TaskType, r *rawTask) {
	if typ != Oneshot {
		return
	}
	if r.Ready.set {
		l.errorf(sub(k, "ready"), "ready does not apply to a oneshot (it is ready when it completes)")
	}
	if r.Monitors.set {
		l.errorf(sub(k, "monitors"), "monitors does not apply to a oneshot (liveness is checked from readiness "+
			"on, and a oneshot is ready only once it has completed)")
	}
}

// taskParents merges `parent` and `parents`, which are synonyms.
func (l *loader) taskParents(k toml.Key, r *rawTask, t *Task) {
	if r.Parent.set && r.Parents.set {
		l.errorf(sub(k, "parents"), "both parent and parents are set; use one of them")
		return
	}
	l.names(sub(k, "parent"), r.Parent, &t.Parents)
	l.names(sub(k, "parents"), r.Parents, &t.Parents)
}

// parentKey is the key under which a task named its parents, for messages.
func (r *rawTask) parentKey() string {
	if r.Parent.set {
		return "parent"
	}
	return "parents"
}

func (l *loader) taskTiming(k toml.Key, r *rawTask, t *Task) {
	l.duration(sub(k, "start_time"), r.StartTime, false, &t.StartTime)
	l.integer(sub(k, "start_retries"), r.StartRetries, -1, &t.StartRetries)
	l.duration(sub(k, "restart_delay"), r.RestartDelay, false, &t.RestartDelay)
	l.duration(sub(k, "restart_delay_max"), r.RestartDelayMax, false, &t.RestartDelayMax)
	if t.RestartDelayMax < t.RestartDelay {
		at := "restart_delay_max"
		if !r.RestartDelayMax.set {
			at = "restart_delay" // the default max was fine until restart_delay outgrew it
		}
		l.errorf(sub(k, at), "restart_delay_max (%v) is less than restart_delay (%v)",
			t.RestartDelayMax, t.RestartDelay)
	}
	l.signal(sub(k, "stop_signal"), r.StopSignal, &t.StopSignal)
	l.duration(sub(k, "stop_timeout"), r.StopTimeout, false, &t.StopTimeout)
	l.duration(sub(k, "max_runtime"), r.MaxRuntime, false, &t.MaxRuntime)
	l.duration(sub(k, "ready_timeout"), r.ReadyTimeout, true, &t.ReadyTimeout)
}

func (l *loader) taskProcess(k toml.Key, r *rawTask, t *Task) {
	l.str(sub(k, "dir"), r.Dir, &t.Dir)
	l.strMap(sub(k, "env"), r.Env, &t.Env)
	l.str(sub(k, "user"), r.User, &t.User)
	l.str(sub(k, "group"), r.Group, &t.Group)
	l.umask(sub(k, "umask"), r.Umask, &t.Umask)
}

func (l *loader) taskOutput(k toml.Key, r *rawTask, t *Task) {
	l.output(sub(k, "stdout"), r.Stdout, false, &t.Stdout)
	l.output(sub(k, "stderr"), r.Stderr, true, &t.Stderr)
	l.size(sub(k, "log_max_size"), r.LogMaxSize, &t.LogMaxSize)
	l.integer(sub(k, "log_backups"), r.LogBackups, 0, &t.LogBackups)
	l.command(sub(k, "log_command"), r.LogCommand, &t.LogCommand)
	if stream, err := t.FileBesideLogCommand(); err != nil {
		l.errorf(sub(k, stream), "%v", err)
	}
}

// FileBesideLogCommand says which stream names a file that log_command would
// take the output from instead, if one does: the file would never be written.
func (t *Task) FileBesideLogCommand() (stream string, err error) {
	if len(t.LogCommand) == 0 {
		return "", nil
	}
	for _, s := range []struct{ stream, dest string }{{"stdout", t.Stdout}, {"stderr", t.Stderr}} {
		switch s.dest {
		case OutputInherit, OutputDiscard, OutputStdout:
		default:
			return s.stream, fmt.Errorf("%s goes to log_command, not to the file %q: keep one of them", s.stream, s.dest)
		}
	}
	return "", nil
}

func (l *loader) taskLoad(k toml.Key, r *rawTask, t *Task) {
	l.float(sub(k, "load_high"), r.LoadHigh, &t.LoadHigh)
	l.float(sub(k, "load_low"), r.LoadLow, &t.LoadLow)
	if r.LoadHigh.set && r.LoadLow.set && t.LoadLow > t.LoadHigh {
		l.errorf(sub(k, "load_low"), "load_low (%g) is greater than load_high (%g)", t.LoadLow, t.LoadHigh)
	}
}

// Equal reports whether t and o define the same task, ignoring where in the file
// they were written, so that reload restarts only tasks whose definition changed.
func (t *Task) Equal(o *Task) bool {
	if t == nil || o == nil {
		return t == o
	}
	a, b := *t, *o
	a.Line, b.Line = 0, 0
	return reflect.DeepEqual(a, b)
}

func (l *loader) validateLabels(tasks map[string]*Task) {
	isTask := func(name string) bool { return tasks[name] != nil }
	for _, name := range sortedKeys(tasks) {
		if err := LabelClash(name, isTask); err != nil {
			l.errorf(toml.Key{"tasks", name}, "%v", err)
		}
	}
}
