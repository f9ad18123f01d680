package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/procmon/procmon/output"
)

// DefaultLines is how many lines of a task's output `logs` shows unless told.
const DefaultLines = 100

// followQueueBytes bounds how far a follower may fall behind before it loses
// lines (the tasks never wait for it): about 60,000 short lines, or a thousand
// of the longest (8 KiB).
const followQueueBytes = 8 << 20

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

// follow sends the last lines, then every new one, until the client leaves, the
// task is removed (a reload) or procmon stops. Where the client fell so far
// behind that lines were lost, the stream has a line with no text and
// "dropped": N.
func (h *handler) follow(w http.ResponseWriter, r *http.Request, name string, n int) {
	f := output.NewFollower(followQueueBytes)
	backlog, stop, err := h.engine.Follow(name, n, f)
	if err != nil {
		writeError(w, err)
		return
	}
	defer stop()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc, rc := json.NewEncoder(w), http.NewResponseController(w)
	for lines := backlog; send(enc, rc, lines); lines = nextLines(f, name) {
		select {
		case <-f.Ready():
		case <-f.Ended():
			send(enc, rc, nextLines(f, name))
			return
		case <-h.engine.Done():
			return
		case <-r.Context().Done():
			return
		}
	}
}

// nextLines takes what f has queued, with a mark where lines were lost.
func nextLines(f *output.Follower, name string) []output.Line {
	lines, dropped := f.Take()
	if dropped > 0 {
		lines = append(lines, output.Line{Time: time.Now(), Task: name, Dropped: dropped})
	}
	return lines
}

// send writes lines to the stream and flushes them; false once the client is gone.
func send(enc *json.Encoder, rc *http.ResponseController, lines []output.Line) bool {
	for _, l := range lines {
		if enc.Encode(l) != nil {
			return false
		}
	}
	_ = rc.Flush()
	return true
}
