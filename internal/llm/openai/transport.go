package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/fault"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// retryable marks an attempt's failure as worth another attempt. after is the server's Retry-After
// (0 when it gave none).
type retryable struct {
	err   error
	after time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// retry runs attempt until it succeeds, fails for good, or the retries are used up. Only errors
// wrapped in *retryable are retried; the final error is returned without that wrapper.
func (c *Client) retry(ctx context.Context, op string, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		var r *retryable
		if err == nil || !errors.As(err, &r) {
			return err
		}
		if ctx.Err() != nil {
			return c.ctxError(ctx, op)
		}
		if n >= c.maxRetries {
			return r.err
		}
		delay := c.backoff(n, r.after)
		c.log.Warn("retrying model server call", "op", op, "attempt", n+1, "delay", delay, "err", r.err.Error())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return c.ctxError(ctx, op)
		case <-t.C:
		}
	}
}

// backoff returns the delay before retry n+1: the server's Retry-After when given (capped), else
// exponential backoff from RetryDelay with jitter in [d/2, d], capped at 16 × RetryDelay.
func (c *Client) backoff(n int, after time.Duration) time.Duration {
	if after > 0 {
		return min(after, c.maxRetryAfter)
	}
	d := c.retryDelay << min(n, 4)
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || s > 1e6 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
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
		return nil, &retryable{err: fault.Wrap(errors.New(c.redact(err.Error())), fault.Upstream,
			"cannot reach the model server")}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ferr := c.statusError(method, path, resp.StatusCode, data)
	if fault.CodeOf(ferr) == fault.Upstream && retryableStatus(resp.StatusCode) {
		return nil, &retryable{err: ferr, after: retryAfter(resp.Header, time.Now())}
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
