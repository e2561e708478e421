// Package httpapi is seance's HTTP surface: the OpenAI-compatible routes (chat completions, streamed
// as server-sent events, models, embeddings), health and Prometheus metrics, with optional bearer
// authentication, a body-size limit and a bounded queue in front of the models.
//
// It serves models through the llm.Model interface and knows nothing about engines or backends; the
// caller (internal/app) hands it a ModelSource. Wire types come from internal/openai.
//
// # Errors
//
// Every error response is the OpenAI envelope {"error":{"message","type","param","code"}} whose code
// is the fault.Code of the error; statusOf maps codes to HTTP statuses in one place. Bad input is
// always a 4xx (SDKs retry 5xx). An overloaded server answers 503 with Retry-After.
//
// # Streaming
//
// A streamed completion (stream: true) is sent as "data: {chunk}\n\n" events ending with
// "data: [DONE]\n\n", as the OpenAI API does. The response headers are sent with the first chunk, so
// an error before the model produced anything (an unknown model, a prompt that does not fit) is still
// an ordinary HTTP error. An error after the stream has started is sent as one last event holding the
// error envelope, "data: {"error":{...}}\n\n", and the stream ends without [DONE]; the official SDKs
// raise it as an error. A client that disconnects cancels the request's context and so the model call.
//
// With n > 1 the choices are computed one after another in the request's one slot (so MaxConcurrent
// bounds model calls exactly); a stream sends all chunks of choice 0, then of choice 1, and so on.
package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/openai"
)

// ModelSource finds the models the server serves.
type ModelSource interface {
	// Model returns the model clients call id. An unknown id is a fault.NotFound error.
	Model(ctx context.Context, id string) (llm.Model, error)
	// Models lists the models clients may call, for GET /v1/models.
	Models(ctx context.Context) ([]llm.Info, error)
}

// Defaults of Options.
const (
	DefaultMaxBodyBytes    = 4 << 20
	DefaultMaxConcurrent   = 4
	DefaultMaxQueue        = 64
	DefaultRetryAfter      = time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// Models finds the models to serve. Required.
	Models ModelSource
	// APIKeys, when not empty, are the bearer tokens a client must send (Authorization: Bearer KEY)
	// on every route but /healthz.
	APIKeys []string
	// MaxBodyBytes limits request bodies (default 4 MiB); larger ones get 413.
	MaxBodyBytes int64
	// MaxConcurrent limits the model calls running at once (default 4).
	MaxConcurrent int
	// MaxQueue limits the requests waiting for a slot (default 64; negative: no waiting at all).
	// A request that finds the queue full gets 503 with Retry-After.
	MaxQueue int
	// RetryAfter is the delay a 503 suggests (default 1s; sent in whole seconds, at least 1).
	RetryAfter time.Duration
	// ShutdownTimeout bounds the graceful shutdown of Serve (default 10s); then connections are closed.
	ShutdownTimeout time.Duration
	// Logger receives one record per request; nil discards.
	Logger *slog.Logger
	// Version is reported by /healthz and in the seance_build_info metric.
	Version string
	// Runs, when set, serves the event streams of team runs at GET /v1/runs/{id}/events.
	Runs RunSource
	// Approvals, when set, serves the requests that wait for a person at /v1/approvals (approvals.go).
	Approvals ApprovalSource
	// ApproverKeys, when not empty, are the only bearer tokens that may decide approval requests.
	ApproverKeys []string
}

// Server serves the HTTP API. It is safe for concurrent use.
type Server struct {
	opts    Options
	models  ModelSource
	log     *slog.Logger
	keys    [][sha256.Size]byte
	limit   *limiter
	metrics *metrics
	mux     *http.ServeMux

	// approverKeys are the digests of Options.ApproverKeys.
	approverKeys [][sha256.Size]byte

	// now and newID are replaced by tests for reproducible ids and times.
	now   func() time.Time
	newID func(prefix string) string
}

// New returns a Server for opts.
func New(opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	switch {
	case opts.MaxQueue == 0:
		opts.MaxQueue = DefaultMaxQueue
	case opts.MaxQueue < 0:
		opts.MaxQueue = 0
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	s := &Server{
		opts:    opts,
		models:  opts.Models,
		log:     opts.Logger,
		limit:   newLimiter(opts.MaxConcurrent, opts.MaxQueue),
		metrics: newMetrics(),
		mux:     http.NewServeMux(),
		now:     time.Now,
		newID:   randomID,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "httpapi")
	for _, k := range opts.APIKeys {
		if k != "" {
			s.keys = append(s.keys, sha256.Sum256([]byte(k)))
		}
	}
	for _, k := range opts.ApproverKeys {
		if k != "" {
			s.approverKeys = append(s.approverKeys, sha256.Sum256([]byte(k)))
		}
	}
	s.routes()
	return s
}

// Handler returns the HTTP handler of all routes.
func (s *Server) Handler() http.Handler { return s.mux }

// handler is an HTTP handler that returns its error; the adapter writes the envelope.
type handler func(w http.ResponseWriter, r *http.Request) error

// route describes one path and the methods it serves.
type route struct {
	path    string
	methods map[string]handler
	public  bool // served without an API key
}

func (s *Server) routes() {
	for _, rt := range []route{
		{path: "/v1/chat/completions", methods: map[string]handler{http.MethodPost: s.chatCompletions}},
		{path: "/v1/embeddings", methods: map[string]handler{http.MethodPost: s.embeddings}},
		{path: "/v1/models", methods: map[string]handler{http.MethodGet: s.listModels}},
		{path: "/v1/models/{id...}", methods: map[string]handler{http.MethodGet: s.getModel}},
		{path: "/v1/runs/{id}/events", methods: map[string]handler{http.MethodGet: s.runEvents}},
		// Approval routes authenticate in their handlers (approvalAuth): approver keys count there too.
		{path: "/v1/approvals", methods: map[string]handler{http.MethodGet: s.listApprovals}, public: true},
		{path: "/v1/approvals/{id}", methods: map[string]handler{http.MethodGet: s.getApproval, http.MethodPost: s.decideApproval}, public: true},
		{path: "/healthz", methods: map[string]handler{http.MethodGet: s.healthz}, public: true},
		{path: "/metrics", methods: map[string]handler{http.MethodGet: s.serveMetrics}},
	} {
		allow := make([]string, 0, len(rt.methods))
		for method, h := range rt.methods {
			s.mux.Handle(method+" "+rt.path, s.adapt(rt.path, rt.public, h))
			allow = append(allow, method)
			if method == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		allowed := strings.Join(allow, ", ")
		// The method-less pattern catches every other method of the path.
		s.mux.Handle(rt.path, s.adapt(rt.path, rt.public, func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allowed)
			return &fault.Error{Code: methodNotAllowed,
				Message: "method " + r.Method + " is not allowed on " + r.URL.Path + "; use " + allowed}
		}))
	}
	s.mux.Handle("/", s.adapt("other", false, func(w http.ResponseWriter, r *http.Request) error {
		return fault.New(fault.NotFound, "no route %s %s", r.Method, r.URL.Path)
	}))
}

// methodNotAllowed is a code private to this package: fault has no code for it because only the
// router can produce it.
const methodNotAllowed fault.Code = "method_not_allowed"

// adapt turns a handler into an http.Handler: authentication, metrics, the request log, and the error
// envelope for a returned error (unless the handler already wrote a response, as a stream does).
func (s *Server) adapt(routeLabel string, public bool, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inFlight.Add(1)
		defer s.metrics.inFlight.Add(-1)
		rec := &recorder{ResponseWriter: w}
		var err error
		if !public && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="seance"`)
			err = fault.New(fault.Unauthorized, "missing or invalid API key: send Authorization: Bearer <key>")
		} else {
			err = h(rec, r)
		}
		if err != nil && !rec.wrote {
			s.writeError(rec, err)
		}
		elapsed := time.Since(start)
		status := rec.statusCode()
		s.metrics.observe(routeLabel, status, elapsed)
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "duration", elapsed}
		switch {
		case err != nil && (status >= 500 || rec.streamed):
			s.log.Warn("request failed", append(attrs, "err", err)...)
		case err != nil:
			s.log.Info("request rejected", append(attrs, "err", err)...)
		case public || routeLabel == "/metrics":
			s.log.Debug("request", attrs...) // probes and scrapes would drown the log
		default:
			s.log.Info("request", attrs...)
		}
	})
}

// authorized reports whether r carries one of the API keys (or none are configured). It compares
// SHA-256 digests in constant time and checks every key, so timing reveals neither key nor length.
func (s *Server) authorized(r *http.Request) bool {
	if len(s.keys) == 0 {
		return true
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "bearer ")
	}
	if !ok {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	match := 0
	for _, k := range s.keys {
		match |= subtle.ConstantTimeCompare(got[:], k[:])
	}
	return match == 1
}

// statusOf maps an error code to its HTTP status and the envelope's error type. It is the one place
// where fault codes become statuses.
func statusOf(code fault.Code) (status int, errType string) {
	switch code {
	case fault.Invalid, fault.ContextLength, fault.Unsupported:
		return http.StatusBadRequest, "invalid_request_error"
	case fault.Unauthorized:
		return http.StatusUnauthorized, "authentication_error"
	case fault.Forbidden:
		return http.StatusForbidden, "permission_error"
	case fault.Conflict:
		return http.StatusConflict, "invalid_request_error"
	case fault.NotFound:
		return http.StatusNotFound, "invalid_request_error"
	case methodNotAllowed:
		return http.StatusMethodNotAllowed, "invalid_request_error"
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge, "invalid_request_error"
	case fault.Unprocessable:
		return http.StatusUnprocessableEntity, "invalid_request_error"
	case fault.Overloaded:
		return http.StatusServiceUnavailable, "server_error"
	case fault.Upstream:
		return http.StatusBadGateway, "server_error"
	case fault.Timeout:
		return http.StatusGatewayTimeout, "server_error"
	case fault.Canceled:
		return statusClientClosed, ""
	}
	return http.StatusInternalServerError, "server_error"
}

// statusClientClosed is nginx's status for a client that closed the connection; it is only logged.
const statusClientClosed = 499

// envelope returns the error envelope of err and its HTTP status.
func envelope(err error) (int, *openai.ErrorResponse) {
	code := fault.CodeOf(err)
	status, typ := statusOf(code)
	return status, openai.NewError(fault.Message(err), typ, fault.ParamOf(err), string(code))
}

// writeError writes err as an error response.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	status, env := envelope(err)
	if status == statusClientClosed {
		w.WriteHeader(status) // nobody is listening; the status is for the log and metrics
		return
	}
	if status == http.StatusServiceUnavailable {
		secs := int((s.opts.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
	}
	writeJSON(w, status, env)
}

// writeJSON writes v as a JSON response. HTML characters are not escaped, as in the OpenAI API.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError,
			[]byte(`{"error":{"message":"internal error","type":"server_error","param":null,"code":"internal"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// marshal encodes v as JSON without HTML escaping and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

var _ http.Flusher = (*recorder)(nil)

// recorder remembers the status a handler wrote and whether it wrote anything.
type recorder struct {
	http.ResponseWriter
	status   int
	wrote    bool
	streamed bool // an SSE stream started: errors can no longer change the status
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) statusCode() int {
	if !r.wrote {
		return http.StatusOK
	}
	return r.status
}

// randomID returns prefix followed by 26 random base32 characters.
func randomID(prefix string) string { return prefix + rand.Text() }

// healthz reports that the server is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.opts.Version})
	return nil
}

// errClientGone reports a failed write to a client that went away.
var errClientGone = errors.New("client connection closed")
