package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/tasks"
)

// errorBody is every error answer: Error for people, Errors for a 422 so that a
// client can print each configuration problem on its own line.
type errorBody struct {
	Error  string   `json:"error"`
	Errors []string `json:"errors,omitempty"`
}

// badRequest marks a request the client got wrong (a bad query parameter).
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func badRequestf(format string, args ...any) error {
	return badRequest{fmt.Sprintf(format, args...)}
}

// statusOf maps the engine's errors to HTTP statuses.
func statusOf(err error) int {
	var cfgErrs config.Errors
	var bad badRequest
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.Is(err, tasks.ErrUnknownTask):
		return http.StatusNotFound
	case errors.Is(err, tasks.ErrConflict), errors.Is(err, tasks.ErrNotDone):
		return http.StatusConflict
	case errors.Is(err, tasks.ErrStopped):
		return http.StatusServiceUnavailable
	case errors.As(err, &cfgErrs):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	body := errorBody{Error: err.Error()}
	var cfgErrs config.Errors
	if errors.As(err, &cfgErrs) {
		body.Error = "invalid configuration"
		for _, e := range cfgErrs {
			body.Errors = append(body.Errors, e.Error())
		}
	}
	writeJSON(w, statusOf(err), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client that went away needs no answer
}
