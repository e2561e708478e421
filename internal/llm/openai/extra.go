package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"sort"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/llm/retry"
)

// Embed returns one vector per input from the server's /embeddings route (llm.Embedder).
func (c *Client) Embed(ctx context.Context, inputs []string) ([][]float32, int, error) {
	if len(inputs) == 0 {
		return nil, 0, nil
	}
	body, err := json.Marshal(map[string]any{"model": c.model, "input": inputs, "encoding_format": "float"})
	if err != nil {
		return nil, 0, fault.Wrap(err, fault.Invalid, "openai backend: cannot encode embedding request")
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var reply struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
		Usage *wireUsage `json:"usage"`
	}
	err = c.retry(ctx, "embeddings", func() error {
		return c.getJSON(ctx, "POST", "/embeddings", body, &reply)
	})
	if err != nil {
		return nil, 0, err
	}
	if len(reply.Data) != len(inputs) {
		return nil, 0, fault.New(fault.Upstream, "model server returned %d embeddings for %d inputs", len(reply.Data), len(inputs))
	}
	sort.SliceStable(reply.Data, func(i, j int) bool { return reply.Data[i].Index < reply.Data[j].Index })
	out := make([][]float32, len(reply.Data))
	for i, d := range reply.Data {
		out[i] = d.Embedding
	}
	tokens := 0
	if reply.Usage != nil {
		tokens = reply.Usage.PromptTokens
	}
	return out, tokens, nil
}

// ListModels lists the server's models from GET /models (llm.Lister). llama.cpp's extra "meta"
// object fills in the context length, parameter count and size when present.
func (c *Client) ListModels(ctx context.Context) ([]llm.Info, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var reply struct {
		Data []struct {
			ID      string `json:"id"`
			Created int64  `json:"created"`
			OwnedBy string `json:"owned_by"`
			Meta    *struct {
				NCtxTrain int   `json:"n_ctx_train"`
				NParams   int64 `json:"n_params"`
				Size      int64 `json:"size"`
			} `json:"meta"`
		} `json:"data"`
	}
	if err := c.retry(ctx, "models", func() error { return c.getJSON(ctx, "GET", "/models", nil, &reply) }); err != nil {
		return nil, err
	}
	scheme := "openai+http"
	if u, err := url.Parse(c.base); err == nil && u.Scheme == "https" {
		scheme = "openai+https"
	}
	infos := make([]llm.Info, 0, len(reply.Data))
	for _, m := range reply.Data {
		info := llm.Info{ID: m.ID, Backend: "openai", Source: c.base}
		if u, err := url.Parse(c.base); err == nil {
			u.Scheme = scheme
			u.Fragment = m.ID
			info.URL = u.String()
		}
		if m.Created > 0 {
			info.Modified = time.Unix(m.Created, 0).UTC()
		}
		if m.Meta != nil {
			info.ContextLength, info.Parameters, info.Size = m.Meta.NCtxTrain, m.Meta.NParams, m.Meta.Size
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// getJSON performs one request and decodes a JSON reply into v.
func (c *Client) getJSON(ctx context.Context, method, path string, body []byte, v any) error {
	resp, err := c.send(ctx, method, path, body, false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		if ctx.Err() != nil {
			return c.ctxError(ctx, path)
		}
		return &retry.Error{Err: fault.Wrap(errors.New(c.redact(err.Error())), fault.Upstream, "model server broke off its reply")}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fault.Wrap(err, fault.Upstream, "model server sent an unexpected reply to %s", path)
	}
	return nil
}
