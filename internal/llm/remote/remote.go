// Package remote is the HTTP plumbing the remote backends (internal/llm/openai, internal/llm/ollama)
// share: building and sending a request with its headers and API key, reading an error response in the
// forms servers send, classifying it with a fault code (a prompt that does not fit is
// fault.ContextLength whatever the server calls it), redacting the key from every message, and marking
// the failures worth a retry for internal/llm/retry.
package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/retry"
)

// MaxErrorBody bounds how much of an error response is read.
const MaxErrorBody = 64 << 10

// Server is how a backend reaches its server. The zero value is not usable: set HTTP, Name, URL and
// CtxError.
type Server struct {
	// HTTP sends the requests.
	HTTP *http.Client
	// Name is the server as messages call it ("the model server", "ollama").
	Name string
	// APIKey, when set, is sent as a bearer token and redacted from every message.
	APIKey string
	// URL returns the full URL of an endpoint path.
	URL func(path string) string
	// CtxError builds the error of an operation whose context ended (the backend knows its timeouts).
	CtxError func(ctx context.Context, op string) error
}

// Send performs one request (a JSON body when body is not nil, accepting accept) and returns the
// response when its status is 2xx; the caller closes its body. Failures are classified; those worth
// another attempt (the server unreachable, 408, 429, 5xx) are wrapped in *retry.Error with the
// server's Retry-After.
func (s *Server) Send(ctx context.Context, method, path string, body []byte, accept string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL(path), rd)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "cannot build a request to %s", s.Name)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "seance")
	if s.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+s.APIKey)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, s.CtxError(ctx, path)
		}
		// url.Error names the URL (no credentials: the key travels in a header) and the cause.
		return nil, &retry.Error{Err: fault.Wrap(errors.New(s.Redact(err.Error())), fault.Upstream, "cannot reach %s", s.Name)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	ferr := s.StatusError(method, path, resp.StatusCode, data)
	if fault.CodeOf(ferr) == fault.Upstream && retryable(resp.StatusCode) {
		return nil, &retry.Error{Err: ferr, After: retry.After(resp.Header, time.Now())}
	}
	return nil, ferr
}

func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// StatusError turns a non-2xx response into a classified error whose user-safe message carries the
// server's own message (with the API key redacted).
func (s *Server) StatusError(method, path string, status int, data []byte) error {
	msg, typ := ErrorMessage(data)
	msg = s.Redact(msg)
	if msg == "" {
		msg = http.StatusText(status)
	}
	return fault.Wrap(fmt.Errorf("%s %s: status %d", method, path, status), Classify(status, msg+" "+typ),
		"%s answered %d: %s", s.Name, status, msg)
}

// Redact removes the API key from text.
func (s *Server) Redact(text string) string {
	if len(s.APIKey) >= 4 {
		text = strings.ReplaceAll(text, s.APIKey, "[redacted]")
	}
	return text
}

// errorBody is the OpenAI error object, with the variants other servers send.
type errorBody struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   string          `json:"param"`
	Code    json.RawMessage `json:"code"` // a string (OpenAI) or a number (llama.cpp, vLLM)
}

// errorEnvelope covers {"error": {...}} (OpenAI), {"error": "text"} (Ollama, older llama.cpp),
// {"object": "error", "message": ...} (vLLM) and {"detail": ...} (FastAPI servers).
type errorEnvelope struct {
	Error   json.RawMessage `json:"error"`
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Detail  json.RawMessage `json:"detail"`
}

// ErrorMessage extracts the message and type (with the code, when there is one) of an error body; a
// body in none of the known forms is its own message, cut to 300 bytes.
func ErrorMessage(data []byte) (msg, typ string) {
	var env errorEnvelope
	if err := json.Unmarshal(data, &env); err == nil {
		if len(env.Error) > 0 {
			var b errorBody
			var s string
			switch {
			case json.Unmarshal(env.Error, &b) == nil && b.Message != "":
				return b.Message, strings.TrimSpace(b.Type + " " + strings.Trim(string(b.Code), `"`))
			case json.Unmarshal(env.Error, &s) == nil && s != "":
				return s, ""
			}
		}
		if env.Message != "" {
			return env.Message, env.Type
		}
		if len(env.Detail) > 0 {
			var s string
			if json.Unmarshal(env.Detail, &s) == nil {
				return s, ""
			}
			return string(env.Detail), ""
		}
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	return text, ""
}

// contextLengthHints are phrases servers use when a prompt does not fit.
var contextLengthHints = []string{
	"context_length_exceeded", "exceed_context_size", "context length", "context window",
	"maximum context", "context size", "exceeds the context", "too many tokens", "prompt is too long",
	"input is too long", "exceeds the model's", "longer than the model",
}

// Classify returns the fault code of an error a server answered with status and text (its message and
// type): fault.ContextLength when the text says the prompt does not fit, else by status.
func Classify(status int, text string) fault.Code {
	low := strings.ToLower(text)
	for _, h := range contextLengthHints {
		if strings.Contains(low, h) {
			return fault.ContextLength
		}
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fault.Unauthorized
	case status == http.StatusNotFound:
		return fault.NotFound
	case status == http.StatusRequestEntityTooLarge:
		return fault.TooLarge
	case retryable(status):
		return fault.Upstream
	case status >= 400:
		return fault.Invalid
	}
	return fault.Upstream
}
