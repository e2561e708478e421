package openai

import (
	"context"
	"net/http"

	"github.com/seance-dev/seance/internal/llm/retry"
)

// retry runs attempt under the client's retry policy (see internal/llm/retry).
func (c *Client) retry(ctx context.Context, op string, attempt func() error) error {
	return retry.Policy{
		Max: c.maxRetries, Delay: c.retryDelay, MaxAfter: c.maxRetryAfter, Log: c.log,
		Canceled: func() error { return c.ctxError(ctx, op) },
	}.Do(ctx, op, attempt)
}

// send performs one HTTP request through the transport the remote backends share
// (internal/llm/remote) and returns the response when its status is 2xx; the caller closes the body.
func (c *Client) send(ctx context.Context, method, path string, body []byte, stream bool) (*http.Response, error) {
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	return c.srv.Send(ctx, method, path, body, accept)
}
