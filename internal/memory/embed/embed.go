// Package embed adapts the embedders seance has to memory.Embedder: Universal Sentence Encoder Lite
// run in-process (memory/uselite) and any model with the llm.Embedder capability (a backend's
// /v1/embeddings, Ollama's /api/embed, or the embedded engine). internal/app builds one from the
// configuration and hands it to memory.Ingest and memory.Search.
package embed

import (
	"context"
	"fmt"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/uselite"
)

// Interface guards.
var (
	_ memory.Embedder = (*UseLite)(nil)
	_ memory.Embedder = (*Model)(nil)
)

// UseLiteName is the name under which USE-lite's vectors are stored.
const UseLiteName = "use-lite-en"

// UseLite is USE-lite as a memory.Embedder.
type UseLite struct {
	m *uselite.Model
}

// NewUseLite wraps a loaded USE-lite model.
func NewUseLite(m *uselite.Model) *UseLite { return &UseLite{m: m} }

// LoadUseLite loads USE-lite from dir (model.json, its weight shards and vocab.json).
func LoadUseLite(dir string) (*UseLite, error) {
	m, err := uselite.Load(dir)
	if err != nil {
		return nil, err
	}
	return NewUseLite(m), nil
}

// Embed returns one unit-length vector per text; USE-lite reads each text's first
// uselite.MaxTokens tokens.
func (u *UseLite) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return u.m.EmbedContext(ctx, texts)
}

// Dim returns uselite.Dim.
func (u *UseLite) Dim() int { return uselite.Dim }

// Name returns UseLiteName.
func (u *UseLite) Name() string { return UseLiteName }

// Model is a model with the llm.Embedder capability as a memory.Embedder.
type Model struct {
	m    llm.Embedder
	name string
	dim  int
}

// NewModel wraps m, whose vectors have dim values, under name (the model's URL or id: vectors are
// stored per name, so two models must not share one).
func NewModel(m llm.Embedder, name string, dim int) (*Model, error) {
	if name == "" || dim <= 0 {
		return nil, fault.Param("embedder", "memory: an embedding model needs a name and a positive dimension")
	}
	return &Model{m: m, name: name, dim: dim}, nil
}

// Probe wraps m under name after one call that learns the length of its vectors.
func Probe(ctx context.Context, m llm.Embedder, name string) (*Model, error) {
	vecs, _, err := m.Embed(ctx, []string{"dimension probe"})
	if err != nil {
		return nil, fmt.Errorf("memory: probe embedder %s: %w", name, err)
	}
	if len(vecs) != 1 || len(vecs[0]) == 0 {
		return nil, fault.New(fault.Upstream, "memory: embedder %s returned no vector for a probe", name)
	}
	return NewModel(m, name, len(vecs[0]))
}

// Embed returns the model's vectors, checking their count and length.
func (e *Model) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, _, err := e.m.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(texts) {
		return nil, fault.New(fault.Upstream, "memory: embedder %s returned %d vectors for %d texts", e.name, len(vecs), len(texts))
	}
	for _, v := range vecs {
		if len(v) != e.dim {
			return nil, fault.New(fault.Upstream, "memory: embedder %s returned a vector of %d values, want %d", e.name, len(v), e.dim)
		}
	}
	return vecs, nil
}

// Dim returns the length of the model's vectors.
func (e *Model) Dim() int { return e.dim }

// Name returns the name the model was wrapped under.
func (e *Model) Name() string { return e.name }
