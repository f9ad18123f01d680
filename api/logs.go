package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/procmon/procmon/output"
)

// DefaultLines is how many lines of a task's output `logs` shows unless told.
const DefaultLines = 100

// followBuffer bounds what a slow follower may lag behind before it loses lines;
// the tasks never wait for it.
const followBuffer = 1024

// logs answers a JSON array of the last lines, or with follow=1 a stream of JSON
// lines (the last lines, then every new one) until the client goes away.
func (h *handler) logs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, follow, err := logsQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if !follow {
		lines, err := h.engine.Logs(name, n)
		if err != nil {
			writeError(w, err)
			return
		}
		if lines == nil {
			lines = []output.Line{}
		}
		writeJSON(w, http.StatusOK, lines)
		return
	}
	h.follow(w, r, name, n)
}

func logsQuery(r *http.Request) (n int, follow bool, err error) {
	q := r.URL.Query()
	n = DefaultLines
	if s := q.Get("lines"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 0 {
			return 0, false, badRequestf("lines must be a whole number, 0 or more (got %q)", s)
		}
	}
	if s := q.Get("follow"); s != "" {
		if follow, err = strconv.ParseBool(s); err != nil {
			return 0, false, badRequestf("follow must be 1 or 0 (got %q)", s)
		}
	}
	return n, follow, nil
}

// follow sends the last lines, then every new one, until the client leaves or
// procmon stops.
func (h *handler) follow(w http.ResponseWriter, r *http.Request, name string, n int) {
	ch := make(chan output.Line, followBuffer)
	backlog, stop, err := h.engine.Follow(name, n, ch)
	if err != nil {
		writeError(w, err)
		return
	}
	defer stop()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc, rc := json.NewEncoder(w), http.NewResponseController(w)
	for _, l := range backlog {
		if enc.Encode(l) != nil {
			return
		}
	}
	_ = rc.Flush()
	for {
		select {
		case l := <-ch:
			if enc.Encode(l) != nil {
				return
			}
			_ = rc.Flush()
		case <-h.engine.Done():
			return
		case <-r.Context().Done():
			return
		}
	}
}
