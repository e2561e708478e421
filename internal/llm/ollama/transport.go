package ollama

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/retry"
)

const (
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

// send performs one request through the transport the remote backends share (internal/llm/remote)
// and returns the response when its status is 2xx; the caller closes the body.
func (c *Client) send(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	return c.srv.Send(ctx, method, path, body, "application/x-ndjson, application/json")
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
