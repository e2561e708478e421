package ollama

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

const (
	maxErrorBody  = 64 << 10
	maxReply      = 64 << 20
	maxRetryAfter = 30 * time.Second
)

// retry runs attempt under the client's retry policy (see internal/llm/retry).
func (c *Client) retry(ctx context.Context, op string, attempt func() error) error {
	return retry.Policy{
		Max: c.maxRetries, Delay: c.retryDelay, MaxAfter: maxRetryAfter, Log: c.log,
		Canceled: func() error { return c.ctxError(ctx, op) },
	}.Do(ctx, op, attempt)
}

// send performs one request and returns the response when its status is 2xx.
func (c *Client) send(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "ollama backend: cannot build request")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/x-ndjson, application/json")
	req.Header.Set("User-Agent", "seance")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.ctxError(ctx, path)
		}
		return nil, &retry.Error{Err: fault.Wrap(errors.New(c.redact(err.Error())), fault.Upstream, "cannot reach ollama")}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ferr := c.statusError(method, path, resp.StatusCode, data)
	if fault.CodeOf(ferr) == fault.Upstream && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) {
		return nil, &retry.Error{Err: ferr, After: retry.After(resp.Header, time.Now())}
	}
	return nil, ferr
}

// errorMessage extracts Ollama's {"error": "..."} (or an OpenAI-style object) from a body.
func errorMessage(data []byte) string {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil && len(env.Error) > 0 {
		var s string
		if json.Unmarshal(env.Error, &s) == nil {
			return s
		}
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(env.Error, &obj) == nil && obj.Message != "" {
			return obj.Message
		}
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	return text
}

var contextLengthHints = []string{"context length", "context window", "context size", "exceeds the context", "prompt is too long", "input is too long"}

func classify(status int, msg string) fault.Code {
	low := strings.ToLower(msg)
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
	case status == http.StatusTooManyRequests || status >= 500:
		return fault.Upstream
	case status >= 400:
		return fault.Invalid
	}
	return fault.Upstream
}

func (c *Client) statusError(method, path string, status int, data []byte) error {
	msg := c.redact(errorMessage(data))
	if msg == "" {
		msg = http.StatusText(status)
	}
	return fault.Wrap(fmt.Errorf("%s %s: status %d", method, c.base+path, status), classify(status, msg),
		"ollama error (%d): %s", status, msg)
}

// doJSON performs one request and decodes a JSON reply into v, with retries.
func (c *Client) doJSON(ctx context.Context, op, method, path string, body []byte, v any) error {
	return c.retry(ctx, op, func() error {
		resp, err := c.send(ctx, method, path, body)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
		if err != nil {
			if ctx.Err() != nil {
				return c.ctxError(ctx, op)
			}
			return &retry.Error{Err: fault.Wrap(errors.New(c.redact(err.Error())), fault.Upstream, "ollama broke off its reply")}
		}
		if err := json.Unmarshal(data, v); err != nil {
			return fault.Wrap(err, fault.Upstream, "ollama sent an unexpected reply to %s", path)
		}
		return nil
	})
}
