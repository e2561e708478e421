package ollama

import (
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
)

// contextSize returns the num_ctx to send for model (see the package comment for the order of
// sources). The result of /api/show is remembered per model; a failing /api/show is not an error
// here (the chat call that follows reports a missing model) and DefaultNumCtx is used.
func (c *Client) contextSize(ctx context.Context, model string) int {
	if c.numCtx > 0 {
		return c.numCtx
	}
	c.mu.Lock()
	n, ok := c.resolved[model]
	c.mu.Unlock()
	if ok {
		return n
	}
	n, err := c.showContext(ctx, model)
	if err != nil {
		c.log.Debug("cannot read the model's context length; using the default", "model", model, "num_ctx", DefaultNumCtx, "err", err.Error())
		return DefaultNumCtx
	}
	c.mu.Lock()
	c.resolved[model] = n
	c.mu.Unlock()
	return n
}

// showContext asks /api/show for the model's num_ctx parameter or context length.
func (c *Client) showContext(ctx context.Context, model string) (int, error) {
	body, _ := json.Marshal(map[string]string{"model": model})
	resp, err := c.send(ctx, "POST", "/api/show", body)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var reply struct {
		Parameters string                     `json:"parameters"`
		ModelInfo  map[string]json.RawMessage `json:"model_info"`
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(data, &reply); err != nil {
		return 0, err
	}
	return contextFromShow(reply.Parameters, reply.ModelInfo), nil
}

// contextFromShow picks num_ctx from /api/show's parameters text and model_info.
func contextFromShow(params string, info map[string]json.RawMessage) int {
	for _, line := range strings.Split(params, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "num_ctx" {
			if n, err := strconv.Atoi(f[1]); err == nil && n > 0 {
				return n
			}
		}
	}
	var arch string
	if raw, ok := info["general.architecture"]; ok {
		_ = json.Unmarshal(raw, &arch)
	}
	if raw, ok := info[arch+".context_length"]; ok && arch != "" {
		var n int
		if json.Unmarshal(raw, &n) == nil && n > 0 {
			return min(n, DefaultNumCtx)
		}
	}
	return DefaultNumCtx
}

// Embed returns one vector per input from /api/embed (llm.Embedder).
func (c *Client) Embed(ctx context.Context, inputs []string) ([][]float32, int, error) {
	if len(inputs) == 0 {
		return nil, 0, nil
	}
	model, err := c.modelFor("")
	if err != nil {
		return nil, 0, err
	}
	req := map[string]any{"model": model, "input": inputs}
	if c.keepAlive != "" {
		req["keep_alive"] = c.keepAlive
	}
	if c.numCtx > 0 {
		req["options"] = map[string]int{"num_ctx": c.numCtx}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, 0, fault.Wrap(err, fault.Invalid, "ollama backend: cannot encode embedding request")
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var reply struct {
		Embeddings      [][]float32 `json:"embeddings"`
		PromptEvalCount int         `json:"prompt_eval_count"`
	}
	if err := c.doJSON(ctx, "embed", "POST", "/api/embed", body, &reply); err != nil {
		return nil, 0, err
	}
	if len(reply.Embeddings) != len(inputs) {
		return nil, 0, fault.New(fault.Upstream, "ollama returned %d embeddings for %d inputs", len(reply.Embeddings), len(inputs))
	}
	return reply.Embeddings, reply.PromptEvalCount, nil
}

// ListModels lists the models the Ollama server has pulled, from /api/tags (llm.Lister).
func (c *Client) ListModels(ctx context.Context) ([]llm.Info, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var reply struct {
		Models []struct {
			Name       string    `json:"name"`
			Model      string    `json:"model"`
			ModifiedAt time.Time `json:"modified_at"`
			Size       int64     `json:"size"`
			Details    struct {
				Family            string `json:"family"`
				ParameterSize     string `json:"parameter_size"`
				QuantizationLevel string `json:"quantization_level"`
			} `json:"details"`
		} `json:"models"`
	}
	if err := c.doJSON(ctx, "tags", "GET", "/api/tags", nil, &reply); err != nil {
		return nil, err
	}
	host := "127.0.0.1:" + defaultPort
	scheme := "ollama"
	if u, err := url.Parse(c.base); err == nil {
		host = u.Host
		if u.Scheme == "https" {
			scheme = "ollama+https"
		}
	}
	infos := make([]llm.Info, 0, len(reply.Models))
	for _, m := range reply.Models {
		name := m.Name
		if name == "" {
			name = m.Model
		}
		infos = append(infos, llm.Info{
			ID:           name,
			URL:          scheme + "://" + host + "/" + name,
			Backend:      "ollama",
			Architecture: m.Details.Family,
			Parameters:   parseParameterSize(m.Details.ParameterSize),
			Quantization: m.Details.QuantizationLevel,
			Size:         m.Size,
			Modified:     m.ModifiedAt,
			Source:       "ollama",
		})
	}
	return infos, nil
}

// parseParameterSize reads Ollama's "8.0B", "494.03M", "1.2T" or a plain number.
func parseParameterSize(s string) int64 {
	s = strings.TrimSpace(strings.ToUpper(s))
	if s == "" {
		return 0
	}
	mult := 1.0
	switch s[len(s)-1] {
	case 'K':
		mult = 1e3
	case 'M':
		mult = 1e6
	case 'B':
		mult = 1e9
	case 'T':
		mult = 1e12
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0
	}
	return int64(f*mult + 0.5)
}
