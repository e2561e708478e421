package openai

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

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// retry runs attempt under the client's retry policy (see internal/llm/retry).
func (c *Client) retry(ctx context.Context, op string, attempt func() error) error {
	return retry.Policy{
		Max: c.maxRetries, Delay: c.retryDelay, MaxAfter: c.maxRetryAfter, Log: c.log,
		Canceled: func() error { return c.ctxError(ctx, op) },
	}.Do(ctx, op, attempt)
}

// send performs one HTTP request and returns the response when its status is 2xx. Failures are
// classified; those worth retrying are wrapped in *retryable. The caller closes the body.
func (c *Client) send(ctx context.Context, method, path string, body []byte, stream bool) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path), rd)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "openai backend: cannot build request")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", "seance")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.ctxError(ctx, path)
		}
		// url.Error names the URL (no credentials: the key travels in a header) and the cause.
		return nil, &retry.Error{Err: fault.Wrap(errors.New(c.redact(err.Error())), fault.Upstream,
			"cannot reach the model server")}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ferr := c.statusError(method, path, resp.StatusCode, data)
	if fault.CodeOf(ferr) == fault.Upstream && retryableStatus(resp.StatusCode) {
		return nil, &retry.Error{Err: ferr, After: retry.After(resp.Header, time.Now())}
	}
	return nil, ferr
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// errorBody is the OpenAI error object, with the variants other servers send.
type errorBody struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   string          `json:"param"`
	Code    json.RawMessage `json:"code"` // a string (OpenAI) or a number (llama.cpp, vLLM)
}

// errorEnvelope covers {"error": {...}}, {"error": "text"} (Ollama, older llama.cpp),
// {"object": "error", "message": ...} (vLLM) and {"detail": ...} (FastAPI servers).
type errorEnvelope struct {
	Error   json.RawMessage `json:"error"`
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Detail  json.RawMessage `json:"detail"`
}

// upstreamError extracts the message and type of an error response body.
func upstreamError(data []byte) (msg, typ string) {
	var env errorEnvelope
	if err := json.Unmarshal(data, &env); err == nil {
		if len(env.Error) > 0 {
			var b errorBody
			var s string
			switch {
			case json.Unmarshal(env.Error, &b) == nil && b.Message != "":
				return b.Message, b.Type + " " + strings.Trim(string(b.Code), `"`)
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
	"maximum context", "context size", "too many tokens", "prompt is too long", "input is too long",
	"exceeds the model's", "longer than the model",
}

// classify returns the fault code for an upstream status and message.
func classify(status int, msg, typ string) fault.Code {
	low := strings.ToLower(msg + " " + typ)
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
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return fault.Upstream
	case status >= 400:
		return fault.Invalid
	}
	return fault.Upstream
}

// statusError turns a non-2xx response into a classified error whose user-safe message carries the
// upstream message (with the API key redacted).
func (c *Client) statusError(method, path string, status int, data []byte) error {
	msg, typ := upstreamError(data)
	msg = c.redact(msg)
	if msg == "" {
		msg = http.StatusText(status)
	}
	code := classify(status, msg, typ)
	return fault.Wrap(fmt.Errorf("%s %s: status %d", method, c.base+path, status), code,
		"model server error (%d): %s", status, msg)
}
