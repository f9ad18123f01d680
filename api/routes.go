package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/tasks"
)

// handler answers the routes of SPEC 4 from an Engine.
type handler struct {
	engine  Engine
	metrics http.Handler
}

// okBody answers a request that was carried out and has nothing else to say.
var okBody = map[string]bool{"ok": true}

func (h *handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	route(mux, "GET", "/v1/tasks", h.list)
	route(mux, "GET", "/v1/tasks/{name}", h.task)
	route(mux, "POST", "/v1/tasks/{name}/start", h.act(tasks.ActStart, h.engine.Start))
	route(mux, "POST", "/v1/tasks/{name}/stop", h.act(tasks.ActStop, h.engine.Stop))
	route(mux, "POST", "/v1/tasks/{name}/restart", h.act(tasks.ActRestart, h.engine.Restart))
	route(mux, "POST", "/v1/tasks/{name}/scale", h.scale)
	route(mux, "POST", "/v1/tasks/{name}/signal", h.signal)
	route(mux, "GET", "/v1/tasks/{name}/logs", h.logs)
	route(mux, "POST", "/v1/reload", h.global(h.engine.Reload))
	route(mux, "POST", "/v1/maintenance", h.global(h.engine.Maintenance))
	route(mux, "POST", "/v1/shutdown", h.shutdown)
	route(mux, "GET", "/healthz", h.healthz)
	route(mux, "GET", "/readyz", h.readyz)
	route(mux, "GET", "/metrics", h.metrics.ServeHTTP)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no such endpoint: %s", r.URL.Path)})
	})
	return mux
}

// route registers fn for method, and a JSON 405 for every other method on the
// same path (the method-less pattern is the less specific one, so it only gets those).
func route(mux *http.ServeMux, method, pattern string, fn http.HandlerFunc) {
	mux.HandleFunc(method+" "+pattern, fn)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", method)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{
			Error: fmt.Sprintf("method %s not allowed on %s: use %s", r.Method, r.URL.Path, method),
		})
	})
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(h.engine.Status()))
}

func (h *handler) task(w http.ResponseWriter, r *http.Request) {
	mine, err := h.engine.TaskStatus(r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(mine))
}

func nonNil(s []tasks.InstanceStatus) []tasks.InstanceStatus {
	if s == nil {
		return []tasks.InstanceStatus{}
	}
	return s
}

// act carries out action, and with wait=1 answers once it has taken effect (or
// failed to: 409), as supervisorctl and systemctl do.
func (h *handler) act(action string, fn func(string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		wait, err := waitQuery(r.URL.Query().Get("wait"))
		switch {
		case err != nil:
		case wait:
			err = h.engine.Await(r.Context(), name, action)
		default:
			err = fn(name)
		}
		reply(w, err)
	}
}

func waitQuery(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	wait, err := strconv.ParseBool(s)
	if err != nil {
		return false, badRequestf("wait must be 1 or 0 (got %q)", s)
	}
	return wait, nil
}

func (h *handler) global(fn func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { reply(w, fn()) }
}

func reply(w http.ResponseWriter, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, okBody)
}

func (h *handler) scale(w http.ResponseWriter, r *http.Request) {
	n, err := instancesQuery(r.URL.Query().Get("instances"))
	if err != nil {
		writeError(w, err)
		return
	}
	reply(w, h.engine.Scale(r.PathValue("name"), n))
}

// instancesQuery holds a scale to the bound of the instances key, so that a
// request cannot do what the configuration file may not.
func instancesQuery(s string) (int, error) {
	n, err := strconv.Atoi(s) // out of range, n is clamped to the side it overflowed
	switch {
	case (err != nil && !errors.Is(err, strconv.ErrRange)) || n < 0:
		return 0, badRequestf("instances must be a whole number, 0 or more (got %q)", s)
	case n > config.MaxInstances:
		return 0, badRequestf("instances must be %d or less, as in the configuration file (got %s)", config.MaxInstances, s)
	}
	return n, nil
}

func (h *handler) signal(w http.ResponseWriter, r *http.Request) {
	sig, err := config.ParseSignal(r.URL.Query().Get("signal"))
	if err != nil {
		writeError(w, badRequest{err.Error()})
		return
	}
	reply(w, h.engine.Signal(r.PathValue("name"), sig))
}

func (h *handler) shutdown(w http.ResponseWriter, r *http.Request) {
	h.engine.Shutdown()
	writeJSON(w, http.StatusAccepted, okBody)
}

// healthz answers 200 as long as the supervisor loop answers at all.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := h.engine.NotReady(); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyBody is the answer of /readyz.
type readyBody struct {
	Ready    bool     `json:"ready"`
	NotReady []string `json:"not_ready,omitempty"`
	Error    string   `json:"error,omitempty"`
}

func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	names, err := h.engine.NotReady()
	if err != nil {
		writeError(w, err)
		return
	}
	if len(names) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, readyBody{
			NotReady: names,
			Error:    "not ready: " + strings.Join(names, ", "),
		})
		return
	}
	writeJSON(w, http.StatusOK, readyBody{Ready: true})
}
