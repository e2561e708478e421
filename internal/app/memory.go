package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/memory"
	"github.com/seance-dev/seance/internal/memory/embed"
)

// MemoryPath returns the path of the embedded memory store, cfg.Home/memory.db.
func (a *App) MemoryPath() string { return filepath.Join(a.cfg.Home, "memory.db") }

// OpenMemory opens (creating if needed) the configured memory store: the embedded one by default,
// PostgreSQL when memory.store is postgres (see memorystore.go). The caller closes it.
func (a *App) OpenMemory(ctx context.Context) (MemoryStore, error) {
	return a.openMemoryStore(ctx)
}

// MemoryIngestOptions returns the ingest options the configuration implies: git provenance when a
// git program is installed.
func (a *App) MemoryIngestOptions() memory.Options {
	git, _ := exec.LookPath("git")
	return memory.Options{Git: git}
}

// MemoryEmbedder returns the embedder spec names: a folder holding Universal Sentence Encoder Lite
// (model.json, its shards and vocab.json) is loaded in-process; anything else is a model name or URL
// resolved like `seance ask -m`, which must offer embeddings (a backend's /v1/embeddings or the
// embedded engine), and whose vector length is learnt with one probe call.
func (a *App) MemoryEmbedder(ctx context.Context, spec string) (memory.Embedder, error) {
	if st, err := os.Stat(filepath.Join(spec, "model.json")); err == nil && !st.IsDir() {
		return embed.LoadUseLite(spec)
	}
	m, err := a.Model(ctx, spec)
	if err != nil {
		return nil, err
	}
	e, ok := m.(llm.Embedder)
	if !ok {
		return nil, fault.New(fault.Unsupported, "memory: model %s cannot embed texts", spec)
	}
	ref, err := a.Resolve(ctx, spec)
	if err != nil {
		ref = spec
	}
	return embed.Probe(ctx, e, ref)
}
