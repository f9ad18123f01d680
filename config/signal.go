package config

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// signalNames are the signals a user may name, without the SIG prefix.
var signalNames = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "BUS": syscall.SIGBUS,
	"CHLD": syscall.SIGCHLD, "CONT": syscall.SIGCONT, "FPE": syscall.SIGFPE,
	"HUP": syscall.SIGHUP, "ILL": syscall.SIGILL, "INT": syscall.SIGINT,
	"IO": syscall.SIGIO, "IOT": syscall.SIGIOT, "KILL": syscall.SIGKILL,
	"PIPE": syscall.SIGPIPE, "PROF": syscall.SIGPROF, "QUIT": syscall.SIGQUIT,
	"SEGV": syscall.SIGSEGV, "STOP": syscall.SIGSTOP, "SYS": syscall.SIGSYS,
	"TERM": syscall.SIGTERM, "TRAP": syscall.SIGTRAP, "TSTP": syscall.SIGTSTP,
	"TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU, "URG": syscall.SIGURG,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "VTALRM": syscall.SIGVTALRM,
	"WINCH": syscall.SIGWINCH, "XCPU": syscall.SIGXCPU, "XFSZ": syscall.SIGXFSZ,
}

// maxSignal is the highest signal number Linux delivers (SIGRTMAX).
const maxSignal = 64

// ParseSignal resolves a signal name with or without SIG, in any case ("term",
// "SIGTERM"), or a decimal number ("15"). The control API and CLI use it too, so
// that `procmon signal NAME SIG` accepts exactly what stop_signal does.
func ParseSignal(s string) (syscall.Signal, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return signalNumber(int64(n))
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig, ok := signalNames[name]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q%s", s, didYouMean(name, signalList()))
}

func signalNumber(n int64) (syscall.Signal, error) {
	if n < 1 || n > maxSignal {
		return 0, fmt.Errorf("signal number %d is out of range 1-%d", n, maxSignal)
	}
	return syscall.Signal(n), nil
}

func signalList() []string {
	names := make([]string, 0, len(signalNames))
	for n := range signalNames {
		names = append(names, n)
	}
	return names
}
