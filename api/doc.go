// Package api serves procmon's control API, health probes and Prometheus metrics
// over HTTP on the control socket (and optionally TCP), and is the client the CLI uses.
package api
