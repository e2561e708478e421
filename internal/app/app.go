// Package app is seance's composition root: it builds every component from a config.Config, owns
// their lifetimes, and is the only package that imports all the others. The CLI and end-to-end tests
// use the same App.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/config"
	"github.com/seance-dev/seance/internal/engine"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/httpapi"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/llm/catalog"
	"github.com/seance-dev/seance/internal/llm/embedded"
	"github.com/seance-dev/seance/internal/llm/ollama"
	"github.com/seance-dev/seance/internal/llm/openai"
)

// App holds the running components. Build it with New and release it with Close.
type App struct {
	cfg *config.Config
	log *slog.Logger
	reg llm.Registry

	mu     sync.Mutex
	opened map[string]llm.Model // by resolved reference
	closed bool

	runs  runRegistry // team runs, for their event streams
	tools *Tools      // the tool runtime agents with tools use (UseTools); nil: none

	groundMem MemoryStore // the memory grounded agents read, opened on first use (ground.go)
}

// New builds an App from cfg. It opens nothing yet: models are opened on first use.
func New(cfg *config.Config, log *slog.Logger) (*App, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, log: log, opened: map[string]llm.Model{}}
	a.reg.Register("gguf", a.openGGUF)
	a.reg.Register("openai+http", a.openOpenAI)
	a.reg.Register("openai+https", a.openOpenAI)
	a.reg.Register("ollama", a.openOllama)
	return a, nil
}

// Config returns the configuration the App was built from.
func (a *App) Config() *config.Config { return a.cfg }

// Logger returns the App's logger.
func (a *App) Logger() *slog.Logger { return a.log }

func (a *App) openGGUF(_ context.Context, u *url.URL) (llm.Model, error) {
	return embedded.Open(u.Path, engine.Options{
		Threads:       a.cfg.Engine.Threads,
		ContextLength: a.cfg.Engine.ContextLength,
		Float32Cache:  a.cfg.Engine.Float32Cache,
	})
}

func (a *App) openOpenAI(ctx context.Context, u *url.URL) (llm.Model, error) {
	ref := u.String()
	defaults := openai.Options{APIKey: a.cfg.APIKeyFor(ref).Reveal(), Logger: a.log}
	if b, ok := a.backendFor(ref); ok {
		defaults.Timeout, defaults.MaxRetries = b.Timeout, b.MaxRetries
	}
	return openai.NewOpener(defaults)(ctx, u)
}

func (a *App) openOllama(ctx context.Context, u *url.URL) (llm.Model, error) {
	if u.Host == "" && u.Opaque == "" {
		v := *u
		v.Host = a.cfg.Ollama.Host // ollama:///model uses the configured host
		u = &v
	}
	defaults := ollama.Options{NumCtx: a.cfg.Ollama.NumCtx, Logger: a.log}
	if b, ok := a.backendFor(u.String()); ok {
		defaults.Timeout, defaults.MaxRetries = b.Timeout, b.MaxRetries
	}
	return ollama.NewOpener(defaults)(ctx, u)
}

func (a *App) backendFor(ref string) (config.Backend, bool) {
	for _, b := range a.cfg.Backends {
		if strings.HasPrefix(ref, strings.TrimSuffix(b.URL, "/")) {
			return b, true
		}
	}
	return config.Backend{}, false
}

// Resolve turns a model name (an alias, a model found on disk, "backend/model" of a configured backend,
// or a reference) into a model reference.
func (a *App) Resolve(ctx context.Context, name string) (string, error) {
	if name == "" {
		name = a.cfg.DefaultModel
	}
	if ref, ok := a.cfg.Models[name]; ok {
		return ref, nil
	}
	for _, b := range a.cfg.Backends {
		if rest, ok := strings.CutPrefix(name, b.Name+"/"); ok && b.Name != "" {
			return backendModelRef(b.URL, rest), nil
		}
	}
	if _, err := llm.ParseRef(name); err == nil && (strings.Contains(name, ":") || strings.HasSuffix(name, ".gguf")) {
		return name, nil
	}
	entries, err := a.findLocal(false)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.ID == name && e.URL != "" {
			return e.URL, nil
		}
	}
	return "", fault.New(fault.NotFound, "model %q not found (see 'seance models')", name)
}

// backendModelRef names one model of a backend: openai URLs carry it in the fragment, ollama URLs in
// the path.
func backendModelRef(base, model string) string {
	base = strings.TrimSuffix(base, "/")
	if strings.HasPrefix(base, "ollama://") {
		return base + "/" + model
	}
	return base + "#" + model
}

// Model opens (or returns the already opened) model called name. Models stay open until Close.
func (a *App) Model(ctx context.Context, name string) (llm.Model, error) {
	if name == "" {
		name = a.cfg.DefaultModel
	}
	if _, alias := a.cfg.Models[name]; !alias {
		if m, ok, err := a.Team(ctx, name); ok || err != nil {
			return observed{m}, err
		}
		if m, ok, err := a.groundedAgent(ctx, name); ok || err != nil {
			return m, err
		}
	}
	ref, err := a.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	return a.open(ctx, ref)
}

// ModelStrict is Model for requests from the network: it accepts only aliases, models found in the
// configured folders and stores, and models of configured backends — never an arbitrary path or URL.
func (a *App) ModelStrict(ctx context.Context, name string) (llm.Model, error) {
	if _, ok := a.cfg.Models[name]; ok {
		return a.Model(ctx, name)
	}
	if m, ok, err := a.Team(ctx, name); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return observed{m}, nil
	}
	if m, ok, err := a.groundedAgent(ctx, name); ok || err != nil {
		return m, err
	}
	for _, b := range a.cfg.Backends {
		if rest, ok := strings.CutPrefix(name, b.Name+"/"); ok && b.Name != "" && rest != "" {
			return a.open(ctx, backendModelRef(b.URL, rest))
		}
	}
	entries, err := a.findLocal(false)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.ID == name && e.URL != "" {
			return a.open(ctx, e.URL)
		}
	}
	return nil, fault.New(fault.NotFound, "model %q not found", name)
}

func (a *App) open(ctx context.Context, ref string) (llm.Model, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, errors.New("app is closed")
	}
	if m, ok := a.opened[ref]; ok {
		return m, nil
	}
	m, err := a.reg.Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	a.opened[ref] = m
	return m, nil
}

// findLocal lists the GGUF files in the configured folders and stores; inspect reads each file's
// header too (for listings, not for lookups by name).
func (a *App) findLocal(inspect bool) ([]catalog.Entry, error) {
	opts := catalog.Options{
		Dirs:             a.cfg.ModelDirs,
		OllamaDir:        a.cfg.Ollama.ModelsDir,
		HuggingFaceCache: a.cfg.HuggingFaceCache,
	}
	if inspect {
		opts.Inspect = embedded.Inspect
	}
	return catalog.Find(opts)
}

// Models lists the models seance can serve: configured aliases, GGUF files found on disk, and (when
// remote is true) the models of configured backends. A backend that does not answer is logged and
// skipped.
func (a *App) Models(ctx context.Context, remote bool) ([]llm.Info, error) {
	var out []llm.Info
	seen := map[string]bool{}
	aliases := make([]string, 0, len(a.cfg.Models))
	for k := range a.cfg.Models {
		aliases = append(aliases, k)
	}
	sort.Strings(aliases)
	entries, err := a.findLocal(true)
	if err != nil {
		return nil, err
	}
	byURL := map[string]catalog.Entry{}
	for _, e := range entries {
		byURL[e.URL] = e
	}
	for _, k := range aliases {
		ref := a.cfg.Models[k]
		info := llm.Info{ID: k, URL: ref, Source: "config"}
		if u, err := llm.ParseRef(ref); err == nil && u.Scheme == "gguf" {
			info.Backend = "gguf"
			if e, ok := byURL["gguf:"+u.Path]; ok {
				info = e.Info
				info.ID, info.Source = k, "config"
			} else if err := embedded.Inspect(u.Path, &info); err != nil {
				a.log.Debug("alias points at an unreadable model", "alias", k, "err", err)
				continue
			}
		}
		seen[k] = true
		out = append(out, info)
	}
	for _, e := range entries {
		if e.Err != "" || seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		out = append(out, e.Info)
	}
	for _, t := range append(a.teamInfos(), a.groundedAgentInfos()...) {
		if !seen[t.ID] {
			seen[t.ID] = true
			out = append(out, t)
		}
	}
	if remote {
		for _, b := range a.cfg.Backends {
			out = append(out, a.backendModels(ctx, b)...)
		}
	}
	return out, nil
}

func (a *App) backendModels(ctx context.Context, b config.Backend) []llm.Info {
	m, err := a.open(ctx, b.URL)
	if err != nil {
		a.log.Warn("backend unavailable", "backend", b.Name, "err", err)
		return nil
	}
	lister, ok := m.(llm.Lister)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	infos, err := lister.ListModels(ctx)
	if err != nil {
		a.log.Warn("backend did not list its models", "backend", b.Name, "err", err)
		return nil
	}
	for i := range infos {
		if b.Name != "" {
			infos[i].ID = b.Name + "/" + infos[i].ID
		}
		infos[i].URL = backendModelRef(b.URL, strings.TrimPrefix(infos[i].ID, b.Name+"/"))
		infos[i].Source = b.URL
	}
	return infos
}

// Handler returns the HTTP API.
func (a *App) Handler(version string) http.Handler {
	keys := make([]string, len(a.cfg.Serve.APIKeys))
	for i, k := range a.cfg.Serve.APIKeys {
		keys[i] = k.Reveal()
	}
	approvers := make([]string, len(a.cfg.Serve.ApproverKeys))
	for i, k := range a.cfg.Serve.ApproverKeys {
		approvers[i] = k.Reveal()
	}
	if len(keys) > 0 {
		keys = append(keys, approvers...) // an approver key is also an API key
	}
	return httpapi.New(httpapi.Options{
		Models:        modelSource{a},
		APIKeys:       keys,
		MaxBodyBytes:  a.cfg.Serve.MaxBodyBytes,
		MaxConcurrent: a.cfg.Serve.MaxConcurrent,
		MaxQueue:      a.cfg.Serve.MaxQueue,
		Logger:        a.log.With("component", "http"),
		Version:       version,
		Runs:          runSource{a},
		Approvals:     approvalSource{a},
		ApproverKeys:  approvers,
	}).Handler()
}

// Serve serves the HTTP API on ln until ctx is canceled, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener, version string) error {
	srv := &http.Server{
		Handler:           a.Handler(version),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close closes every opened model.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	var errs []error
	for ref, m := range a.opened {
		if c, ok := m.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", ref, err))
			}
		}
		delete(a.opened, ref)
	}
	if a.groundMem != nil {
		if err := a.groundMem.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close the memory of grounded agents: %w", err))
		}
		a.groundMem = nil
	}
	return errors.Join(errs...)
}

// modelSource adapts the App to the HTTP API's model lookup.
type modelSource struct{ a *App }

func (s modelSource) Model(ctx context.Context, id string) (llm.Model, error) {
	m, err := s.a.ModelStrict(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.a.serveModel(id, m) // a team's or agent's runs may hold the tool workspace (serve_tools.go)
}

func (s modelSource) Models(ctx context.Context) ([]llm.Info, error) {
	return s.a.Models(ctx, true)
}
