package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// toml joins lines with newlines, so that element i of a case is line i+1.
func tomlLines(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func testLookup(name string) (string, bool) {
	v, ok := map[string]string{"HOME": "/root", "EMPTY": "", "PORT": "8080"}[name]
	return v, ok
}

// invalidCases each hold one mistake and the one error it must produce. The fuzz
// corpus is seeded from them too.
var invalidCases = []struct {
	name string
	src  string
	want string
}{
	{"unknown parent", tomlLines(
		`[tasks.redis]`, `command = "r"`, `[tasks.web]`, `command = "w"`, `parent = "redsi"`),
		`t.toml:5: tasks.web.parent: unknown parent "redsi" (did you mean "redis"?)`},
	{"unknown parent in list", tomlLines(
		`[tasks.web]`, `command = "w"`, `parents = ["nope"]`),
		`t.toml:3: tasks.web.parents: unknown parent "nope"`},
	{"own parent", tomlLines(`[tasks.web]`, `command = "w"`, `parent = "web"`),
		`t.toml:3: tasks.web.parent: task "web" cannot be its own parent`},
	{"parent twice", tomlLines(`[tasks.a]`, `command = "a"`, `[tasks.b]`, `command = "b"`, `parents = ["a", "a"]`),
		`t.toml:5: tasks.b.parents: "a" is listed twice`},
	{"parent and parents", tomlLines(`[tasks.a]`, `command = "a"`, `[tasks.b]`, `command = "b"`, `parent = "a"`, `parents = ["a"]`),
		`t.toml:6: tasks.b.parents: both parent and parents are set; use one of them`},
	{"cycle", tomlLines(
		`[tasks.web]`, `command = "w"`, `parent = "api"`,
		`[tasks.api]`, `command = "a"`, `parents = ["web"]`),
		`t.toml:6: tasks.api.parents: cycle among parents: api -> web -> api`},
	{"long cycle starts at smallest", tomlLines(
		`[tasks.c]`, `command = "c"`, `parent = "b"`,
		`[tasks.b]`, `command = "b"`, `parent = "a"`,
		`[tasks.a]`, `command = "a"`, `parent = "c"`,
		`[tasks.d]`, `command = "d"`, `parent = "a"`),
		`t.toml:9: tasks.a.parent: cycle among parents: a -> c -> b -> a`},
	{"duplicate table", tomlLines(`[tasks.web]`, `command = "w"`, `[tasks.web]`, `command = "x"`),
		`t.toml:3: tasks.web: already defined at line 1`},
	{"duplicate key", tomlLines(`[tasks.web]`, `command = "w"`, `command = "x"`),
		`t.toml:3: tasks.web.command: already defined at line 2`},
	{"syntax error", tomlLines(`[tasks.web]`, `command = "w`),
		`t.toml:2: strings cannot contain newlines`},
	{"missing command", tomlLines(`[procmon]`, `[tasks.web]`, `type = "service"`),
		`t.toml:2: tasks.web: missing command`},
	{"empty command string", tomlLines(`[tasks.web]`, `command = ""`),
		`t.toml:2: tasks.web.command: missing command`},
	{"empty command list", tomlLines(`[tasks.web]`, `command = []`),
		`t.toml:2: tasks.web.command: missing command`},
	{"command not a string", tomlLines(`[tasks.web]`, `command = 5`),
		`t.toml:2: tasks.web.command: must be a string, not an integer`},
	{"bad duration", tomlLines(`[tasks.web]`, `command = "w"`, `start_time = "5 seconds"`),
		`t.toml:3: tasks.web.start_time: invalid duration "5 seconds" (use a Go duration such as "10s", "1m30s")`},
	{"negative duration", tomlLines(`[procmon]`, `stop_timeout = "-1s"`),
		`t.toml:2: procmon.stop_timeout: duration "-1s" must not be negative`},
	{"zero ready_timeout", tomlLines(`[tasks.web]`, `command = "w"`, `ready_timeout = "0s"`),
		`t.toml:3: tasks.web.ready_timeout: duration must be greater than 0`},
	{"duration not a string", tomlLines(`[tasks.web]`, `command = "w"`, `max_runtime = 10`),
		`t.toml:3: tasks.web.max_runtime: must be a string, not an integer`},
	{"restart_delay over max", tomlLines(`[tasks.web]`, `command = "w"`, `restart_delay = "2m"`),
		`t.toml:3: tasks.web.restart_delay: restart_delay_max (1m0s) is less than restart_delay (2m0s)`},
	{"unknown signal", tomlLines(`[tasks.web]`, `command = "w"`, `stop_signal = "SIGTREM"`),
		`t.toml:3: tasks.web.stop_signal: unknown signal "SIGTREM" (did you mean "TERM"?)`},
	{"signal number out of range", tomlLines(`[tasks.web]`, `command = "w"`, `stop_signal = 99`),
		`t.toml:3: tasks.web.stop_signal: signal number 99 is out of range 1-64`},
	{"signal string number out of range", tomlLines(`[tasks.web]`, `command = "w"`, `stop_signal = "0"`),
		`t.toml:3: tasks.web.stop_signal: signal number 0 is out of range 1-64`},
	{"unknown key", tomlLines(`[tasks.web]`, `command = "w"`, `stop_timout = "5s"`),
		`t.toml:3: tasks.web.stop_timout: unknown key "stop_timout" (did you mean "stop_timeout"?)`},
	{"unknown key without hint", tomlLines(`[tasks.web]`, `command = "w"`, `colour = "red"`),
		`t.toml:3: tasks.web.colour: unknown key "colour"`},
	{"unknown key in wrong case", tomlLines(`[tasks.web]`, `Command = "w"`),
		`t.toml:2: tasks.web.Command: unknown key "Command" (did you mean "command"?)`},
	{"unknown table", tomlLines(`[procmon]`, `[task.web]`, `command = "w"`, `type = "oneshot"`),
		`t.toml:2: task: unknown key "task" (did you mean "tasks"?)`},
	{"unknown global key", tomlLines(`[procmon]`, `log_lvl = "info"`),
		`t.toml:2: procmon.log_lvl: unknown key "log_lvl" (did you mean "log_level"?)`},
	{"unknown key in second notify", tomlLines(
		`[[notify]]`, `type = "exec"`, `command = "a"`, `[[notify]]`, `type = "webhook"`, `url = "http://x/"`, `urll = "http://x"`),
		`t.toml:7: notify.1.urll: unknown key "urll" (did you mean "url"?)`},
	{"unset variable", tomlLines(`[tasks.web]`, `command = "run ${NOPE}"`),
		`t.toml:2: tasks.web.command: environment variable NOPE is not set (use ${NOPE:-default} to give a default)`},
	{"unset variable in env table", tomlLines(`[tasks.web]`, `command = "w"`, `env = { A = "${NOPE}" }`),
		`t.toml:3: tasks.web.env.A: environment variable NOPE is not set (use ${NOPE:-default} to give a default)`},
	{"unset variable in list", tomlLines(`[tasks.web]`, `command = ["w", "${NOPE}"]`),
		`t.toml:2: tasks.web.command: environment variable NOPE is not set`},
	{"unterminated variable", tomlLines(`[tasks.web]`, `command = "${HOME"`),
		`t.toml:2: tasks.web.command: unterminated ${ in "${HOME"`},
	{"bad variable name", tomlLines(`[tasks.web]`, `command = "${1X}"`),
		`t.toml:2: tasks.web.command: invalid variable name in ${1X}`},
	{"bad type", tomlLines(`[tasks.web]`, `command = "w"`, `type = "daemon"`),
		`t.toml:3: tasks.web.type: invalid value "daemon": must be "service" or "oneshot"`},
	{"bad restart", tomlLines(`[tasks.web]`, `command = "w"`, `restart = "on-failur"`),
		`t.toml:3: tasks.web.restart: invalid value "on-failur": must be "always", "on-failure" or "never" (did you mean "on-failure"?)`},
	{"bad log_level", tomlLines(`[procmon]`, `log_level = "verbose"`),
		`t.toml:2: procmon.log_level: invalid value "verbose": must be "debug", "info", "warn" or "error"`},
	{"bad log_format", tomlLines(`[procmon]`, `log_format = "xml"`),
		`t.toml:2: procmon.log_format: invalid value "xml": must be "text" or "json"`},
	{"stdout to stdout", tomlLines(`[tasks.web]`, `command = "w"`, `stdout = "stdout"`),
		`t.toml:3: tasks.web.stdout: "stdout" is only valid for stderr`},
	{"empty stderr", tomlLines(`[tasks.web]`, `command = "w"`, `stderr = ""`),
		`t.toml:3: tasks.web.stderr: must be "inherit", "discard" or a file path, not empty`},
	{"bad boolean", tomlLines(`[tasks.web]`, `command = "w"`, `autostart = "yes"`),
		`t.toml:3: tasks.web.autostart: must be true or false, not a string`},
	{"negative instances", tomlLines(`[tasks.web]`, `command = "w"`, `instances = -1`),
		`t.toml:3: tasks.web.instances: must be 0 or more, not -1`},
	{"too many instances", tomlLines(`[tasks.web]`, `command = "w"`, `instances = 1025`),
		`t.toml:3: tasks.web.instances: must be 1024 or less, not 1025`},
	{"start_retries below -1", tomlLines(`[tasks.web]`, `command = "w"`, `start_retries = -2`),
		`t.toml:3: tasks.web.start_retries: must be -1 or more, not -2`},
	{"bad exit code", tomlLines(`[tasks.web]`, `command = "w"`, `exit_codes = [0, 256]`),
		`t.toml:3: tasks.web.exit_codes: exit codes must be integers 0-255, not 256`},
	{"bad umask", tomlLines(`[tasks.web]`, `command = "w"`, `umask = "089"`),
		`t.toml:3: tasks.web.umask: invalid umask "089": must be an octal string such as "022"`},
	{"umask out of range", tomlLines(`[tasks.web]`, `command = "w"`, `umask = "1777"`),
		`t.toml:3: tasks.web.umask: umask 01777 is out of range 0-0777`},
	{"integer umask", tomlLines(`[tasks.web]`, `command = "w"`, `umask = 22`),
		`t.toml:3: tasks.web.umask: umask must be a string of octal digits such as "022", not an integer`},
	{"octal integer umask", tomlLines(`[tasks.web]`, `command = "w"`, `umask = 0o022`),
		`t.toml:3: tasks.web.umask: umask must be a string of octal digits such as "022", not an integer`},
	{"bad log_max_size", tomlLines(`[tasks.web]`, `command = "w"`, `log_max_size = "10XB"`),
		`t.toml:3: tasks.web.log_max_size: invalid size "10XB" (use bytes or a unit: "512KB", "10MB", "1GiB")`},
	{"load_low above load_high", tomlLines(`[tasks.web]`, `command = "w"`, `load_high = 2`, `load_low = 3.5`),
		`t.toml:4: tasks.web.load_low: load_low (3.5) is greater than load_high (2)`},
	{"file beside log_command", tomlLines(`[tasks.web]`, `command = "w"`, `stdout = "/var/log/web.log"`, `log_command = "logger"`),
		`t.toml:3: tasks.web.stdout: stdout goes to log_command, not to the file "/var/log/web.log": keep one of them`},
	{"env not a table", tomlLines(`[tasks.web]`, `command = "w"`, `env = "A=1"`),
		`t.toml:3: tasks.web.env: must be a table, not a string`},
	{"task name with space", tomlLines(`[tasks."my web"]`, `command = "w"`),
		`t.toml:1: tasks."my web": invalid task name "my web": it must not contain whitespace or '/'`},
	{"task name with slash", tomlLines(`[tasks."a/b"]`, `command = "w"`),
		`t.toml:1: tasks."a/b": invalid task name "a/b": it must not contain whitespace or '/'`},
	{"empty task name", tomlLines(`[tasks.""]`, `command = "w"`),
		`t.toml:1: tasks."": task name must not be empty`},
	{"task name ..", tomlLines(`[tasks.".."]`, `command = "w"`),
		`t.toml:1: tasks."..": invalid task name "..": it names a directory in a path`},
	{"task name like a flag", tomlLines(`[tasks.-c]`, `command = "w"`),
		`t.toml:1: tasks.-c: invalid task name "-c": it must not begin with '-', which reads as a flag`},
	{"task name like an instance label", tomlLines(`[tasks.web]`, `command = "w"`, `instances = 2`, `[tasks."web.1"]`, `command = "x"`),
		`t.toml:4: tasks."web.1": invalid task name "web.1": it reads as instance 1 of task "web"`},
	{"ready on a oneshot", tomlLines(`[monitors.n]`, `type = "notify"`, `[tasks.mig]`, `type = "oneshot"`, `command = "m"`, `ready = "n"`),
		`t.toml:6: tasks.mig.ready: ready does not apply to a oneshot (it is ready when it completes)`},
	{"monitors on a oneshot", tomlLines(
		`[monitors.p]`, `type = "port_in_use"`, `address = "127.0.0.1:1"`,
		`[tasks.mig]`, `type = "oneshot"`, `command = "m"`, `monitors = ["p"]`),
		`t.toml:7: tasks.mig.monitors: monitors does not apply to a oneshot (liveness is checked from readiness on, and a oneshot is ready only once it has completed)`},
	{"tasks not a table", tomlLines(`tasks = 5`),
		`t.toml:1: tasks: must be a table of [tasks.NAME] tables, not an integer`},
	{"task not a table", tomlLines(`[tasks]`, `web = "w"`),
		`t.toml:2: tasks.web: must be a table ([tasks.web]), not a string`},
	{"notify not an array", tomlLines(`[notify]`, `type = "exec"`),
		`t.toml:1: notify: must be an array of tables ([[notify]]), not a table`},
	{"monitors not a table", tomlLines(`monitors = 5`),
		`t.toml:1: monitors: must be a table of [monitors.NAME] tables, not an integer`},
	{"monitor not a table", tomlLines(`[monitors]`, `up = ["notify"]`),
		`t.toml:2: monitors.up: must be a table ([monitors.up]), not an array`},
	{"procmon not a table", tomlLines(`procmon = "quiet"`),
		`t.toml:1: procmon: must be a table ([procmon]), not a string`},
	{"unknown monitor", tomlLines(`[monitors.redis-up]`, `type = "notify"`, `[tasks.web]`, `command = "w"`, `ready = ["redis-pu"]`),
		`t.toml:5: tasks.web.ready: unknown monitor "redis-pu" (did you mean "redis-up"?)`},
	{"unknown monitor in retry", tomlLines(`[monitors.r]`, `type = "retry"`, `monitor = "nope"`),
		`t.toml:3: monitors.r.monitor: unknown monitor "nope"`},
	{"unknown monitor in all", tomlLines(`[monitors.n]`, `type = "notify"`, `[monitors.a]`, `type = "all"`, `monitors = ["n", "x"]`),
		`t.toml:5: monitors.a.monitors: unknown monitor "x"`},
	{"monitor cycle", tomlLines(
		`[monitors.r]`, `type = "retry"`, `monitor = "a"`, `[monitors.a]`, `type = "any"`, `monitors = ["r"]`),
		`t.toml:6: monitors.a.monitors: cycle among monitors: a -> r -> a`},
	{"monitor wraps itself", tomlLines(`[monitors.r]`, `type = "retry"`, `monitor = "r"`),
		`t.toml:3: monitors.r.monitor: cycle among monitors: r -> r`},
	{"fail in ready", tomlLines(
		`[monitors.p]`, `type = "port_in_use"`, `address = "127.0.0.1:1"`,
		`[monitors.f]`, `type = "fail"`, `monitor = "p"`,
		`[tasks.web]`, `command = "w"`, `ready = "f"`),
		`t.toml:9: tasks.web.ready: fail monitor "f" cannot be used in ready: it never reports success`},
	{"fail wrapped in wait_for", tomlLines(
		`[monitors.p]`, `type = "port_in_use"`, `address = "127.0.0.1:1"`,
		`[monitors.f]`, `type = "fail"`, `monitor = "p"`,
		`[monitors.both]`, `type = "all"`, `monitors = ["p", "f"]`,
		`[tasks.web]`, `command = "w"`, `wait_for = ["both"]`),
		`t.toml:12: tasks.web.wait_for: monitor "both" cannot be used in wait_for: it wraps fail monitor "f", which never reports success`},
	{"notify in monitors", tomlLines(`[monitors.n]`, `type = "notify"`, `[tasks.web]`, `command = "w"`, `monitors = "n"`),
		`t.toml:5: tasks.web.monitors: notify monitor "n" can only be used in ready`},
	{"notify wrapped in monitors", tomlLines(
		`[monitors.n]`, `type = "notify"`, `[monitors.r]`, `type = "retry"`, `monitor = "n"`,
		`[tasks.web]`, `command = "w"`, `monitors = "r"`),
		`t.toml:8: tasks.web.monitors: monitor "r" cannot be used in monitors: it wraps notify monitor "n", which can only be used in ready`},
	{"notify in wait_for", tomlLines(`[monitors.n]`, `type = "notify"`, `[tasks.web]`, `command = "w"`, `wait_for = "n"`),
		`t.toml:5: tasks.web.wait_for: notify monitor "n" can only be used in ready`},
	{"two notify in ready", tomlLines(
		`[monitors.a]`, `type = "notify"`, `[monitors.b]`, `type = "notify"`,
		`[tasks.web]`, `command = "w"`, `ready = ["a", "b"]`),
		`t.toml:7: tasks.web.ready: more than one notify monitor (a and b): each would set NOTIFY_SOCKET for the same process, which keeps only the last, so only that one could ever see READY=1`},
	{"notify in ready and wrapped in another entry", tomlLines(
		`[monitors.a]`, `type = "notify"`, `[monitors.b]`, `type = "notify"`,
		`[monitors.r]`, `type = "retry"`, `monitor = "b"`,
		`[tasks.web]`, `command = "w"`, `ready = ["a", "r"]`),
		`t.toml:10: tasks.web.ready: more than one notify monitor (a and r -> b):`},
	{"one notify reached twice through wrappers", tomlLines(
		`[monitors.n]`, `type = "notify"`,
		`[monitors.r]`, `type = "retry"`, `monitor = "n"`,
		`[monitors.both]`, `type = "all"`, `monitors = ["n", "r"]`,
		`[tasks.web]`, `command = "w"`, `ready = "both"`),
		`t.toml:11: tasks.web.ready: more than one notify monitor (both -> n and both -> r -> n):`},
	{"monitor without type", tomlLines(`[monitors.m]`, `url = "http://x"`),
		`t.toml:1: monitors.m: missing type (one of all, any, exec, fail, http, notify, port_available, port_in_use, redis, retry)`},
	{"monitor bad type", tomlLines(`[monitors.m]`, `type = "htp"`),
		`t.toml:2: monitors.m.type: invalid value "htp": must be "all", "any", "exec", "fail", "http", "notify", "port_available", "port_in_use", "redis" or "retry" (did you mean "http"?)`},
	{"key not for monitor type", tomlLines(`[monitors.m]`, `type = "redis"`, `address = "h:1"`, `url = "http://x"`),
		`t.toml:4: monitors.m.url: url does not apply to type redis`},
	{"wrapper with interval", tomlLines(`[monitors.p]`, `type = "notify"`, `[monitors.m]`, `type = "all"`, `monitors = "p"`, `interval = "1s"`),
		`t.toml:6: monitors.m.interval: interval does not apply to type all`},
	{"http without url", tomlLines(`[monitors.m]`, `type = "http"`),
		`t.toml:1: monitors.m: missing url`},
	{"http bad scheme", tomlLines(`[monitors.m]`, `type = "http"`, `url = "ftp://host/"`),
		`t.toml:3: monitors.m.url: invalid URL "ftp://host/": must be an absolute http:// or https:// URL`},
	{"http bad status", tomlLines(`[monitors.m]`, `type = "http"`, `url = "http://h/"`, `expect_status = [200, 700]`),
		`t.toml:4: monitors.m.expect_status: invalid status "700": use a code 100-599 or a range such as "200-299"`},
	{"http reversed range", tomlLines(`[monitors.m]`, `type = "http"`, `url = "http://h/"`, `expect_status = "299-200"`),
		`t.toml:4: monitors.m.expect_status: invalid status "299-200"`},
	{"redis two addresses", tomlLines(`[monitors.m]`, `type = "redis"`, `address = ["a:1", "b:2"]`),
		`t.toml:3: monitors.m.address: a redis monitor needs exactly one address, not 2`},
	{"redis without address", tomlLines(`[monitors.m]`, `type = "redis"`),
		`t.toml:1: monitors.m: missing address`},
	{"port bad address", tomlLines(`[monitors.m]`, `type = "port_in_use"`, `address = ["localhost"]`),
		`t.toml:3: monitors.m.address: invalid address "localhost": must be host:port`},
	{"port out of range", tomlLines(`[monitors.m]`, `type = "port_in_use"`, `address = ["127.0.0.1:99999"]`),
		`t.toml:3: monitors.m.address: invalid address "127.0.0.1:99999": port 99999 is not between 1 and 65535`},
	{"port overflowing", tomlLines(`[monitors.m]`, `type = "port_in_use"`, `address = ["127.0.0.1:99999999999999999999"]`),
		`t.toml:3: monitors.m.address: invalid address "127.0.0.1:99999999999999999999": port 99999999999999999999 is not between 1 and 65535`},
	{"port with a space", tomlLines(`[monitors.m]`, `type = "port_in_use"`, `address = ["127.0.0.1: 80"]`),
		`t.toml:3: monitors.m.address: invalid address "127.0.0.1: 80": port " 80" is neither a number nor a service name`},
	{"redis negative port", tomlLines(`[monitors.m]`, `type = "redis"`, `address = "127.0.0.1:-5"`),
		`t.toml:3: monitors.m.address: invalid address "127.0.0.1:-5": port "-5" is neither a number nor a service name`},
	{"http port out of range", tomlLines(`[monitors.m]`, `type = "http"`, `url = "http://127.0.0.1:70000/health"`),
		`t.toml:3: monitors.m.url: invalid URL "http://127.0.0.1:70000/health": port 70000 is not between 1 and 65535`},
	{"port empty address list", tomlLines(`[monitors.m]`, `type = "port_available"`, `address = []`),
		`t.toml:3: monitors.m.address: a port_available monitor needs at least one host:port address`},
	{"exec without command", tomlLines(`[monitors.m]`, `type = "exec"`),
		`t.toml:1: monitors.m: missing command`},
	{"retry without monitor", tomlLines(`[monitors.m]`, `type = "retry"`),
		`t.toml:1: monitors.m: missing monitor (the name of the monitor it wraps)`},
	{"all with no monitors", tomlLines(`[monitors.m]`, `type = "all"`, `monitors = []`),
		`t.toml:3: monitors.m.monitors: an all monitor needs at least one monitor`},
	{"maintenance without command", tomlLines(`[maintenance]`, `timeout = "5m"`),
		`t.toml:1: maintenance: missing command`},
	{"maintenance bad on_failure", tomlLines(`[maintenance]`, `command = "b"`, `on_failure = "retry"`),
		`t.toml:3: maintenance.on_failure: invalid value "retry": must be "resume" or "exit"`},
	{"notify bad type", tomlLines(`[[notify]]`, `type = "sms"`),
		`t.toml:2: notify.0.type: invalid value "sms": must be "email", "webhook" or "exec"`},
	{"notify email without to", tomlLines(`[[notify]]`, `type = "email"`, `smtp = "h:25"`, `from = "a@b"`),
		`t.toml:1: notify.0: missing to`},
	{"notify webhook without url", tomlLines(`[[notify]]`, `type = "exec"`, `command = "x"`, `[[notify]]`, `type = "webhook"`),
		`t.toml:4: notify.1: missing url`},
	{"notify unknown event", tomlLines(`[[notify]]`, `type = "exec"`, `command = "x"`, `events = ["task_fatl"]`),
		`t.toml:4: notify.0.events: unknown event "task_fatl" (did you mean "task_fatal"?)`},
	{"notify key not for type", tomlLines(`[[notify]]`, `type = "exec"`, `command = "x"`, `url = "http://h/"`),
		`t.toml:4: notify.0.url: url does not apply to type exec`},
	{"http on all interfaces without token", tomlLines(`[procmon]`, `http = "0.0.0.0:8080"`),
		`t.toml:2: procmon.http: "0.0.0.0:8080" is not a loopback address: set http_token, or listen on 127.0.0.1 or localhost`},
	{"http empty host without token", tomlLines(`[procmon]`, `http = ":8080"`),
		`t.toml:2: procmon.http: ":8080" is not a loopback address`},
	{"http bad address", tomlLines(`[procmon]`, `http = "8080"`),
		`t.toml:2: procmon.http: invalid address "8080": must be host:port`},
	{"honeycomb bad sample rate", tomlLines(`[honeycomb]`, `sample_rate = 0`),
		`t.toml:2: honeycomb.sample_rate: must be 1 or more, not 0`},
}

// misshapenCases each hold a table of the wrong shape among other mistakes: the
// shape is one error among the others, and what names the misshapen table is no
// error of its own. The fuzz corpus is seeded from them too.
var misshapenCases = []struct {
	name string
	src  string
	want []string
}{
	{"monitors not a table", tomlLines(
		`monitors = 5`, `[tasks.web]`, `command = "w"`, `ready = ["up"]`, `stop_signal = "NOPE"`),
		[]string{
			`t.toml:1: monitors: must be a table of [monitors.NAME] tables, not an integer`,
			`t.toml:5: tasks.web.stop_signal: unknown signal "NOPE"`,
		}},
	{"tasks not a table", tomlLines(
		`tasks = "x"`, `[procmon]`, `log_level = "loud"`, `[monitors.m]`, `type = "htp"`),
		[]string{
			`t.toml:1: tasks: must be a table of [tasks.NAME] tables, not a string`,
			`t.toml:3: procmon.log_level: invalid value "loud": must be "debug", "info", "warn" or "error"`,
			`t.toml:5: monitors.m.type: invalid value "htp": must be "all", "any", "exec", "fail", "http", "notify", "port_available", "port_in_use", "redis" or "retry" (did you mean "http"?)`,
		}},
	{"task not a table", tomlLines(
		`[tasks]`, `db = 5`, `[tasks.web]`, `command = "w"`, `parent = "db"`, `start_time = "soon"`),
		[]string{
			`t.toml:2: tasks.db: must be a table ([tasks.db]), not an integer`,
			`t.toml:6: tasks.web.start_time: invalid duration "soon" (use a Go duration such as "10s", "1m30s")`,
		}},
	{"monitor not a table", tomlLines(
		`[monitors]`, `up = "notify"`, `[tasks.web]`, `command = "w"`, `ready = "up"`, `colour = "red"`),
		[]string{
			`t.toml:2: monitors.up: must be a table ([monitors.up]), not a string`,
			`t.toml:6: tasks.web.colour: unknown key "colour"`,
		}},
	{"every section misshapen", tomlLines(
		`procmon = 1`, `maintenance = "backup"`, `notify = 5`, `honeycomb = []`,
		`[tasks.web]`, `type = "service"`),
		[]string{
			`t.toml:1: procmon: must be a table ([procmon]), not an integer`,
			`t.toml:2: maintenance: must be a table ([maintenance]), not a string`,
			`t.toml:3: notify: must be an array of tables ([[notify]]), not an integer`,
			`t.toml:4: honeycomb: must be a table ([honeycomb]), not an array`,
			`t.toml:5: tasks.web: missing command`,
		}},
}

func TestMisshapenTableIsOneErrorAmongOthers(t *testing.T) {
	for _, tc := range misshapenCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("t.toml", []byte(tc.src), testLookup)
			require.Error(t, err)
			assert.Nil(t, cfg)
			assert.Equal(t, strings.Join(tc.want, "\n"), err.Error())
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("t.toml", []byte(tc.src), testLookup)
			require.Error(t, err)
			assert.Nil(t, cfg)
			var errs Errors
			require.True(t, errors.As(err, &errs), "error is %T", err)
			require.Len(t, errs, 1, "all errors:\n%v", err)
			assert.Contains(t, errs[0].Error(), tc.want)
			assert.True(t, strings.HasPrefix(errs[0].Error(), tc.want), "%q\ndoes not start with\n%q", errs[0].Error(), tc.want)
		})
	}
}
