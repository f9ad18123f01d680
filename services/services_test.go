package services

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type reports struct {
	mu   sync.Mutex
	last []Service
	n    int
}

func (r *reports) report(list []Service) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.n = list, r.n+1
}

func (r *reports) get() ([]Service, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.n
}

func names(list []Service) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

func TestOnlyExecutableRegularFilesAreServices(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{
		"web": 0o755, "notes.txt": 0o644, ".hidden": 0o755, "web~": 0o755, "with space": 0o755,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "subdir"), 0o755))
	log, hook := logtest.NewNullLogger()
	r := &reports{}
	w, err := Watch(dir, log, r.report)
	require.NoError(t, err)
	defer w.Close()

	list, n := r.get()
	assert.Equal(t, 1, n, "the first report comes at once")
	assert.Equal(t, []string{"web"}, names(list))
	var ignored []string
	for _, e := range hook.AllEntries() {
		ignored = append(ignored, e.Data["file"].(string))
	}
	assert.ElementsMatch(t, []string{"notes.txt", "with space", "subdir"}, ignored, "hidden and backup files are skipped quietly")
}

func TestMissingDirectoryIsNamedInTheError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not-yet")
	_, err := Watch(dir, logrus.New(), (&reports{}).report)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `services_dir "`+dir+`": `)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestBurstsAreReportedOnceAndVersionsChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "job")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755))
	r := &reports{}
	w, err := Watch(dir, logrus.New(), r.report)
	require.NoError(t, err)
	defer w.Close()
	first, _ := r.get()

	for n := 0; n < 10; n++ {
		require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\necho "+string(rune('a'+n))+"\n"), 0o755))
	}
	require.Eventually(t, func() bool { _, n := r.get(); return n == 2 }, 10*time.Second, time.Millisecond)
	list, _ := r.get()
	require.Len(t, list, 1)
	assert.NotEqual(t, first[0].Version, list[0].Version)

	require.NoError(t, os.Chmod(path, 0o644))
	require.Eventually(t, func() bool { l, _ := r.get(); return len(l) == 0 }, 10*time.Second, time.Millisecond,
		"a file that loses its x bit stops being a service")
	_, n := r.get()
	assert.Equal(t, 3, n, "ten writes made one report, the chmod another")
}
