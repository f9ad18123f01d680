package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/sirupsen/logrus"
)

func (l *loader) buildGlobal(r *rawGlobal) Global {
	g, k := defaultGlobal(), toml.Key{"procmon"}
	var level string
	if l.str(sub(k, "log_level"), r.LogLevel, &level) &&
		l.oneOf(sub(k, "log_level"), level, "debug", "info", "warn", "error") {
		g.LogLevel, _ = logrus.ParseLevel(level)
	}
	var format string
	if l.str(sub(k, "log_format"), r.LogFormat, &format) && l.oneOf(sub(k, "log_format"), format, "text", "json") {
		g.LogFormat = format
	}
	l.str(sub(k, "log_file"), r.LogFile, &g.LogFile)
	l.str(sub(k, "socket"), r.Socket, &g.Socket)
	l.str(sub(k, "http"), r.HTTP, &g.HTTP)
	l.str(sub(k, "http_token"), r.HTTPToken, &g.HTTPToken)
	l.str(sub(k, "pidfile"), r.Pidfile, &g.Pidfile)
	l.str(sub(k, "journal"), r.Journal, &g.Journal)
	l.str(sub(k, "services_dir"), r.ServicesDir, &g.ServicesDir)
	l.duration(sub(k, "stop_timeout"), r.StopTimeout, false, &g.StopTimeout)
	l.duration(sub(k, "shutdown_timeout"), r.ShutdownTimeout, false, &g.ShutdownTimeout)
	l.boolean(sub(k, "subreaper"), r.Subreaper, &g.Subreaper)
	var metric string
	if l.str(sub(k, "load_metric"), r.LoadMetric, &metric) &&
		l.oneOf(sub(k, "load_metric"), metric, LoadAverage, CPUPressure) {
		g.LoadMetric = metric
	}
	l.checkHTTP(sub(k, "http"), &g)
	return g
}

// checkHTTP refuses an unauthenticated control API reachable from other hosts.
func (l *loader) checkHTTP(key toml.Key, g *Global) {
	if g.HTTP == "" {
		return
	}
	host, _, err := net.SplitHostPort(g.HTTP)
	if err != nil {
		l.errorf(key, "invalid address %q: must be host:port", g.HTTP)
		return
	}
	if g.HTTPToken == "" && !isLoopback(host) {
		l.errorf(key, "%q is not a loopback address: set http_token, or listen on 127.0.0.1 or localhost", g.HTTP)
	}
}

// ServicesDirProblem says why services_dir cannot be watched on this machine,
// if it cannot: procmon would run without the tasks it holds, and not notice
// the directory appear, so `run` refuses to start. It is no error of the file:
// `check` may run where the container's paths do not exist, and a directory
// that went away must not make every reload fail.
func ServicesDirProblem(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("services_dir: directory %q does not exist", dir)
	case err != nil:
		return fmt.Errorf("services_dir: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("services_dir: %q is not a directory", dir)
	}
	return nil
}

// isLoopback is false for an empty host: ":8080" listens on every interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (l *loader) buildMaintenance(r *rawMaintenance) *Maintenance {
	if r == nil {
		return nil
	}
	m, k := defaultMaintenance(), toml.Key{"maintenance"}
	l.command(sub(k, "command"), r.Command, &m.Command)
	if !r.Command.set {
		l.errorf(k, "missing command")
	}
	l.str(sub(k, "dir"), r.Dir, &m.Dir)
	l.strMap(sub(k, "env"), r.Env, &m.Env)
	l.str(sub(k, "user"), r.User, &m.User)
	l.str(sub(k, "group"), r.Group, &m.Group)
	l.output(sub(k, "stdout"), r.Stdout, false, &m.Stdout)
	l.output(sub(k, "stderr"), r.Stderr, true, &m.Stderr)
	l.duration(sub(k, "timeout"), r.Timeout, true, &m.Timeout)
	var onFailure string
	if l.str(sub(k, "on_failure"), r.OnFailure, &onFailure) && l.oneOf(sub(k, "on_failure"), onFailure, "resume", "exit") {
		m.OnFailure = onFailure
	}
	return &m
}

func (l *loader) buildHoneycomb(r *rawHoneycomb) Honeycomb {
	h, k := defaultHoneycomb(), toml.Key{"honeycomb"}
	l.str(sub(k, "api_key"), r.APIKey, &h.APIKey)
	l.str(sub(k, "dataset"), r.Dataset, &h.Dataset)
	l.httpURL(sub(k, "api_host"), r.APIHost, &h.APIHost)
	rate := int(h.SampleRate)
	l.integer(sub(k, "sample_rate"), r.SampleRate, 1, &rate)
	h.SampleRate = uint(rate)
	return h
}
