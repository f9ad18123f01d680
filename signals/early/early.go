// Package early catches, when procmon is PID 1, the signals that would end it,
// from among the first package initialisations on. Go's runtime handles a
// signal nobody registered for by dying of it, and as PID 1, which the kernel
// spares, by exiting 2: a SIGTERM in procmon's first milliseconds (a docker
// stop just after the start) would end it with the code of a configuration
// error. The package needs nothing but os/signal, so it is initialised before
// procmon's heavy dependencies; signals.Listen takes what came meanwhile.
package early

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var (
	ch    = make(chan os.Signal, 64) // signal.Notify drops what does not fit
	taken sync.Once
)

// Terminating are the signals whose default action ends a process and that
// procmon catches (signals.Listen, a superset): not the synchronous faults, nor
// those the runtime keeps, nor the real-time ones glibc and Go keep (32-34).
func Terminating() []os.Signal {
	sigs := []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGVTALRM, syscall.SIGIO, syscall.SIGPWR}
	for sig := syscall.Signal(35); sig <= 64; sig++ {
		sigs = append(sigs, sig)
	}
	return sigs
}

func init() {
	if os.Getpid() == 1 {
		signal.Notify(ch, Terminating()...)
	}
}

// Take returns the channel that caught them, to the first caller only (nil to
// the others): it goes on receiving once its taker registers it for more.
func Take() chan os.Signal {
	var got chan os.Signal
	taken.Do(func() { got = ch })
	return got
}

// Release stops the catch in a process that will not supervise (a control
// command, the shell): nobody would read what it caught, and a SIGTERM or ^C
// must end such a command as it ends any other.
func Release() {
	if ch := Take(); ch != nil {
		signal.Stop(ch)
	}
}
