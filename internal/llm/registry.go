package llm

import (
	"context"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/seance-dev/seance/internal/fault"
)

// Opener opens the model a URL names. The URL has already been parsed and its scheme matched.
type Opener func(ctx context.Context, u *url.URL) (Model, error)

// Registry maps URL schemes to Openers. It is a plain value built by internal/app; the zero value is
// empty and ready to use. It is not safe for concurrent Register calls.
type Registry struct {
	openers map[string]Opener
}

// Register adds the Opener for scheme (without "://", e.g. "gguf", "openai+http", "ollama").
func (r *Registry) Register(scheme string, open Opener) {
	if r.openers == nil {
		r.openers = make(map[string]Opener)
	}
	r.openers[strings.ToLower(scheme)] = open
}

// Schemes returns the registered schemes, sorted.
func (r *Registry) Schemes() []string {
	s := make([]string, 0, len(r.openers))
	for k := range r.openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Open opens the model named by ref: a URL with a registered scheme, or a file path (absolute, or
// relative, or ending in .gguf), which is opened as "gguf:" + path.
func (r *Registry) Open(ctx context.Context, ref string) (Model, error) {
	u, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	open, ok := r.openers[u.Scheme]
	if !ok {
		return nil, fault.New(fault.Invalid, "model %q: unknown scheme %q (known: %s)",
			ref, u.Scheme, strings.Join(r.Schemes(), ", "))
	}
	return open(ctx, u)
}

// ParseRef parses a model reference into a URL. Paths become gguf: URLs with an absolute path.
func ParseRef(ref string) (*url.URL, error) {
	if ref == "" {
		return nil, fault.New(fault.Invalid, "empty model reference")
	}
	if looksLikePath(ref) {
		abs, err := filepath.Abs(ref)
		if err != nil {
			return nil, fault.Wrap(err, fault.Invalid, "model path %q", ref)
		}
		return &url.URL{Scheme: "gguf", Path: abs}, nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil, fault.Wrap(err, fault.Invalid, "model reference %q is neither a path nor a URL", ref)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme == "gguf" && u.Path == "" && u.Opaque != "" {
		// gguf:relative/path.gguf
		abs, err := filepath.Abs(u.Opaque)
		if err != nil {
			return nil, fault.Wrap(err, fault.Invalid, "model path %q", u.Opaque)
		}
		u.Opaque, u.Path = "", abs
	}
	return u, nil
}

func looksLikePath(ref string) bool {
	if strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") {
		return true
	}
	return !strings.Contains(ref, ":") && strings.HasSuffix(strings.ToLower(ref), ".gguf")
}
