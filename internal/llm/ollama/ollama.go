// Package ollama is the llm.Model backend for Ollama's native API (/api/chat, /api/embed, /api/tags,
// /api/show), with plain net/http and encoding/json.
//
// Model URLs (registered by internal/app under the scheme "ollama"):
//
//	ollama://127.0.0.1:11434/llama3.2:1b       host, port and model:tag
//	ollama://gpu-box/qwen2.5:0.5b              port defaults to 11434
//	ollama:///qwen2.5:0.5b                     host defaults to 127.0.0.1:11434
//	ollama:///hf.co/org/repo:Q4_K_M?num_ctx=4096&keep_alive=10m
//
// The model is the URL path without its leading slash. The query may set num_ctx and keep_alive
// (see Options). "ollama+https://host/model" reaches an Ollama behind a TLS proxy.
//
// The context size. Ollama's own default num_ctx is small (2048 or 4096 depending on the version) and
// silently drops the start of longer prompts, so this backend always sends options.num_ctx
// explicitly: Options.NumCtx when set; otherwise the num_ctx the model's Modelfile sets (from
// /api/show "parameters"); otherwise the model's trained context length from /api/show "model_info"
// capped at DefaultNumCtx; otherwise DefaultNumCtx. /api/show is asked once per Client, on first use.
package ollama

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/llm/remote"
)

// Defaults for Options fields left zero.
const (
	DefaultBaseURL    = "http://127.0.0.1:11434"
	DefaultNumCtx     = 8192
	DefaultMaxRetries = 2
	DefaultRetryDelay = 500 * time.Millisecond
	defaultPort       = "11434"
)

// Options configure a Client. The zero value of each field means its documented default.
type Options struct {
	// BaseURL is the Ollama server, e.g. http://127.0.0.1:11434 (the default).
	BaseURL string
	// Model is the model:tag to run. When empty, chat.Request.Model is used.
	Model string
	// NumCtx is the context size sent as options.num_ctx. 0 means: the Modelfile's num_ctx, else the
	// model's context length capped at DefaultNumCtx, else DefaultNumCtx (see the package comment).
	NumCtx int
	// KeepAlive is passed through as keep_alive ("5m", "-1", "0"); empty leaves Ollama's default.
	KeepAlive string
	// APIKey, when set, is sent as a Bearer token (for an Ollama behind an authenticating proxy). It is
	// never logged and is redacted from upstream messages.
	APIKey string
	// HTTPClient sends the requests; nil means a client of its own with no overall timeout.
	HTTPClient *http.Client
	// Timeout bounds one whole call including retries and streaming; 0 means only the context.
	Timeout time.Duration
	// MaxRetries is how many times a call is retried after a 429, a 5xx or a connection failure before
	// any output reached the caller. 0 means DefaultMaxRetries; a negative value disables retries.
	MaxRetries int
	// RetryDelay is the base of the exponential backoff; 0 means DefaultRetryDelay.
	RetryDelay time.Duration
	// NoToolRepair turns off the repair of tool calls written as text (internal/llm/toolcalls).
	NoToolRepair bool
	// Logger receives retries and failures; nil discards.
	Logger *slog.Logger
}

// Client is an llm.Model backed by an Ollama server. It is safe for concurrent use.
type Client struct {
	srv        remote.Server // the shared HTTP transport
	base       string
	model      string
	numCtx     int
	keepAlive  string
	apiKey     string
	hc         *http.Client
	timeout    time.Duration
	maxRetries int
	retryDelay time.Duration
	repair     bool
	log        *slog.Logger
	rawURL     string

	mu       sync.Mutex
	resolved map[string]int // num_ctx per model, from /api/show
}

// Interface guards.
var (
	_ llm.Model     = (*Client)(nil)
	_ llm.Embedder  = (*Client)(nil)
	_ llm.Lister    = (*Client)(nil)
	_ llm.Describer = (*Client)(nil)
)

// New returns a Client for opts.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fault.New(fault.Invalid, "ollama backend: base URL must be an absolute http(s) URL without user info")
	}
	if opts.NumCtx < 0 {
		return nil, fault.Param("num_ctx", "ollama backend: num_ctx must not be negative")
	}
	c := &Client{
		base:       strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"),
		model:      opts.Model,
		numCtx:     opts.NumCtx,
		keepAlive:  opts.KeepAlive,
		apiKey:     opts.APIKey,
		hc:         opts.HTTPClient,
		timeout:    opts.Timeout,
		maxRetries: opts.MaxRetries,
		retryDelay: opts.RetryDelay,
		repair:     !opts.NoToolRepair,
		log:        opts.Logger,
		resolved:   map[string]int{},
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	c.srv = remote.Server{HTTP: c.hc, Name: "ollama", APIKey: c.apiKey, URL: func(path string) string { return c.base + path }, CtxError: c.ctxError}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.retryDelay <= 0 {
		c.retryDelay = DefaultRetryDelay
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "llm/ollama", "base", c.base)
	c.rawURL = "ollama://" + u.Host + "/" + c.model
	return c, nil
}

// ParseURL turns a seance model URL (ollama://host:port/model:tag, see the package comment) into
// Options with BaseURL, Model, NumCtx and KeepAlive set.
func ParseURL(u *url.URL) (Options, error) {
	scheme := "http"
	switch strings.ToLower(u.Scheme) {
	case "ollama", "ollama+http":
	case "ollama+https":
		scheme = "https"
	default:
		return Options{}, fault.New(fault.Invalid, "ollama backend: URL scheme %q is not ollama", u.Scheme)
	}
	if u.User != nil {
		return Options{}, fault.New(fault.Invalid, "ollama backend: model URL must not hold user info")
	}
	host := u.Host
	if host == "" {
		host = "127.0.0.1:" + defaultPort
	} else if u.Port() == "" {
		host = net.JoinHostPort(strings.Trim(u.Hostname(), "[]"), defaultPort)
	}
	model := strings.TrimPrefix(u.Path, "/")
	if model == "" && u.Opaque != "" {
		model = u.Opaque // ollama:model:tag
		host = "127.0.0.1:" + defaultPort
	}
	if model == "" {
		return Options{}, fault.New(fault.Invalid, "ollama backend: model URL %q names no model (want ollama://host:port/model:tag)", u.Redacted())
	}
	opts := Options{BaseURL: scheme + "://" + host, Model: model}
	q := u.Query()
	if v := q.Get("num_ctx"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return Options{}, fault.Param("num_ctx", "ollama backend: num_ctx %q is not a positive integer", v)
		}
		opts.NumCtx = n
	}
	opts.KeepAlive = q.Get("keep_alive")
	return opts, nil
}

// Open opens the model a seance URL names with default options. It has the shape of llm.Opener.
func Open(ctx context.Context, u *url.URL) (llm.Model, error) {
	return NewOpener(Options{})(ctx, u)
}

// NewOpener returns an llm.Opener that parses the URL and takes the other options (HTTP client,
// timeouts, logger, a default NumCtx or KeepAlive the URL does not set) from defaults.
func NewOpener(defaults Options) llm.Opener {
	return func(_ context.Context, u *url.URL) (llm.Model, error) {
		opts, err := ParseURL(u)
		if err != nil {
			return nil, err
		}
		d := defaults
		d.BaseURL, d.Model = opts.BaseURL, opts.Model
		if opts.NumCtx > 0 {
			d.NumCtx = opts.NumCtx
		}
		if opts.KeepAlive != "" {
			d.KeepAlive = opts.KeepAlive
		}
		c, err := New(d)
		if err != nil {
			return nil, err
		}
		c.rawURL = u.Redacted()
		return c, nil
	}
}

// Describe returns what the client knows about its model without asking the server.
func (c *Client) Describe() llm.Info {
	info := llm.Info{ID: c.model, URL: c.rawURL, Backend: "ollama", Source: c.base, ContextLength: c.numCtx}
	if info.ContextLength == 0 {
		c.mu.Lock()
		info.ContextLength = c.resolved[c.model]
		c.mu.Unlock()
	}
	return info
}

func (c *Client) modelFor(reqModel string) (string, error) {
	if c.model != "" {
		return c.model, nil
	}
	if reqModel != "" {
		return reqModel, nil
	}
	return "", fault.Param("model", "ollama backend: no model named (in the URL or the request)")
}

var errCallTimeout = fmt.Errorf("ollama backend: call timeout")

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout > 0 {
		return context.WithTimeoutCause(ctx, c.timeout, errCallTimeout)
	}
	return context.WithCancel(ctx)
}

func (c *Client) ctxError(ctx context.Context, op string) error {
	if context.Cause(ctx) == errCallTimeout {
		return fault.Wrap(context.DeadlineExceeded, fault.Timeout, "ollama did not finish %s within %s", op, c.timeout)
	}
	return fmt.Errorf("ollama %s: %w", op, ctx.Err())
}

// redact removes the API key from s.
func (c *Client) redact(s string) string { return c.srv.Redact(s) }
