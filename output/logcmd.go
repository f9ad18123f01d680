package output

import (
	"errors"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/procmon/procmon/signals"
)

const (
	logQueueLines = 1000
	// Restart pauses of a logger that keeps dying; they start over once a
	// logger has lived for logRestartReset.
	logRestartMin   = 100 * time.Millisecond
	logRestartMax   = 5 * time.Second
	logRestartReset = 10 * time.Second
	// Close gives the queue logFlushWait to reach the logger, then the logger
	// logStopWait after EOF, after SIGTERM and after SIGKILL.
	logFlushWait = time.Second
	logStopWait  = 500 * time.Millisecond
)

// LogCommand is a Sink that pipes a task's lines into a supervised logger process
// (log_command, as daemontools' multilog). The task never waits for the logger:
// lines go into a bounded queue, and when it is full they are dropped and counted.
// A logger that dies is started again, and the lines queued meanwhile go to the
// new one; lines already in the dead one's pipe are lost with it.
type LogCommand struct {
	argv    []string
	start   signals.StartFunc
	log     logrus.FieldLogger
	queue   chan []byte
	drops   Drops
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
	closed  atomic.Bool

	mu      sync.Mutex
	stdin   *os.File  // the current logger's stdin; nil while none runs
	flushBy time.Time // set by Close: the deadline of writes to stdin
}

// logger is one run of the logger process.
type logger struct {
	pid     int // also its process group
	stdin   *os.File
	exited  chan signals.Exit
	started time.Time
}

// StartLogCommand starts the logger argv through start and returns its sink. The
// logger gets procmon's environment, stdout and stderr, and a process group of
// its own.
func StartLogCommand(argv []string, start signals.StartFunc, log logrus.FieldLogger) (*LogCommand, error) {
	if len(argv) == 0 {
		return nil, errors.New("log_command: empty command")
	}
	c := &LogCommand{
		argv: argv, start: start, log: log.WithField("log_command", argv[0]),
		queue: make(chan []byte, logQueueLines), closing: make(chan struct{}), done: make(chan struct{}),
	}
	c.drops = Drops{Log: c.log, Msg: "log_command does not keep up: dropping lines"}
	l, err := c.spawn()
	if err != nil {
		return nil, err
	}
	go c.run(l)
	return c, nil
}

// WriteLine queues a copy of text, and its newline if it had one, for the
// logger, or drops it when the queue is full: the logger gets the task's bytes
// unchanged, less what was dropped. It never blocks.
func (c *LogCommand) WriteLine(text []byte, complete bool) {
	if c.closed.Load() {
		return
	}
	buf := make([]byte, len(text), len(text)+1)
	copy(buf, text)
	if complete {
		buf = append(buf, '\n')
	}
	select {
	case c.queue <- buf:
	default:
		c.drops.Add()
	}
}

// Dropped is how many lines were dropped because the queue was full.
func (c *LogCommand) Dropped() int64 { return c.drops.Count() }

func (c *LogCommand) spawn() (*logger, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, os.Stdout, os.Stderr
	// Pdeathsig: the logger must not outlive procmon (SPEC 3.7); it also gets EOF.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	l := &logger{stdin: w, exited: make(chan signals.Exit, 1), started: time.Now()}
	started, err := c.start(cmd, func(x signals.Exit) { l.exited <- x })
	r.Close() // the logger holds its own copy
	l.pid = started.Pid
	if err != nil {
		w.Close()
		return nil, err
	}
	c.mu.Lock()
	c.stdin = w
	if !c.flushBy.IsZero() {
		_ = w.SetWriteDeadline(c.flushBy)
	}
	c.mu.Unlock()
	return l, nil
}

// run feeds loggers one after the other until Close.
func (c *LogCommand) run(l *logger) {
	defer close(c.done)
	pause := logRestartMin
	var pending []byte
	for {
		var exit *signals.Exit
		pending, exit = c.feed(l, pending)
		if exit == nil { // closing
			c.stop(l)
			return
		}
		c.forget(l)
		if time.Since(l.started) >= logRestartReset {
			pause = logRestartMin
		}
		c.log.WithField("exit", exit.String()).WithField("delay", pause.String()).Warn("log_command exited: restarting it")
		if l = c.respawn(&pause); l == nil {
			return
		}
	}
}

// respawn waits for pause, doubling it, and starts a new logger; nil means Close.
func (c *LogCommand) respawn(pause *time.Duration) *logger {
	for {
		t := time.NewTimer(*pause)
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
			return nil
		}
		*pause = min(2**pause, logRestartMax)
		l, err := c.spawn()
		if err == nil {
			return l
		}
		c.log.WithError(err).WithField("delay", pause.String()).Error("cannot start log_command")
	}
}

// feed writes queued lines to l until l exits (the exit is returned) or Close
// is called and the queue is empty or the flush deadline has passed (nil). The
// line that could not be written is returned, for the next logger.
func (c *LogCommand) feed(l *logger, pending []byte) ([]byte, *signals.Exit) {
	for {
		if pending == nil {
			select {
			case pending = <-c.queue:
			case x := <-l.exited:
				return nil, &x
			case <-c.closing:
				select {
				case pending = <-c.queue:
				default:
					return nil, nil
				}
			}
		}
		if _, err := l.stdin.Write(pending); err != nil {
			// EPIPE: the logger is going, its exit is on its way. A deadline
			// error: Close gave up on a logger that does not read.
			select {
			case x := <-l.exited:
				return pending, &x
			case <-c.closing:
				return pending, nil
			}
		}
		pending = nil
	}
}

// forget closes what is left of a logger that has exited.
func (c *LogCommand) forget(l *logger) {
	c.mu.Lock()
	c.stdin = nil
	c.mu.Unlock()
	l.stdin.Close()
}

// Close hands the queued lines to the logger (for up to a second), closes its
// stdin and stops it: a logger that does not exit on EOF gets SIGTERM, then
// SIGKILL, to its process group. Later lines are dropped. Safe to call twice.
func (c *LogCommand) Close() {
	c.once.Do(func() {
		c.closed.Store(true)
		c.mu.Lock()
		c.flushBy = time.Now().Add(logFlushWait)
		if c.stdin != nil {
			_ = c.stdin.SetWriteDeadline(c.flushBy) // a stuck logger must not hold Close
		}
		c.mu.Unlock()
		close(c.closing)
		<-c.done
		c.drops.Flush()
	})
}

// stop ends a logger at Close: EOF first, as a logger that exits by itself has
// written everything out.
func (c *LogCommand) stop(l *logger) {
	c.forget(l)
	for _, sig := range []unix.Signal{0, unix.SIGTERM, unix.SIGKILL} {
		if sig != 0 {
			// Not reaped yet (no exit received), so the group id is still its own.
			signals.SignalGroup(l.pid, sig)
		}
		select {
		case <-l.exited:
			return
		case <-time.After(logStopWait):
		}
	}
	c.log.WithField("pid", l.pid).Error("log_command did not exit after SIGKILL")
}
