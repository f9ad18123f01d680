// Package services watches services_dir and reports the executables in it, each
// of which procmon runs as a task (SPEC 3.9).
package services

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
)

// Service is one executable regular file of the directory.
type Service struct {
	Name    string // the file's name, which is the task's name
	Path    string
	Version string // changes whenever the file is written or replaced
}

// Settle is how long the directory must stay quiet before a change is reported:
// editors and deploy tools write a file in several steps, and each burst must
// cause one restart, not several.
const Settle = 200 * time.Millisecond

// Watcher reports the directory's services at start and after every settled change.
type Watcher struct {
	dir     string
	log     logrus.FieldLogger
	report  func([]Service)
	fsw     *fsnotify.Watcher
	mu      sync.Mutex
	timer   *time.Timer
	ignored map[string]bool // non-executable files already logged
	done    chan struct{}
}

// Watch starts watching dir; report is called from the watcher's goroutines, one
// call at a time, with the full list of services (sorted by name).
func Watch(dir string, log logrus.FieldLogger, report func([]Service)) (*Watcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := fsw.Add(dir); err != nil {
		fsw.Close()
		return nil, fmt.Errorf("services_dir %q: %w", dir, err)
	}
	w := &Watcher{dir: dir, log: log.WithField("services_dir", dir), report: report, fsw: fsw,
		ignored: map[string]bool{}, done: make(chan struct{})}
	w.scanAndReport()
	go w.loop()
	return w, nil
}

func (w *Watcher) loop() {
	defer close(w.done)
	for {
		select {
		case _, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			w.settle()
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.log.WithError(err).Warn("watching services_dir")
			w.settle() // events may have been lost: look again
		}
	}
}

// settle (re)starts the quiet period after which the directory is scanned.
func (w *Watcher) settle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.timer = time.AfterFunc(Settle, w.scanAndReport)
}

func (w *Watcher) scanAndReport() {
	w.mu.Lock()
	defer w.mu.Unlock() // one report at a time, in order
	list, err := w.scan()
	if err != nil {
		w.log.WithError(err).Error("cannot read services_dir")
		return
	}
	w.report(list)
}

func (w *Watcher) scan() ([]Service, error) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, err
	}
	var list []Service
	for _, e := range entries {
		if svc, ok := w.service(e.Name()); ok {
			list = append(list, svc)
		}
	}
	sort.Slice(list, func(a, b int) bool { return list[a].Name < list[b].Name })
	return list, nil
}

// service tells whether name is a task: an executable regular file with a name
// usable as a task name. Hidden files (editors' temporaries) are skipped quietly;
// others are logged once.
func (w *Watcher) service(name string) (Service, bool) {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return Service{}, false
	}
	path := filepath.Join(w.dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return Service{}, false // gone between listing and looking
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		w.ignore(name, nil)
		return Service{}, false
	}
	if err := config.CheckTaskName(name); err != nil {
		w.ignore(name, err)
		return Service{}, false
	}
	delete(w.ignored, name)
	return Service{Name: name, Path: path, Version: version(fi)}, true
}

// ignore logs, once per file, that a file is not a service. why is set when
// only the name stands in the way, which the log line alone would not tell.
func (w *Watcher) ignore(name string, why error) {
	if w.ignored[name] {
		return
	}
	w.ignored[name] = true
	log := w.log.WithField("file", name)
	if why != nil {
		log = log.WithError(why)
	}
	log.Info("not an executable regular file with a task name: ignored")
}

// version identifies one content of the file: a rewrite changes its size or
// mtime, a replacement by rename its inode.
func version(fi os.FileInfo) string {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprintf("%d-%d-%d", ino, fi.Size(), fi.ModTime().UnixNano())
}

// Close stops watching.
func (w *Watcher) Close() {
	w.fsw.Close()
	<-w.done
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
}
