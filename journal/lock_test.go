package journal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A second procmon opens the journal just before the first rotates it: the file
// it opened is PATH.1 by the time it locks it, and the first one no longer
// holds that lock. It must still be refused, or its Cleanup would stop the
// first one's tasks.
func TestOpenRefusesASecondProcmonWhoseFileWasRotatedAwayBeforeItsLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	log, _ := quietLog()
	j, err := Open(path, log)
	require.NoError(t, err)
	defer j.Close()
	j.Observe(startedEvent(t, "web", os.Getpid()))

	opens := 0
	_, err = lockCurrent(path, func() (*os.File, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if opens++; opens == 1 {
			j.mu.Lock()
			j.rotate() // between this open and the flock
			j.mu.Unlock()
			_, serr := os.Stat(path + ".1")
			require.NoError(t, serr, "the journal rotated")
		}
		return f, err
	})
	require.ErrorIs(t, err, ErrLocked)
	assert.Equal(t, 2, opens, "the file rotated away is dropped and the journal opened again")
}

func TestOpenGivesUpOnAJournalThatKeepsLosingItsName(t *testing.T) {
	dir := t.TempDir()
	path, elsewhere := filepath.Join(dir, "journal"), filepath.Join(dir, "other")
	opens := 0
	_, err := lockCurrent(path, func() (*os.File, error) {
		opens++
		return os.OpenFile(elsewhere, os.O_WRONLY|os.O_CREATE, 0o644)
	})
	require.ErrorIs(t, err, errReplaced)
	assert.Contains(t, err.Error(), path)
	assert.Equal(t, lockTries, opens)
}
