// Package journal appends procmon's events to a locked JSON-lines file and, at
// the next start, stops the processes that a previous run left behind.
package journal

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/output"
	"github.com/procmon/procmon/tasks"
)

// DefaultMaxSize is the size past which the journal is rotated to PATH.1.
const DefaultMaxSize = 10 << 20

// typeRotated marks the first line of a journal that was rotated; readers that
// only know the event types of SPEC 3.8 skip it.
const typeRotated = "journal_rotated"

// journalTypes are the event types written (SPEC 3.8); the others are log-only.
var journalTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, typ := range config.EventTypes {
		m[typ] = true
	}
	return m
}()

// record is one journal line: the event, with what only the journal needs.
// The event's StartTime and the BootID let the next run tell a task process
// from an unrelated one that was given the same pid later.
type record struct {
	tasks.Event
	// Instance shadows the event's, so that procmon's own events, which belong
	// to no instance, have none.
	Instance *int   `json:"instance,omitempty"`
	BootID   string `json:"boot_id,omitempty"`
	File     string `json:"file,omitempty"`    // journal_rotated: where the older lines went
	Carried  bool   `json:"carried,omitempty"` // a task_started repeated by a rotation
}

// Option adjusts a Journal at Open.
type Option func(*Journal)

// MaxSize sets the size in bytes past which the journal rotates (DefaultMaxSize
// otherwise); 0 or less never rotates.
func MaxSize(n int64) Option { return func(j *Journal) { j.maxSize = n } }

// Journal is the open, locked journal file. Observe and Close may be called from
// different goroutines.
type Journal struct {
	path    string
	log     logrus.FieldLogger
	maxSize int64
	bootID  string

	mu   sync.Mutex
	f    *os.File // nil once closed
	size int64
	// torn says that f ends with part of a line that could not be cut off, so
	// the next line must start on a line of its own.
	torn bool
	// rotateAt is the size at which to rotate: maxSize, then further on after a
	// failed rotation (see rotateFailed).
	rotateAt int64
	// Writes and rotations fail apart (a full disk, a read-only directory), and
	// each run of failures is logged once: with one tracker, every event would
	// log a write that works again and a rotation that fails again.
	writes    output.Failures
	rotations output.Failures
	// running holds the task_started records without a task_exited yet: a
	// rotation writes them again, so that Cleanup finds a long-running process
	// however many rotations ago it started.
	running map[int]record
}

// Open opens (or creates) the journal at path for appending and takes its lock.
// A second procmon on the same journal gets an error that matches ErrLocked.
func Open(path string, log logrus.FieldLogger, opts ...Option) (*Journal, error) {
	f, err := openLocked(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	flog := log.WithField("journal", path)
	j := &Journal{path: path, log: log, maxSize: DefaultMaxSize, bootID: bootID(), f: f, size: fi.Size(), running: map[int]record{},
		writes: output.Failures{Log: flog}, rotations: output.Failures{Log: flog}}
	for _, o := range opts {
		o(j)
	}
	j.rotateAt = j.maxSize
	return j, nil
}

// Observe appends ev when its type is a journal type. It writes to a local file
// and never waits for anything else; a failing write is logged once and skipped.
func (j *Journal) Observe(ev tasks.Event) {
	if !journalTypes[ev.Type] {
		return
	}
	rec := j.record(ev)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return
	}
	j.track(rec)
	j.append(rec)
	if j.maxSize > 0 && j.size >= j.rotateAt {
		j.rotate()
	}
	if ev.Type == tasks.EvProcmonStopped {
		// The last event of a run: make it durable, the lock stays until Close.
		if err := j.f.Sync(); err != nil {
			j.writes.Failed("cannot sync journal", err)
		}
	}
}

func (j *Journal) record(ev tasks.Event) record {
	rec := record{Event: ev}
	if ev.Task != "" {
		instance := ev.Instance
		rec.Instance = &instance
	}
	if ev.StartTime != 0 {
		rec.BootID = j.bootID
	}
	return rec
}

// append writes one line; the caller holds mu.
func (j *Journal) append(rec record) {
	line, err := json.Marshal(rec)
	if err != nil {
		j.writes.Failed("cannot encode journal event", err)
		return
	}
	if err := j.write(append(line, '\n')); err != nil {
		j.writes.Failed("cannot write journal", err)
		return
	}
	j.writes.Succeeded("journal writable again")
}

// write appends line. A write cut short (a full disk) is cut off the file
// again: the next line appended to its part would make both unreadable, and
// Cleanup would miss a task_started. When even that fails (an append-only
// file), the part stays and the next line starts on a line of its own, so only
// the torn one is lost. The caller holds mu.
func (j *Journal) write(line []byte) error {
	if j.torn {
		line = append([]byte{'\n'}, line...)
	}
	n, err := j.f.Write(line)
	switch {
	case err == nil:
		j.size += int64(n)
		j.torn = false
	case n > 0 && j.f.Truncate(j.size) != nil:
		j.size += int64(n)
		j.torn = true
	}
	return err
}

// track keeps running up to date; the caller holds mu.
func (j *Journal) track(rec record) {
	switch {
	case rec.Type == tasks.EvTaskStarted && rec.Pid > 0:
		j.running[rec.Pid] = rec
	case rec.Type == tasks.EvTaskExited:
		delete(j.running, rec.Pid)
	}
}

// Close releases the lock and closes the file; later events are ignored. It is
// safe to call more than once.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
