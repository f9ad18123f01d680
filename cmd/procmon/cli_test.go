package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/api"
)

// A subcommand that takes no arguments refuses them before it does anything:
// `run --bogus` once ran the configuration, `version --json` printed text.
func TestRunAndVersionRefuseArguments(t *testing.T) {
	t.Parallel()
	cfg := writeConfig(t, "[procmon]\nsocket = \"\"\n\n[tasks.once]\ntype = \"oneshot\"\ncommand = \"true\"\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--bogus"}, "procmon run: unknown flag --bogus\nusage: procmon [-c FILE] [run]\n"},
		{[]string{"--bogus"}, "procmon run: unknown flag --bogus\n"},
		{[]string{"run", "stray"}, "procmon run: unexpected arguments [\"stray\"]\n"},
		{[]string{"version", "--json"}, "procmon version: unknown flag --json\nusage: procmon version\n"},
		{[]string{"version", "extra"}, "procmon version: unexpected arguments [\"extra\"]\n"},
	} {
		stdout, stderr, code := runCmd(t, procmon(append([]string{"-c", cfg}, c.args...)...))
		assert.Equal(t, 2, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, "%v", c.args)
		assert.Empty(t, stdout, "%v", c.args)
	}
	stdout, stderr, code := runCmd(t, procmon("-c", cfg, "version"))
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "procmon "+version+"\n", stdout)
}

// The usage text names every subcommand that main dispatches, and only those.
func TestUsageListsEverySubcommand(t *testing.T) {
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^  procmon (?:\[-c FILE\] )?\[?([a-z]+)`).FindAllStringSubmatch(usage, -1) {
		listed = append(listed, m[1])
	}
	dispatched := slices.Collect(maps.Keys(subcommands))
	for _, c := range commands {
		dispatched = append(dispatched, c.name)
	}
	assert.ElementsMatch(t, dispatched, listed)
}

func TestHelpAndABadCommandPrintTheUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"help"}, 0},
		{[]string{"-h"}, 0},
		{[]string{"run", "--help"}, 0},
		{[]string{"bogus"}, 2},
	} {
		stdout, stderr, code := runCmd(t, procmon(c.args...))
		assert.Equal(t, c.code, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stdout+stderr, "\n  procmon exec [FLAGS] -- CMD ARG...   single-command mode", "%v", c.args)
	}
}

// CMD -h prints CMD's own usage: a control command's line, exec's flags.
func TestHelpOfOneCommand(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runCmd(t, procmon("logs", "--help"))
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "usage: procmon logs [-f] [-n LINES] NAME\n  recent output of a task; -f follows it\n", stdout)
	stdout, stderr, code = runCmd(t, procmon("exec", "-h"))
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "usage: procmon exec [--once | --no-restart]")
	assert.Contains(t, stdout, "-restart-delay duration")
}

// A second procmon on the socket, journal or pidfile of a running one is a
// conflict at run time, not a usage error: it exits 1, names the file and
// leaves the first one's file alone.
func TestSecondProcmonOnTheSameFilesExitsOne(t *testing.T) {
	for _, c := range []struct {
		key, file string
		untouched func(t *testing.T, path string, first int)
	}{
		{"socket", "procmon.sock", func(t *testing.T, path string, _ int) {
			_, err := api.NewClient(path).Status(context.Background(), "")
			assert.NoError(t, err, "the first procmon still answers")
		}},
		{"journal", "journal", func(t *testing.T, path string, _ int) {
			journal, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Contains(t, string(journal), `"type":"task_started","task":"web"`)
			assert.NotContains(t, string(journal), "procmon_stopped", "the second procmon wrote nothing")
		}},
		{"pidfile", "procmon.pid", func(t *testing.T, path string, first int) {
			pid, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, strconv.Itoa(first)+"\n", string(pid))
		}},
	} {
		t.Run(c.key, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(shortTempDir(t), c.file)
			settings := fmt.Sprintf("%s = %q\n", c.key, path)
			if c.key != "socket" {
				settings += "socket = \"\"\n"
			}
			cfg := writeConfig(t, "[procmon]\n"+settings+`
[tasks.web]
command = ["sh", "-c", "echo up; exec sleep 1000"]
`)
			first := procmon("-c", cfg)
			log := startProcmon(t, first)
			require.Eventually(t, func() bool { return strings.Contains(log.String(), "web | up") }, 10*time.Second, time.Millisecond)

			stdout, stderr, code := runCmd(t, procmon("-c", cfg))
			assert.Equal(t, 1, code, stderr)
			assert.Contains(t, stderr, c.key+" "+path+": ")
			assert.NotContains(t, stdout, "web | up", "nothing started")
			c.untouched(t, path, first.Process.Pid)

			require.NoError(t, first.Process.Signal(syscall.SIGTERM))
			assert.Equal(t, 0, waitExit(t, first, log, 10*time.Second))
		})
	}
}
