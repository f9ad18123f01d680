// Package signals owns procmon's process-wide duties: it is the only place that
// registers for OS signals and the only caller of wait(2), and it turns both into
// events for the supervisor.
package signals

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/signals/early"
)

// Action is what an incoming signal asks procmon to do.
type Action int

// Actions, one per signal group of SPEC 3.7.
const (
	Shutdown    Action = iota // SIGTERM, SIGINT, SIGQUIT
	Maintenance               // SIGHUP
	Reload                    // SIGUSR1
	ReopenLogs                // SIGUSR2
	// Forward has no action of its own: single-command mode passes these on to
	// its command, as tini does (SIGWINCH for a terminal's size, SIGRTMIN+3 to
	// stop systemd, ...); otherwise they are ignored, as the Go runtime would.
	Forward
)

// Event is a signal turned into an action.
type Event struct {
	Action Action
	Signal syscall.Signal
}

var actions = map[os.Signal]Action{
	unix.SIGTERM: Shutdown,
	unix.SIGINT:  Shutdown,
	unix.SIGQUIT: Shutdown,
	unix.SIGHUP:  Maintenance,
	unix.SIGUSR1: Reload,
	unix.SIGUSR2: ReopenLogs,
	// Not forwarded: SIGPIPE, SIGXCPU and SIGXFSZ, which the kernel sends procmon
	// about its own writes and limits; SIGPROF and SIGURG, the Go runtime's own;
	// the job-control ones and SIGCHLD, procmon's own business.
	unix.SIGWINCH:  Forward,
	unix.SIGALRM:   Forward,
	unix.SIGVTALRM: Forward,
	unix.SIGIO:     Forward,
	unix.SIGPWR:    Forward,
}

// The real-time signals that can be caught: glibc keeps 32 and 33 for itself
// (its SIGRTMIN is 34), musl 32 to 34 (its SIGRTMIN is 35), and the Go runtime
// lets no program catch any of 32 to 34.
const (
	firstRealtime = syscall.Signal(35)
	lastRealtime  = syscall.Signal(64)
)

// caught lists every signal that becomes an Event.
func caught() []os.Signal {
	var sigs []os.Signal
	for sig := range actions {
		sigs = append(sigs, sig)
	}
	for sig := firstRealtime; sig <= lastRealtime; sig++ {
		sigs = append(sigs, sig)
	}
	return sigs
}

// actionOf is what sig asks for; the real-time signals only ever get forwarded.
func actionOf(sig os.Signal) Action {
	if a, ok := actions[sig]; ok {
		return a
	}
	return Forward
}

// Listener delivers signals: SIGCHLD drives the Reaper, the others become Events.
// Each has its own channel and goroutine, so that reaping never waits for the
// supervisor to take a signal action, and a burst of SIGCHLDs never crowds out a
// SIGTERM.
type Listener struct {
	children chan os.Signal // SIGCHLD: one pending is enough, as Reap collects every exit
	requests chan os.Signal
	events   chan Event
	done     chan struct{}
}

// Listen registers for SIGCHLD before anything else (it is the one signal that must
// never be missed, runc #5208) and then for the signals of SPEC 3.7 and those
// single-command mode forwards. It must run before the first child is started.
// Registering also keeps the Go runtime from dying on SIGTERM or SIGHUP, which
// as PID 1 would leave no teardown at all.
// Children start with default dispositions because every signal is caught, never
// ignored: the runtime catches most by itself, and those it leaves as procmon
// found them (SIGHUP and SIGINT after nohup or a shell's &, the job-control ones)
// are caught here; exec resets caught signals to their default.
func Listen(r *Reaper) *Listener {
	l := &Listener{
		children: make(chan os.Signal, 1),
		requests: takeEarly(),
		events:   make(chan Event, 64),
		done:     make(chan struct{}),
	}
	signal.Notify(l.children, unix.SIGCHLD)
	signal.Notify(l.requests, caught()...)
	// Caught and dropped, for good: SIGPIPE so that a closed stdout or stderr
	// makes writes fail instead of killing procmon (and, as PID 1, the container
	// with no teardown); the others only so that children do not inherit them
	// ignored.
	signal.Notify(make(chan os.Signal, 1), unix.SIGPIPE, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGCONT)
	// Zombies left from before registration would never get their own SIGCHLD.
	// A SIGCHLD since registration may hold the one slot already: a reap is due
	// either way, and waiting for room would wait for ever (nothing reads yet).
	select {
	case l.children <- unix.SIGCHLD:
	default:
	}
	go l.reap(r)
	go l.deliver()
	return l
}

// takeEarly is the channel of the first Listen, which holds what came before
// it (package early); later ones (tests) get their own.
func takeEarly() chan os.Signal {
	if ch := early.Take(); ch != nil {
		return ch
	}
	return make(chan os.Signal, 64) // signal.Notify drops what does not fit
}

// Events is the stream of signal actions, in arrival order.
func (l *Listener) Events() <-chan Event { return l.events }

// Stop unregisters every signal. Signals arriving afterwards get Go's default
// handling, so call it only on the way out.
func (l *Listener) Stop() {
	signal.Stop(l.children)
	signal.Stop(l.requests)
	close(l.done)
}

func (l *Listener) reap(r *Reaper) {
	for {
		select {
		case <-l.children:
			r.Reap()
		case <-l.done:
			return
		}
	}
}

func (l *Listener) deliver() {
	for {
		select {
		case sig := <-l.requests:
			select {
			case l.events <- Event{Action: actionOf(sig), Signal: sig.(syscall.Signal)}:
			case <-l.done:
				return
			}
		case <-l.done:
			return
		}
	}
}

// BecomeInit prepares procmon to adopt orphans: as PID 1 the kernel already hands
// them over; otherwise, with subreaper set, procmon asks to receive its tasks'
// orphaned descendants (PR_SET_CHILD_SUBREAPER). Like tini, it warns once when
// neither holds, because zombies will then pile up under someone else.
func BecomeInit(subreaper bool, log logrus.FieldLogger) {
	if os.Getpid() == 1 {
		ignoreSentFaults(log)
		return
	}
	if !subreaper {
		log.Warn("procmon is not PID 1 and subreaper is off: orphaned descendants of tasks will not be reaped by procmon")
		return
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		log.WithError(err).Warn("cannot become child subreaper: orphaned descendants of tasks will not be reaped by procmon")
	}
}

// faultSignals are the signals for which the Go runtime installs a handler that
// crashes the program, even when another process sent them (`kill -ABRT 1`).
var faultSignals = []os.Signal{unix.SIGABRT, unix.SIGSYS, unix.SIGTRAP, unix.SIGILL,
	unix.SIGSTKFLT, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE}

// ignoreSentFaults makes PID 1 survive fault signals that another process sent,
// as the kernel protects an init that leaves them at SIG_DFL: a crash of PID 1
// ends the container with no teardown. Only sent ones reach the channel: the
// runtime still crashes on a real fault (SIGSEGV becomes a panic, a SIGILL or a
// seccomp SIGSYS still throws), and its own fatal SIGABRT bypasses the handler.
func ignoreSentFaults(log logrus.FieldLogger) {
	sent := make(chan os.Signal, 8)
	signal.Notify(sent, faultSignals...)
	go func() {
		for sig := range sent {
			log.WithField("signal", unix.SignalName(sig.(syscall.Signal))).Debug("ignored a fault signal sent to PID 1")
		}
	}()
}
