// Package llm is the model contract of seance: one interface every backend implements (the embedded
// engine, OpenAI-compatible servers, Ollama), optional capabilities discovered by type assertion, and a
// registry that opens a model from a URL by its scheme.
//
// Backends live in subpackages (llm/openai, llm/ollama, llm/embedded) and are registered by
// internal/app; llm itself imports only chat and fault.
package llm

import (
	"context"
	"time"

	"github.com/seance-dev/seance/internal/chat"
)

// Model answers chat completions.
//
// Chat runs one completion of req. When stream is non-nil the backend calls it with each delta, in
// order, from the calling goroutine or one the backend owns, never concurrently; an error returned by
// stream aborts the completion and is returned. The returned Response always holds the complete
// result, streamed or not.
//
// Chat must return promptly with ctx.Err() (wrapped) when ctx is canceled, and must be safe for
// concurrent use. Errors are classified with internal/fault codes: fault.ContextLength for a prompt
// that does not fit, fault.Invalid for bad parameters, fault.Upstream for a failing remote server.
type Model interface {
	Chat(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error)
}

// Embedder is the optional capability to embed texts into vectors.
type Embedder interface {
	// Embed returns one vector per input, in order, and the prompt tokens it counted.
	Embed(ctx context.Context, inputs []string) (vectors [][]float32, promptTokens int, err error)
}

// Describer is the optional capability to describe the model behind a Model.
type Describer interface {
	Describe() Info
}

// Lister is the optional capability of a backend to list the models it serves (for `seance models`
// and /v1/models).
type Lister interface {
	ListModels(ctx context.Context) ([]Info, error)
}

// Info describes a model. Zero fields are unknown.
type Info struct {
	// ID is the name clients use (a team name, a model alias, a backend's model id).
	ID string
	// URL is the seance model URL that opens it (gguf:/path, openai+http://host/v1#model, ...).
	URL string
	// Backend names the backend kind: "gguf", "openai", "ollama".
	Backend string
	// Architecture, Parameters and ContextLength come from the model file when known.
	Architecture  string
	Parameters    int64
	ContextLength int
	// Quantization names the dominant tensor type ("Q8_0", "F16", ...).
	Quantization string
	Size         int64
	Modified     time.Time
	// Source says where it was found: "config", "folder", "ollama", "huggingface", a backend URL.
	Source string
}
