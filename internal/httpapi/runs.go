package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/seance-dev/seance/internal/fault"
)

// RunSource is the optional source of team runs' event streams.
type RunSource interface {
	// FollowRun calls emit with each event of run id (JSON-encodable values), the events so far
	// first, until the run ends (return nil) or ctx is done. Unknown ids are fault.NotFound. An error
	// from emit ends it and is returned.
	FollowRun(r *http.Request, id string, emit func(event any) error) error
}

// RunHeader names the response header that carries the id of the team run behind a chat completion.
const RunHeader = "X-Seance-Run"

// runEvents serves GET /v1/runs/{id}/events: the run's events as server-sent events, one JSON object
// per `data:` line, then `data: [DONE]`.
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Runs == nil {
		return fault.New(fault.NotFound, "this server has no team runs")
	}
	id := r.PathValue("id")
	flusher, _ := w.(http.Flusher)
	started := false
	err := s.opts.Runs.FollowRun(r, id, func(ev any) error {
		data, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if !started {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if _, err := w.Write(append(append([]byte("data: "), data...), '\n', '\n')); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
	if err != nil && !started {
		return err
	}
	if !started {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
	}
	if err == nil {
		_, _ = w.Write([]byte("data: [DONE]\n\n"))
	}
	return nil // once the stream has started, an error can only end it
}
