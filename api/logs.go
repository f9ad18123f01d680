package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

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

// follow subscribes before it reads the backlog, so that no line falls between
// the two; lines seen in both are sent once.
func (h *handler) follow(w http.ResponseWriter, r *http.Request, name string, n int) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ch := make(chan output.Line, followBuffer)
	ended := make(chan error, 1)
	go func() { ended <- h.engine.Follow(ctx, name, ch) }()
	backlog, err := h.engine.Logs(name, n)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	s := newLineStream(w)
	for _, l := range backlog {
		s.send(l)
	}
	s.flush()
	for {
		select {
		case l := <-ch:
			if s.fresh(l) && !s.send(l) {
				return
			}
			s.flush()
		case <-ended: // the engine stopped
			return
		case <-ctx.Done():
			return
		}
	}
}

// lineStream writes JSON lines and remembers the newest line sent per instance.
type lineStream struct {
	w    http.ResponseWriter
	enc  *json.Encoder
	rc   *http.ResponseController
	last map[int]time.Time
}

func newLineStream(w http.ResponseWriter) *lineStream {
	return &lineStream{w: w, enc: json.NewEncoder(w), rc: http.NewResponseController(w), last: map[int]time.Time{}}
}

// fresh is false for a line the backlog already held.
func (s *lineStream) fresh(l output.Line) bool {
	return l.Time.After(s.last[l.Instance])
}

func (s *lineStream) send(l output.Line) bool {
	s.last[l.Instance] = l.Time
	return s.enc.Encode(l) == nil
}

func (s *lineStream) flush() { _ = s.rc.Flush() }
