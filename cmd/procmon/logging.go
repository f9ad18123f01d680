package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
	procoutput "github.com/procmon/procmon/output"
)

// logTime has milliseconds: lifecycle events come in bursts, and lines of one
// second must still be told apart and ordered.
const logTime = "2006-01-02T15:04:05.000Z07:00"

// newLogger builds procmon's own logger from [procmon]. It logs to log_file
// (file, which SIGUSR2 reopens), or else to stderr through a queue: a stderr
// that is not read must not stall supervision. closeLog writes out what is
// still queued, giving a stalled stderr a second at most.
func newLogger(g config.Global) (log *logrus.Logger, file *logFile, closeLog func(), err error) {
	log = logrus.New()
	log.SetLevel(g.LogLevel)
	if g.LogFormat == "json" {
		log.SetFormatter(&logrus.JSONFormatter{TimestampFormat: logTime})
	} else {
		// Behind the queue logrus cannot see a terminal: it is told, for its colours.
		toTerminal := g.LogFile == "" && isTerminal(os.Stderr)
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: logTime, ForceColors: toTerminal})
	}
	if g.LogFile == "" {
		w := procoutput.NewWriter(os.Stderr, droppedLogLines(log))
		log.SetOutput(w)
		return log, nil, func() { w.Close(time.Second) }, nil
	}
	f, err := openLogFile(g.LogFile)
	if err != nil {
		return nil, nil, nil, err
	}
	log.SetOutput(f)
	return log, f, func() { f.Close() }, nil
}

// droppedLogLines renders, in the log's own format, the line that says how
// many lines a stalled stderr cost.
func droppedLogLines(log *logrus.Logger) func(int64) []byte {
	return func(n int64) []byte {
		e := logrus.NewEntry(log).WithField("dropped", n)
		e.Time, e.Level, e.Message = time.Now(), logrus.WarnLevel, "log lines dropped: stderr was not read fast enough"
		line, err := log.Formatter.Format(e)
		if err != nil {
			return fmt.Appendf(nil, "procmon: %d log lines dropped\n", n)
		}
		return line
	}
}

// logFile is procmon's log_file, which SIGUSR2 points at a new file after
// logrotate moved the old one away.
type logFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func openLogFile(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log_file: %w", err)
	}
	return &logFile{path: path, f: f}, nil
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// Reopen switches to a new file at the same path; a line is written whole to the
// old file or to the new one.
func (l *logFile) Reopen() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
