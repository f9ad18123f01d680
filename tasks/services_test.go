package tasks

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/services"
)

func writeScript(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), mode))
}

func TestServicesDirectory(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "alpha"), "exec sleep 1000", 0o755)
	writeScript(t, filepath.Join(dir, "notes.txt"), "not a service", 0o644)
	h := start(t, "[tasks.fromfile]\ncommand = [\"sleep\", \"1000\"]\n")
	log := logrus.New()
	log.SetOutput(h.log)
	w, err := services.Watch(dir, log, func(l []services.Service) { _ = h.sup.SetServices(l) })
	require.NoError(t, err)
	defer w.Close()

	alpha := h.pid("alpha", 0)
	fromFile := h.pid("fromfile", 0)
	assert.Contains(t, h.log.String(), "file=notes.txt")

	t.Run("a new file starts", func(t *testing.T) {
		writeScript(t, filepath.Join(dir, "beta"), "exec sleep 1000", 0o755)
		h.pid("beta", 0)
	})
	t.Run("a burst of writes restarts once", func(t *testing.T) {
		for n := 0; n < 5; n++ {
			writeScript(t, filepath.Join(dir, "alpha"), "exec sleep 100"+string(rune('0'+n)), 0o755)
		}
		h.rec.waitN(t, 2, 10*time.Second, is(EvTaskStarted, "alpha"))
		waitGone(t, alpha)
		assert.Contains(t, h.log.String(), `msg="services_dir applied" added="[]" changed="[alpha]" removed="[]"`)
		// A later change is reported after any the burst could still cause.
		writeScript(t, filepath.Join(dir, "gamma"), "exec sleep 1000", 0o755)
		h.pid("gamma", 0)
		assert.Equal(t, 2, h.rec.count(is(EvTaskStarted, "alpha")))
	})
	t.Run("a replacement by rename restarts", func(t *testing.T) {
		tmp := filepath.Join(dir, ".beta.tmp")
		writeScript(t, tmp, "exec sleep 1002", 0o755)
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, "beta")))
		h.rec.waitN(t, 2, 10*time.Second, is(EvTaskStarted, "beta"))
	})
	t.Run("a removed file stops", func(t *testing.T) {
		beta := h.pid("beta", 0)
		require.NoError(t, os.Remove(filepath.Join(dir, "beta")))
		waitGone(t, beta)
		require.Eventually(t, func() bool { return h.instance("beta", 0).Name == "" }, 10*time.Second, time.Millisecond)
	})
	assert.Equal(t, fromFile, h.pid("fromfile", 0), "the configuration's own tasks are not touched")
	assert.Equal(t, 0, h.rec.count(is(EvTaskStarted, "notes.txt")))
	assert.Zero(t, h.rec.count(is(EvReload, "")), "nobody reloaded the configuration")
	assert.Contains(t, h.log.String(), "services_dir applied")
	assert.NotContains(t, h.log.String(), "reload applied")
}

// A file named like an instance label of another task is left out; a dotted
// name that reads as no label is a task like any other.
func TestServiceNamedLikeAnInstanceLabelIsLeftOut(t *testing.T) {
	dir := t.TempDir()
	var list []services.Service
	for _, name := range []string{"web", "web.1", "php8.2"} {
		path := filepath.Join(dir, name)
		writeScript(t, path, "exec sleep 1000", 0o755)
		list = append(list, services.Service{Name: name, Path: path, Version: "1"})
	}
	h := start(t, "[tasks.db]\ncommand = [\"sleep\", \"1000\"]\n")
	require.NoError(t, h.sup.SetServices(list))
	h.pid("web", 0)
	h.pid("php8.2", 0)
	assert.Empty(t, h.instance("web.1", 0).Name)
	const why = `invalid task name \"web.1\": it reads as instance 1 of task \"web\"`
	assert.Contains(t, h.log.String(), why)
	require.NoError(t, h.sup.SetServices(list))
	require.NoError(t, h.sup.SetServices(list))
	assert.Equal(t, 1, strings.Count(h.log.String(), why), "said once while it stays so")
}

// The other way round: a file whose instances would be labelled like a task of
// the configuration is left out too.
func TestServiceWhoseLabelsAConfigurationTaskHasIsLeftOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web")
	writeScript(t, path, "exec sleep 1000", 0o755)
	h := start(t, "[tasks.\"web.1\"]\ncommand = [\"sleep\", \"1000\"]\n")
	require.NoError(t, h.sup.SetServices([]services.Service{{Name: "web", Path: path, Version: "1"}}))
	h.pid("web.1", 0)
	require.Eventually(t, func() bool {
		return strings.Contains(h.log.String(), `the configuration's task \"web.1\" reads as one of its instances`)
	}, 10*time.Second, time.Millisecond)
	assert.Empty(t, h.instance("web", 0).Name)
}

// A watched services_dir keeps procmon running once every task has ended, and
// its files never go fatal: a file fixed later must run again.
func TestServicesDirKeepsProcmonRunningAndNeverGivesUp(t *testing.T) {
	dir := t.TempDir()
	h := start(t, fmt.Sprintf("[procmon]\nservices_dir = %q\n[tasks.once]\ntype = \"oneshot\"\ncommand = [\"true\"]\n", dir))
	h.waitState("once", 0, Completed)
	failing := filepath.Join(dir, "failing")
	writeScript(t, failing, "exit 1", 0o755)
	require.NoError(t, h.sup.SetServices([]services.Service{{Name: "failing", Path: failing, Version: "1"}}),
		"procmon went on after its only task completed")
	h.rec.waitFor(t, is(EvTaskStarted, "failing"))
	var retries int
	require.True(t, h.sup.Do(func() { retries = h.sup.cfg.Tasks["failing"].StartRetries }))
	assert.Equal(t, -1, retries)
}
