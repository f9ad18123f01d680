package output

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/sirupsen/logrus"
)

// File is a task output file: a Sink that appends the output as the task wrote
// it, rotates the file by size and reopens it on request (SIGUSR2, after
// logrotate moved it away). Writes come from the hub's goroutine and Reopen from
// another; one mutex orders them, so every write (a line, or a maxLine piece of a
// longer one) lands whole in either the old file or the new one. Rotation waits
// for the end of a line, so that a log shipper never sees one cut in two.
type File struct {
	path    string
	maxSize int64 // 0 = never rotate
	backups int

	mu       sync.Mutex
	f        *os.File // nil once closed
	size     int64
	midLine  bool  // the last write ended inside a line
	lineSize int64 // bytes written so far of that unfinished line
	buf      []byte
	failures Failures // of writes and rotations, logged once a run
}

// SetRotation changes when the file rotates and how many old files it keeps:
// the latest definition of a task writing to it wins.
func (w *File) SetRotation(maxSize int64, backups int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.maxSize, w.backups = maxSize, max(backups, 0)
}

// OpenFile opens path for appending. With maxSize > 0, a write that would take
// the file past maxSize bytes first moves it to PATH.1 (PATH.1 to PATH.2 and so
// on), keeping backups old files; with backups 0 the old content is dropped. A
// line longer than maxLine comes in several writes, so it may straddle two files.
// Failing writes and rotations are logged to log.
func OpenFile(path string, maxSize int64, backups int, log logrus.FieldLogger) (*File, error) {
	f, size, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &File{path: path, maxSize: maxSize, backups: max(backups, 0), f: f, size: size,
		failures: Failures{Log: log.WithField("file", path)}}, nil
}

func openAppend(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// WriteLine appends text, and its newline if it had one, in one write: the file
// gets the task's bytes unchanged. A full disk or a failed rotation must not stop
// the task: the first error of a run of them is logged, and the text is written
// to the current file if there still is one.
func (w *File) WriteLine(text []byte, complete bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return
	}
	w.buf = append(w.buf[:0], text...)
	if complete {
		w.buf = append(w.buf, '\n')
	}
	var rotateErr error
	if w.shouldRotate(int64(len(w.buf))) {
		rotateErr = w.rotate() // tried again at the next write
	}
	written, err := w.f.Write(w.buf)
	w.size += int64(written)
	w.trackLine(int64(written), complete)
	if err := errors.Join(rotateErr, err); err != nil {
		w.failures.Failed("cannot write task output", err)
	} else {
		w.failures.Succeeded("task output file writable again")
	}
	if cap(w.buf) > maxLine+256 {
		w.buf = nil
	}
}

// shouldRotate tells whether n more bytes would take the file past maxSize at a
// point where it may be cut: between lines, or inside a line that cannot fit in
// one file anyway.
func (w *File) shouldRotate(n int64) bool {
	if w.maxSize <= 0 || w.size == 0 || w.size+n <= w.maxSize {
		return false
	}
	return !w.midLine || w.lineSize+n > w.maxSize
}

func (w *File) trackLine(written int64, complete bool) {
	if w.midLine {
		w.lineSize += written
	} else {
		w.lineSize = written
	}
	w.midLine = !complete
}

// rotate shifts PATH.i to PATH.i+1, dropping the oldest, and starts a new PATH.
// The caller holds mu.
func (w *File) rotate() error {
	for i := w.backups - 1; i >= 1; i-- {
		if err := renameIfExists(w.backupName(i), w.backupName(i+1)); err != nil {
			return err
		}
	}
	var err error
	if w.backups > 0 {
		err = os.Rename(w.path, w.backupName(1))
	} else {
		err = os.Remove(w.path)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate %s: %w", w.path, err)
	}
	return w.reopen()
}

func (w *File) backupName(i int) string { return w.path + "." + strconv.Itoa(i) }

func renameIfExists(from, to string) error {
	err := os.Rename(from, to)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate: %w", err)
	}
	return nil
}

// reopen swaps in a file opened at path; on failure the old one stays, so lines
// keep going somewhere. The caller holds mu.
func (w *File) reopen() error {
	f, size, err := openAppend(w.path)
	if err != nil {
		return err
	}
	w.f.Close()
	w.f, w.size, w.lineSize = f, size, 0
	return nil
}

// Reopen makes later lines go to a file at path, created anew if logrotate moved
// the old one away. Every line before it went to the old file, none is lost.
func (w *File) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	return w.reopen()
}

// Close closes the file; later lines are dropped. It is safe to call twice.
func (w *File) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
