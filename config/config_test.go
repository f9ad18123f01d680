package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := Parse("t.toml", []byte(src), testLookup)
	require.NoError(t, err)
	require.NotNil(t, cfg)
	return cfg
}

func TestLoadFull(t *testing.T) {
	t.Setenv("REDIS_PORT", "6380")
	t.Setenv("SMTP_PASSWORD", "hunter2")
	cfg, err := Load("testdata/full.toml")
	require.NoError(t, err)

	assert.Equal(t, "testdata/full.toml", cfg.File)
	assert.Equal(t, Global{
		LogLevel: logrus.DebugLevel, LogFormat: "json", LogFile: "/var/log/procmon.log",
		Socket: "/run/test.sock", HTTP: "127.0.0.1:8080", Pidfile: "/run/procmon.pid",
		Journal: "/var/lib/procmon/journal.jsonl", ServicesDir: "testdata/services",
		StopTimeout: 5 * time.Second, ShutdownTimeout: 25 * time.Second, Subreaper: false, LoadMetric: "cpu_pressure",
	}, cfg.Procmon)

	api := cfg.Tasks["api"]
	assert.Equal(t, 29, api.Line)
	assert.Equal(t, []string{"redis", "migrate"}, api.Parents)
	assert.Equal(t, map[string]string{"PORT": "8080", "GREETING": "costs $5"}, api.Env)
	assert.Equal(t, int64(10_000_000), api.LogMaxSize)
	assert.Equal(t, -1, api.StartRetries)
	assert.Equal(t, []string{"api-port-free"}, api.WaitFor)
	assert.Equal(t, []string{"api-live"}, api.Monitors)
	assert.Equal(t, 4.0, api.LoadLow)

	assert.Equal(t, []string{"/bin/sh", "-c", "redis-server --port 6380"}, cfg.Tasks["redis"].Command)
	assert.Equal(t, syscall.SIGINT, cfg.Tasks["redis"].StopSignal)
	assert.Equal(t, 0o027, cfg.Tasks["redis"].Umask)
	assert.Equal(t, syscall.SIGQUIT, cfg.Tasks["web"].StopSignal)
	assert.Equal(t, []int{0, 3}, cfg.Tasks["migrate"].ExitCodes)
	assert.Equal(t, RestartOnFailure, cfg.Tasks["migrate"].Restart)

	http := cfg.Monitors["api-http"]
	assert.Equal(t, []StatusRange{{200, 200}, {300, 399}}, http.ExpectStatus)
	assert.Equal(t, map[string]string{"Host": "api.local"}, http.Headers)
	assert.Equal(t, "HEAD", http.Method)
	assert.Equal(t, []string{"api-port", "api-script"}, cfg.Monitors["api-up"].Children)
	assert.Equal(t, 5, cfg.Monitors["redis-live"].Retries)

	require.NotNil(t, cfg.Maintenance)
	assert.Equal(t, "exit", cfg.Maintenance.OnFailure)
	assert.Equal(t, 30*time.Minute, cfg.Maintenance.Timeout)
	require.Len(t, cfg.Notify, 3)
	assert.Equal(t, "hunter2", cfg.Notify[0].Password)
	assert.Equal(t, []string{"ops@example.com"}, cfg.Notify[0].To)
	assert.Equal(t, []string{"procmon_stopped"}, cfg.Notify[2].Events)
	assert.Equal(t, Honeycomb{Dataset: "containers", APIHost: "https://api.honeycomb.io", SampleRate: 10}, cfg.Honeycomb)

	assert.Equal(t, []string{"migrate", "redis", "api", "web"}, cfg.Graph.Order())
}

func TestDefaults(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	cfg := mustParse(t, tomlLines(
		`[tasks.svc]`, `command = ["/bin/svc"]`,
		`[tasks.job]`, `command = ["/bin/job"]`, `type = "oneshot"`,
		`[monitors.h]`, `type = "http"`, `url = "http://localhost/"`,
		`[monitors.r]`, `type = "retry"`, `monitor = "h"`,
		`[maintenance]`, `command = "backup"`,
		`[[notify]]`, `type = "webhook"`, `url = "https://example.com/"`))

	assert.Equal(t, Global{
		LogLevel: logrus.InfoLevel, LogFormat: "text", Socket: DefaultSocket(),
		StopTimeout: 10 * time.Second, Subreaper: true, LoadMetric: "loadavg",
	}, cfg.Procmon)
	assert.Equal(t, &Task{
		Name: "svc", Line: 1, Command: []string{"/bin/svc"}, Type: Service,
		Autostart: true, Instances: 1, Restart: RestartAlways, ExitCodes: []int{0},
		StartTime: time.Second, StartRetries: 3, RestartDelay: time.Second,
		RestartDelayMax: time.Minute, StopSignal: syscall.SIGTERM, StopTimeout: 10 * time.Second,
		ReadyTimeout: time.Minute, Umask: -1, Stdout: "inherit", Stderr: "inherit", LogBackups: 3,
	}, cfg.Tasks["svc"])
	assert.Equal(t, RestartOnFailure, cfg.Tasks["job"].Restart)
	assert.Equal(t, &Monitor{
		Name: "h", Line: 6, Type: "http", Interval: 5 * time.Second, Timeout: 2 * time.Second,
		URL: "http://localhost/", Method: "GET", ExpectStatus: []StatusRange{{200, 299}},
	}, cfg.Monitors["h"])
	assert.Equal(t, &Monitor{Name: "r", Line: 9, Type: "retry", Monitor: "h", Retries: 3}, cfg.Monitors["r"])
	assert.Equal(t, &Maintenance{
		Command: []string{"/bin/sh", "-c", "backup"}, Stdout: "inherit", Stderr: "inherit",
		Timeout: time.Hour, OnFailure: "resume",
	}, cfg.Maintenance)
	assert.Equal(t, []string{"task_fatal", "monitor_failed", "maintenance_finished"}, cfg.Notify[0].Events)
	assert.Equal(t, Honeycomb{Dataset: "procmon", APIHost: "https://api.honeycomb.io", SampleRate: 1}, cfg.Honeycomb)
}

func TestStopTimeoutInheritsGlobal(t *testing.T) {
	cfg := mustParse(t, tomlLines(`[tasks.a]`, `command = "a"`, `[procmon]`, `stop_timeout = "3s"`))
	assert.Equal(t, 3*time.Second, cfg.Tasks["a"].StopTimeout)
}

func TestSocket(t *testing.T) {
	cfg := mustParse(t, tomlLines(`[procmon]`, `socket = ""`))
	assert.Equal(t, "", cfg.Procmon.Socket, "an explicit empty socket disables it")
	cfg = mustParse(t, tomlLines(`[procmon]`, `socket = "${HOME}/p.sock"`))
	assert.Equal(t, "/root/p.sock", cfg.Procmon.Socket)
}

func TestEmptyFile(t *testing.T) {
	cfg := mustParse(t, "")
	assert.Empty(t, cfg.Tasks)
	assert.Empty(t, cfg.Graph.Order())
	assert.Nil(t, cfg.Maintenance)
}

func TestEnvExpansionInConfig(t *testing.T) {
	cfg := mustParse(t, tomlLines(
		`[tasks.a]`,
		`command = ["echo", "${HOME}", "$${HOME}", "${UNSET:-fallback}", "${EMPTY:-used}", "cost $5", "$"]`,
		`dir = "${HOME}/app"`,
		`stop_signal = "${SIG:-KILL}"`,
		`start_time = "${PORT}ms"`,
		`env = { PATHS = "${HOME}:${UNSET:-}" }`))
	a := cfg.Tasks["a"]
	assert.Equal(t, []string{"echo", "/root", "${HOME}", "fallback", "used", "cost $5", "$"}, a.Command)
	assert.Equal(t, "/root/app", a.Dir)
	assert.Equal(t, syscall.SIGKILL, a.StopSignal)
	assert.Equal(t, 8080*time.Millisecond, a.StartTime)
	assert.Equal(t, map[string]string{"PATHS": "/root:"}, a.Env)
}

func TestExpand(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "plain",
		"${HOME}":           "/root",
		"a${HOME}b":         "a/rootb",
		"$$":                "$",
		"$$$$":              "$$",
		"$${HOME}":          "${HOME}",
		"$$$HOME":           "$$HOME",
		"${NOPE:-d}":        "d",
		"${NOPE:-}":         "",
		"${EMPTY:-e}":       "e",
		"${HOME:-x}":        "/root",
		"${NOPE:-a b:-c}":   "a b:-c",
		"$HOME":             "$HOME",
		"trailing $":        "trailing $",
		"${PORT}${PORT}":    "80808080",
		"${NOPE:-${HOME}}x": "/rootx",
		"${NOPE:-${NO:-z}}": "z",
		"${NOPE:-$${}}":     "${}",
		"${HOME:-${NOPE}}":  "/root",
	} {
		got, err := expand(in, testLookup)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"${NOPE}", "${", "${HOME", "${}", "${A-B}", "${:-x}", "${NOPE:-${NO}}", "${A:-${B}"} {
		_, err := expand(bad, testLookup)
		assert.Error(t, err, bad)
	}
}

func TestSingleStringForList(t *testing.T) {
	cfg := mustParse(t, tomlLines(
		`[tasks.a]`, `command = "a"`, `exit_codes = 2`,
		`[tasks.b]`, `command = "b"`, `parents = "a"`, `wait_for = "p"`, `ready = "n"`, `monitors = "all"`,
		`[monitors.p]`, `type = "port_available"`, `address = "127.0.0.1:80"`,
		`[monitors.n]`, `type = "notify"`,
		`[monitors.all]`, `type = "all"`, `monitors = "p"`,
		`[monitors.h]`, `type = "http"`, `url = "http://x/"`, `expect_status = "200-204"`,
		`[[notify]]`, `type = "email"`, `smtp = "h:25"`, `from = "a@b"`, `to = "c@d"`, `events = "reload"`))
	assert.Equal(t, []int{2}, cfg.Tasks["a"].ExitCodes)
	b := cfg.Tasks["b"]
	assert.Equal(t, []string{"a"}, b.Parents)
	assert.Equal(t, []string{"p"}, b.WaitFor)
	assert.Equal(t, []string{"n"}, b.Ready)
	assert.Equal(t, []string{"all"}, b.Monitors)
	assert.Equal(t, []string{"127.0.0.1:80"}, cfg.Monitors["p"].Address)
	assert.Equal(t, []string{"p"}, cfg.Monitors["all"].Children)
	assert.Equal(t, []StatusRange{{200, 204}}, cfg.Monitors["h"].ExpectStatus)
	assert.Equal(t, []string{"c@d"}, cfg.Notify[0].To)
	assert.Equal(t, []string{"reload"}, cfg.Notify[0].Events)
}

func TestCommandForms(t *testing.T) {
	cfg := mustParse(t, tomlLines(
		`[tasks.argv]`, `command = ["/bin/echo", "a b", "$$x"]`,
		`[tasks.shell]`, `command = "echo 'a b' | tr a c"`,
		`[tasks.logged]`, `command = "x"`, `log_command = "logger -t x"`))
	assert.Equal(t, []string{"/bin/echo", "a b", "$x"}, cfg.Tasks["argv"].Command)
	assert.Equal(t, []string{"/bin/sh", "-c", "echo 'a b' | tr a c"}, cfg.Tasks["shell"].Command)
	assert.Equal(t, []string{"/bin/sh", "-c", "logger -t x"}, cfg.Tasks["logged"].LogCommand)
}

func TestValueForms(t *testing.T) {
	cfg := mustParse(t, tomlLines(
		`[tasks.a]`, `command = "a"`, `stop_signal = "hup"`, `umask = "022"`, `log_max_size = 2048`,
		`[tasks.b]`, `command = "b"`, `stop_signal = "10"`, `umask = "0"`, `log_max_size = "1 MiB"`,
		`[tasks.c]`, `command = "c"`, `stop_signal = "SIGUSR2"`, `log_max_size = "3kb"`, `instances = 0`,
		`stderr = "stdout"`,
		`[tasks.d]`, `command = "d"`, `instances = 1024`))
	assert.Equal(t, syscall.SIGHUP, cfg.Tasks["a"].StopSignal)
	assert.Equal(t, 0o022, cfg.Tasks["a"].Umask)
	assert.Equal(t, int64(2048), cfg.Tasks["a"].LogMaxSize)
	assert.Equal(t, syscall.Signal(10), cfg.Tasks["b"].StopSignal)
	assert.Equal(t, 0, cfg.Tasks["b"].Umask)
	assert.Equal(t, int64(1<<20), cfg.Tasks["b"].LogMaxSize)
	assert.Equal(t, syscall.SIGUSR2, cfg.Tasks["c"].StopSignal)
	assert.Equal(t, int64(3000), cfg.Tasks["c"].LogMaxSize)
	assert.Equal(t, 0, cfg.Tasks["c"].Instances, "scaled to zero is allowed")
	assert.Equal(t, MaxInstances, cfg.Tasks["d"].Instances, "the bound itself is allowed")
	assert.Equal(t, "stdout", cfg.Tasks["c"].Stderr)
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"100": 100, "100B": 100, "512KB": 512e3, "10MB": 10e6, "1GB": 1e9,
		"1KiB": 1024, "2MiB": 2 << 20, "1GiB": 1 << 30, "0": 0,
	} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "MB", "-1", "1.5MB", "10XB", "99999999999999999999"} {
		_, err := parseSize(bad)
		assert.Error(t, err, bad)
	}
}

func TestLoopbackHTTP(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:8080", "localhost:80", "127.1.2.3:1"} {
		mustParse(t, tomlLines(`[procmon]`, `http = "`+addr+`"`))
	}
	cfg := mustParse(t, tomlLines(`[procmon]`, `http = "0.0.0.0:8080"`, `http_token = "s3cret"`))
	assert.Equal(t, "s3cret", cfg.Procmon.HTTPToken)
}

func TestMonitorUseAllowed(t *testing.T) {
	// notify inside all/any is fine in ready; fail inside any is fine in monitors.
	mustParse(t, tomlLines(
		`[monitors.n]`, `type = "notify"`,
		`[monitors.p]`, `type = "port_in_use"`, `address = "127.0.0.1:1"`,
		`[monitors.both]`, `type = "all"`, `monitors = ["n", "p"]`,
		`[monitors.f]`, `type = "fail"`, `monitor = "p"`,
		`[monitors.live]`, `type = "any"`, `monitors = ["f", "p"]`,
		`[tasks.a]`, `command = "a"`, `ready = ["both"]`, `monitors = ["live", "f"]`))
}

func TestOneNotifyPerTaskAllowed(t *testing.T) {
	// Each task's ready list builds its own instance: one notify monitor may serve
	// many tasks, and a task may have other readiness checks beside it.
	mustParse(t, tomlLines(
		`[monitors.n]`, `type = "notify"`,
		`[monitors.p]`, `type = "port_in_use"`, `address = "127.0.0.1:1"`,
		`[monitors.r]`, `type = "retry"`, `monitor = "n"`,
		`[monitors.either]`, `type = "any"`, `monitors = ["r", "p"]`,
		`[tasks.a]`, `command = "a"`, `ready = ["n", "p"]`,
		`[tasks.b]`, `command = "b"`, `ready = ["either", "p"]`))
}

func TestAllErrorsReported(t *testing.T) {
	_, err := Parse("t.toml", []byte(tomlLines(
		`[tasks.web]`,
		`parent = "redsi"`,
		`stop_signal = "NOPE"`,
		`[tasks.redis]`,
		`command = "r"`,
		`start_time = "soon"`)), testLookup)
	require.Error(t, err)
	assert.Equal(t, `t.toml:1: tasks.web: missing command
t.toml:2: tasks.web.parent: unknown parent "redsi" (did you mean "redis"?)
t.toml:3: tasks.web.stop_signal: unknown signal "NOPE"
t.toml:6: tasks.redis.start_time: invalid duration "soon" (use a Go duration such as "10s", "1m30s")`, err.Error())
	var errs Errors
	require.ErrorAs(t, err, &errs)
	assert.Len(t, errs.Unwrap(), 4)
}

func TestThreeProblemsThreeLines(t *testing.T) {
	_, err := Parse("t.toml", []byte(tomlLines(
		`[procmon]`, `log_level = "loud"`,
		`[tasks.a]`, `command = "a"`, `type = "forever"`, `start_retries = -5`)), testLookup)
	require.Error(t, err)
	var errs Errors
	require.ErrorAs(t, err, &errs)
	require.Len(t, errs, 3, err.Error())
	assert.Equal(t, []int{2, 5, 6}, []int{errs[0].Line, errs[1].Line, errs[2].Line})
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	_, err := Load(path)
	require.Error(t, err)
	assert.True(t, errors.Is(err, fs.ErrNotExist))
	var errs Errors
	require.ErrorAs(t, err, &errs)
	assert.Equal(t, path, errs[0].File)
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("PROCMON_CONFIG", "/x/y.toml")
	assert.Equal(t, "/x/y.toml", DefaultPath())
	t.Setenv("PROCMON_CONFIG", "")
	t.Chdir(t.TempDir())
	assert.Equal(t, "/etc/procmon/procmon.toml", DefaultPath())
	require.NoError(t, writeFile("procmon.toml", ""))
	assert.Equal(t, "procmon.toml", DefaultPath())
}

func TestDefaultSocket(t *testing.T) {
	if syscall.Geteuid() == 0 {
		assert.Equal(t, "/run/procmon.sock", DefaultSocket())
		return
	}
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/7")
	assert.Equal(t, "/run/user/7/procmon.sock", DefaultSocket())
	t.Setenv("XDG_RUNTIME_DIR", "")
	assert.Regexp(t, `^/tmp/procmon-\d+\.sock$`, DefaultSocket())
}

func TestTaskEqual(t *testing.T) {
	a := mustParse(t, tomlLines(`[tasks.a]`, `command = "a"`, `env = { X = "1" }`)).Tasks["a"]
	moved := mustParse(t, tomlLines(`# moved down`, ``, `[tasks.a]`, `env = { X = "1" }`, `command = "a"`)).Tasks["a"]
	changed := mustParse(t, tomlLines(`[tasks.a]`, `command = "a"`, `env = { X = "2" }`)).Tasks["a"]
	require.NotEqual(t, a.Line, moved.Line)
	assert.True(t, a.Equal(moved))
	assert.False(t, a.Equal(changed))
	assert.False(t, a.Equal(nil))
	assert.True(t, (*Task)(nil).Equal(nil))
	defaults := mustParse(t, tomlLines(`[tasks.a]`, `command = "a"`, `env = { X = "1" }`, `exit_codes = [0]`, `env.Y = "${UNSET:-}"`))
	assert.False(t, a.Equal(defaults.Tasks["a"]), "env gained Y")
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"TERM": syscall.SIGTERM, "SIGTERM": syscall.SIGTERM, "sigterm": syscall.SIGTERM,
		"Hup": syscall.SIGHUP, "9": syscall.SIGKILL, " INT ": syscall.SIGINT, "64": 64,
	} {
		got, err := ParseSignal(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "SIG", "FOO", "0", "65", "-1"} {
		_, err := ParseSignal(bad)
		assert.Error(t, err, bad)
	}
}

func TestDidYouMean(t *testing.T) {
	known := []string{"redis", "web", "api"}
	assert.Equal(t, ` (did you mean "redis"?)`, didYouMean("redsi", known))
	assert.Equal(t, ` (did you mean "redis"?)`, didYouMean("Redis", known))
	assert.Equal(t, ` (did you mean "web"?)`, didYouMean("wbe", known))
	assert.Equal(t, "", didYouMean("postgres", known))
	assert.Equal(t, "", didYouMean("x", known))
}

func TestDotsInTaskNamesThatAreNoLabels(t *testing.T) {
	cfg := mustParse(t, tomlLines(`[tasks."api.v2"]`, `command = "a"`, `[tasks."web.1a"]`, `command = "w"`,
		`[tasks."php8.2"]`, `command = "p"`))
	assert.Len(t, cfg.Tasks, 3, "php8.2 reads as no label while there is no task php8")
}

func TestSocketOfAFileWithErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PM_RUN", dir)
	path := filepath.Join(dir, "procmon.toml")
	for _, c := range []struct {
		name, src, want string
	}{
		{"valid", tomlLines(`[procmon]`, `socket = "${PM_RUN}/a.sock"`), dir + "/a.sock"},
		{"errors in other tables", tomlLines(
			`[procmon]`, `socket = "${PM_RUN}/b.sock"`, `log_level = "loud"`, `bogus = 1`,
			`[tasks.web]`, `parent = "nope"`, `restart = "alwyas"`, `tasks = 5`), dir + "/b.sock"},
		{"no socket key", tomlLines(`[tasks.web]`, `command = 5`), DefaultSocket()},
		{"socket disabled", tomlLines(`[procmon]`, `socket = ""`, `[tasks.web]`), ""},
	} {
		require.NoError(t, writeFile(path, c.src))
		socket, err := Socket(path)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, socket, c.name)
	}

	for _, c := range []struct {
		name, src, want string
	}{
		{"syntax error", tomlLines(`[procmon]`, `socket = "/x.sock"`, `[tasks.web]`, `command = "w`),
			path + ":4: strings cannot contain newlines"},
		{"socket not a string", tomlLines(`[procmon]`, `socket = 5`),
			path + ":2: procmon.socket: must be a string, not an integer"},
		{"unset variable", tomlLines(`[procmon]`, `socket = "${PM_NOPE}/s"`),
			path + ":2: procmon.socket: environment variable PM_NOPE is not set"},
		{"procmon not a table", tomlLines(`procmon = 1`),
			path + ":1: procmon: must be a table ([procmon]), not an integer"},
	} {
		require.NoError(t, writeFile(path, c.src))
		_, err := Socket(path)
		var errs Errors
		require.ErrorAs(t, err, &errs, c.name)
		assert.True(t, strings.HasPrefix(err.Error(), c.want), "%s: %q", c.name, err)
	}

	_, err := Socket(filepath.Join(dir, "missing.toml"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// Parents shared by many paths are looked at once: a ladder of 40 rungs, each
// task under both of the rung above, has 2^40 paths to its top.
func TestWhatIfOnALadderOfSharedParents(t *testing.T) {
	lines := []string{`[tasks.l0a]`, `command = "x"`, `[tasks.l0b]`, `command = "x"`}
	for n := 1; n <= 40; n++ {
		for _, side := range []string{"a", "b"} {
			lines = append(lines, fmt.Sprintf("[tasks.l%d%s]", n, side), `command = "x"`,
				fmt.Sprintf(`parents = ["l%da", "l%db"]`, n-1, n-1))
		}
	}
	cfg := mustParse(t, tomlLines(lines...))
	done := make(chan []string)
	go func() {
		stop, _ := cfg.WhatIf("l40a")
		done <- stop
	}()
	select {
	case stop := <-done:
		assert.Equal(t, []string{"l40a"}, stop)
	case <-time.After(10 * time.Second):
		t.Fatal("what-if walks every path of the ladder")
	}
}

func TestWhatIfLeavesOutWhatDoesNotRun(t *testing.T) {
	cfg := mustParse(t, tomlLines(
		`[tasks.db]`, `command = "d"`,
		`[tasks.api]`, `command = "a"`, `parent = "db"`,
		`[tasks.admin]`, `command = "m"`, `parent = "db"`, `autostart = false`,
		`[tasks.report]`, `command = "r"`, `parent = "admin"`,
		`[tasks.gate]`, `command = "g"`, `autostart = false`,
		`[tasks.web]`, `command = "w"`, `parents = ["api", "gate"]`,
		`[tasks.spare]`, `command = "s"`, `parent = "db"`, `instances = 0`,
		`[tasks.extra]`, `command = "x"`, `parent = "spare"`))
	stop, start := cfg.WhatIf("db")
	assert.Equal(t, []string{"api", "db"}, stop)
	assert.Equal(t, []string{"db", "api"}, start)

	stop, start = cfg.WhatIf("admin")
	assert.Equal(t, []string{"report", "admin"}, stop, "a task that died ran, so what it starts ran too")
	assert.Equal(t, []string{"admin", "report"}, start)

	stop, start = cfg.WhatIf("report")
	assert.Equal(t, []string{"report"}, stop, "so did what is above it")
	assert.Equal(t, []string{"report"}, start)
}
