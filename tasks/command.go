package tasks

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/config"
)

// command builds the exec.Cmd of one run: its program found in PATH (paths keeps
// the answers of one batch; it may be nil), its own process group, procmon's
// environment plus the task's, credentials, and the instance's output streams.
func (s *Supervisor) command(i *instance, r *run, paths map[string]lookup) (*exec.Cmd, error) {
	t := i.task.cfg
	program, err := lookPath(t.Command[0], t, paths)
	if err != nil {
		return nil, err
	}
	if i.output == nil {
		o, err := s.openOutput(i)
		if err != nil {
			return nil, err
		}
		i.output = o
	}
	cmd := &exec.Cmd{Path: program, Args: t.Command, Dir: t.Dir, Stdin: s.stdin}
	if t.Umask >= 0 {
		if err := umaskCommand(cmd, t.Umask); err != nil {
			return nil, err
		}
	}
	extra, err := s.prepareMonitorEnv(r)
	if err != nil {
		return nil, err
	}
	cmd.Env = taskEnv(s.baseEnv, t, i.index, extra)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// Not PID 1: the kernel kills children when procmon dies. The signal is
		// tied to the forking thread; procmon never ends a thread (no goroutine
		// exits while locked to one), so it fires only when procmon is gone.
		Pdeathsig: syscall.SIGKILL,
		// Only the foreground group may read the terminal or change its modes:
		// anyone else is stopped by SIGTTIN or SIGTTOU. The child takes the
		// foreground itself, between setpgid and exec, with its signals still
		// blocked, so no SIGTTOU reaches it (Ctty is procmon's fd 0, as in tini).
		Foreground: s.takeTTY,
		Ctty:       0,
	}
	cred, userEnv, err := identity(t)
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr.Credential = cred
	cmd.Env = append(cmd.Env, userEnv...)
	// Last: from here on, the monitors and pipes made must be closed by the caller.
	stdout, stderr, ends, err := i.output.streams(s.hub)
	if err != nil {
		return nil, err
	}
	r.pipeEnds = ends
	cmd.Stdout, cmd.Stderr = s.orDevNull(stdout), s.orDevNull(stderr)
	return cmd, nil
}

// umaskCommand runs cmd through procmon's own umask helper: a umask can only be
// set per process, and setting it around fork would change procmon's own for
// every goroutine in the meantime. The helper is handed the program already found.
func umaskCommand(cmd *exec.Cmd, mask int) error {
	self, err := executable()
	if err != nil {
		return err
	}
	args := append([]string{self, UmaskHelperArg, fmt.Sprintf("%03o", mask), "--", cmd.Path}, cmd.Args[1:]...)
	cmd.Path, cmd.Args = self, args
	return nil
}

// executable is procmon's own binary, read once.
var executable = sync.OnceValues(os.Executable)

// inheritedEnv is procmon's environment minus NOTIFY_SOCKET: procmon's own, when
// a service manager runs it, is not the task's. It is read once, not at every spawn.
func inheritedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			env = append(env, kv)
		}
	}
	return env
}

// taskEnv is base plus PROCMON_TASK, PROCMON_INSTANCE, the task's env table
// (sorted, so equal configurations give equal environments) and what its
// monitors need.
func taskEnv(base []string, t *config.Task, index int, extra []string) []string {
	env := append(slices.Clip(base), "PROCMON_TASK="+t.Name, "PROCMON_INSTANCE="+strconv.Itoa(index))
	keys := make([]string, 0, len(t.Env))
	for k := range t.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+t.Env[k])
	}
	return append(env, extra...)
}

// identity is who a task's processes run as, its exec checks included: their
// credential and the variables naming the user; nil and none when the task names
// nobody (procmon's own).
func identity(t *config.Task) (*syscall.Credential, []string, error) {
	if t.User == "" && t.Group == "" {
		return nil, nil, nil
	}
	cred, home, err := credential(t.User, t.Group)
	if err != nil || home == "" {
		return cred, nil, err
	}
	return cred, []string{"HOME=" + home, "USER=" + t.User, "LOGNAME=" + t.User}, nil
}

// credential resolves user and group names (or numeric ids) for the child.
func credential(userName, groupName string) (*syscall.Credential, string, error) {
	cred := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
	home := ""
	if userName != "" {
		u, err := lookupUser(userName)
		if err != nil {
			return nil, "", err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred.Uid, cred.Gid, home = uint32(uid), uint32(gid), u.HomeDir
		if groups, err := u.GroupIds(); err == nil {
			for _, g := range groups {
				if n, err := strconv.Atoi(g); err == nil {
					cred.Groups = append(cred.Groups, uint32(n))
				}
			}
		}
	}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			if g, err = user.LookupGroupId(groupName); err != nil {
				return nil, "", fmt.Errorf("unknown group %q", groupName)
			}
		}
		gid, _ := strconv.Atoi(g.Gid)
		cred.Gid = uint32(gid)
	}
	return cred, home, nil
}

func lookupUser(name string) (*user.User, error) {
	u, err := user.Lookup(name)
	if err == nil {
		return u, nil
	}
	if u, err := user.LookupId(name); err == nil {
		return u, nil
	}
	return nil, fmt.Errorf("unknown user %q", name)
}

// orDevNull gives discarded output procmon's one /dev/null rather than one opened
// at each spawn; a nil *os.File must not become a non-nil io.Writer either, which
// os/exec would copy into.
func (s *Supervisor) orDevNull(f *os.File) io.Writer {
	if f == nil {
		return s.devNull
	}
	return f
}

// isControllingTerminal tells whether f is procmon's controlling terminal: only
// that one can be handed over (TIOCSPGRP fails on any other, and the spawn with
// it), and TIOCGPGRP answers only for it.
func isControllingTerminal(f *os.File) bool {
	_, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil
}

// blameDir names the task's dir when it is why the spawn failed: the child's
// chdir fails with the same "fork/exec PROGRAM: no such file or directory" as a
// missing program, and the user would look for the wrong one.
func blameDir(dir string, err error) error {
	var e *os.PathError
	if dir == "" || !errors.As(err, &e) || e.Op != "fork/exec" {
		return err
	}
	switch fi, statErr := os.Stat(dir); {
	case statErr != nil:
		return fmt.Errorf("dir %s: %w", dir, statErr)
	case !fi.IsDir():
		return fmt.Errorf("dir %s: not a directory", dir)
	}
	return err
}
