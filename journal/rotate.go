package journal

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/procmon/procmon/tasks"
)

// rotate moves the full journal to PATH.1 (replacing an older one) and goes on in
// a new file at PATH, which starts with a journal_rotated line and the
// task_started lines of the processes still running, marked "carried". The new
// file is locked before it takes the name, and the old one keeps its lock until
// then, so at every moment the file named PATH is locked; and a second procmon
// that opened the old file just before can lock it only once it is PATH.1, which
// openLocked sees. A second procmon starting during a rotation is still refused.
// The caller holds mu.
func (j *Journal) rotate() {
	old := j.path + ".1"
	nf, err := j.lockedSuccessor()
	if err == nil {
		err = replace(j.path, old, nf.Name())
		if err != nil {
			nf.Close()
			os.Remove(nf.Name())
		}
	}
	if err != nil {
		j.rotateFailed(err)
		return
	}
	j.rotations.Succeeded("journal rotates again")
	j.f.Close()
	j.f, j.size, j.torn, j.rotateAt = nf, 0, false, j.maxSize
	j.log.WithField("journal", j.path).WithField("previous", old).Info("journal rotated")
	j.append(record{Event: tasks.Event{Time: time.Now(), Type: typeRotated}, File: old})
	pids := make([]int, 0, len(j.running))
	for pid := range j.running {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	for _, pid := range pids {
		rec := j.running[pid]
		rec.Carried = true
		j.append(rec)
	}
}

// rotateFailed puts the next attempt off until the journal has grown by another
// tenth of maxSize. What fails a rotation (a read-only or full directory) rarely
// mends by itself from one event to the next, and each attempt creates, locks and
// removes a file; growth, unlike a timer, keeps a busy journal from overshooting
// by more than a tenth per attempt and spares a quiet one from retries it has no
// need of yet. The caller holds mu.
func (j *Journal) rotateFailed(err error) {
	j.rotations.Failed("cannot rotate journal", err)
	j.rotateAt = j.size + max(j.maxSize/10, 1)
}

// lockedSuccessor creates and locks the file that will become the journal. A stale
// one from a crash during an earlier rotation is ours to remove: we hold the lock.
func (j *Journal) lockedSuccessor() (*os.File, error) {
	tmp := j.path + ".new"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return openLocked(tmp, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL)
}

// replace makes path's file the old one and next the new path. With a hard link,
// path never stops existing; without (some filesystems), it is missing for an
// instant between two renames.
func replace(path, old, next string) error {
	if err := os.Remove(old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Link(path, old); err != nil {
		if err := os.Rename(path, old); err != nil {
			return fmt.Errorf("journal %s: %w", path, err)
		}
	}
	return os.Rename(next, path)
}
