package main

import (
	"fmt"
	"os"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
)

// newLogger builds procmon's own logger from [procmon]; logFile is nil when it
// logs to stderr.
// logTime has milliseconds: lifecycle events come in bursts, and lines of one
// second must still be told apart and ordered.
const logTime = "2006-01-02T15:04:05.000Z07:00"

func newLogger(g config.Global) (*logrus.Logger, *logFile, error) {
	log := logrus.New()
	log.SetLevel(g.LogLevel)
	if g.LogFormat == "json" {
		log.SetFormatter(&logrus.JSONFormatter{TimestampFormat: logTime})
	} else {
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: logTime})
	}
	if g.LogFile == "" {
		return log, nil, nil
	}
	f, err := openLogFile(g.LogFile)
	if err != nil {
		return nil, nil, err
	}
	log.SetOutput(f)
	return log, f, nil
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
