// Package openai is the llm.Model backend for servers that speak the OpenAI chat completions API:
// llama.cpp's server, vLLM, LM Studio, LocalAI, Ollama's /v1 routes and hosted services.
//
// It uses plain net/http and encoding/json. It sends only the sampling fields a request sets, streams
// with server-sent events, tolerates the stream quirks of the common servers (parallel tool calls all
// sent with index 0, missing call ids, arguments as JSON objects, usage only in the last chunk or
// never), retries 429/5xx and connection failures before any output reached the caller, and repairs
// tool calls that small models write as text (see internal/llm/toolcalls).
//
// Requests use max_tokens (which llama.cpp, vLLM and hosted services all read) rather than
// max_completion_tokens. Sampling fields outside the OpenAI API — top_k, min_p, and the repetition
// penalty sent both as llama.cpp's repeat_penalty and vLLM's repetition_penalty — are sent only when the
// request sets them; local servers accept them, hosted services may reject them. reasoning_content from
// reasoning models is not mixed into the reply's content (chat has no field for it; it is dropped).
//
// Model URLs (registered by internal/app under the schemes "openai+http" and "openai+https"):
//
//	openai+http://127.0.0.1:8080/v1#qwen2.5-0.5b-instruct   model in the fragment
//	openai+https://api.example.com/v1?model=gpt-4o-mini      model in the query
//	openai+http://127.0.0.1:8080                              no path: "/v1" is used; no model: the request's
//
// The scheme's "openai+" prefix is dropped to get the base URL. Other query parameters stay on the base
// URL and are sent with every request (e.g. api-version). User info in the URL is refused: API keys come
// from configuration (Options.APIKey, or NewOpener's defaults), never from a URL that may be logged.
package openai

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/llm/remote"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxRetries    = 2
	DefaultRetryDelay    = 500 * time.Millisecond
	DefaultMaxRetryAfter = 30 * time.Second
)

// Options configure a Client. The zero value of each field means its documented default.
type Options struct {
	// BaseURL is the API root that /chat/completions is appended to, e.g. http://127.0.0.1:8080/v1.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>" when set. It is never logged, and any echo of it
	// in an upstream error message is redacted.
	APIKey string
	// Model is the server-side model name. When set it is sent instead of chat.Request.Model.
	Model string
	// HTTPClient sends the requests; nil means a client of its own with no overall timeout (streams
	// may last long; use Timeout or the context).
	HTTPClient *http.Client
	// Timeout bounds one whole call (Chat, Embed, ListModels) including retries and the streaming of
	// the reply; 0 means no limit beyond the caller's context. Exceeding it is a fault.Timeout.
	Timeout time.Duration
	// MaxRetries is how many times a call is retried after a 429, a 5xx or a connection failure
	// before any output reached the caller. 0 means DefaultMaxRetries; a negative value disables retries.
	MaxRetries int
	// RetryDelay is the base of the exponential backoff (with jitter); 0 means DefaultRetryDelay.
	RetryDelay time.Duration
	// MaxRetryAfter caps a server's Retry-After; 0 means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// NoToolRepair turns off the repair of tool calls written as text (internal/llm/toolcalls).
	NoToolRepair bool
	// Logger receives retries and upstream failures; nil discards. Prompts are never logged above
	// debug level and the API key never.
	Logger *slog.Logger
}

// Client is an llm.Model backed by an OpenAI-compatible server. It is safe for concurrent use.
type Client struct {
	srv           remote.Server // the shared HTTP transport
	base          string        // without a trailing slash
	baseQuery     url.Values
	apiKey        string
	model         string
	hc            *http.Client
	timeout       time.Duration
	maxRetries    int
	retryDelay    time.Duration
	maxRetryAfter time.Duration
	repair        bool
	log           *slog.Logger
	rawURL        string // the seance URL that opened the client, for Describe
}

// Interface guards.
var (
	_ llm.Model     = (*Client)(nil)
	_ llm.Embedder  = (*Client)(nil)
	_ llm.Lister    = (*Client)(nil)
	_ llm.Describer = (*Client)(nil)
)

// New returns a Client for opts. It fails with fault.Invalid when BaseURL is not an absolute http or
// https URL.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fault.New(fault.Invalid, "openai backend: base URL %q must be an absolute http(s) URL", redactURL(opts.BaseURL))
	}
	if u.User != nil {
		return nil, fault.New(fault.Invalid, "openai backend: base URL must not hold user info; pass the API key in the configuration")
	}
	c := &Client{
		baseQuery:     u.Query(),
		apiKey:        opts.APIKey,
		model:         opts.Model,
		hc:            opts.HTTPClient,
		timeout:       opts.Timeout,
		maxRetries:    opts.MaxRetries,
		retryDelay:    opts.RetryDelay,
		maxRetryAfter: opts.MaxRetryAfter,
		repair:        !opts.NoToolRepair,
		log:           opts.Logger,
	}
	u.RawQuery, u.Fragment = "", ""
	c.base = strings.TrimRight(u.String(), "/")
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	c.srv = remote.Server{HTTP: c.hc, Name: "the model server", APIKey: c.apiKey, URL: c.endpoint, CtxError: c.ctxError}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.retryDelay <= 0 {
		c.retryDelay = DefaultRetryDelay
	}
	if c.maxRetryAfter <= 0 {
		c.maxRetryAfter = DefaultMaxRetryAfter
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "llm/openai", "base", c.base)
	c.rawURL = "openai+" + c.base
	if c.model != "" {
		c.rawURL += "#" + c.model
	}
	return c, nil
}

// ParseURL turns a seance model URL (openai+http://… or openai+https://…, see the package comment)
// into Options with BaseURL and Model set.
func ParseURL(u *url.URL) (Options, error) {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "openai+http" && scheme != "openai+https" {
		return Options{}, fault.New(fault.Invalid, "openai backend: URL scheme %q is not openai+http or openai+https", u.Scheme)
	}
	if u.User != nil {
		return Options{}, fault.New(fault.Invalid, "openai backend: model URL must not hold user info; put the API key in the configuration")
	}
	if u.Host == "" {
		return Options{}, fault.New(fault.Invalid, "openai backend: model URL %q has no host", u.Redacted())
	}
	base := url.URL{Scheme: strings.TrimPrefix(scheme, "openai+"), Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	if strings.Trim(base.Path, "/") == "" {
		base.Path = "/v1"
	}
	q := u.Query()
	model := u.Fragment
	if model == "" {
		model = q.Get("model")
	}
	q.Del("model")
	base.RawQuery = q.Encode()
	return Options{BaseURL: base.String(), Model: model}, nil
}

// Open opens the model a seance URL names with default options. It has the shape of llm.Opener.
func Open(ctx context.Context, u *url.URL) (llm.Model, error) {
	return NewOpener(Options{})(ctx, u)
}

// NewOpener returns an llm.Opener that parses the URL and fills in the remaining options (API key,
// HTTP client, timeouts, logger) from defaults. internal/app registers it for "openai+http" and
// "openai+https".
func NewOpener(defaults Options) llm.Opener {
	return func(_ context.Context, u *url.URL) (llm.Model, error) {
		opts, err := ParseURL(u)
		if err != nil {
			return nil, err
		}
		d := defaults
		d.BaseURL, d.Model = opts.BaseURL, opts.Model
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
	return llm.Info{ID: c.model, URL: c.rawURL, Backend: "openai", Source: c.base}
}

// endpoint returns the full URL of an API path such as "/chat/completions".
func (c *Client) endpoint(path string) string {
	s := c.base + path
	if len(c.baseQuery) > 0 {
		s += "?" + c.baseQuery.Encode()
	}
	return s
}

// redact removes the API key from s.
func (c *Client) redact(s string) string { return c.srv.Redact(s) }

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// withTimeout applies Options.Timeout to ctx.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout > 0 {
		return context.WithTimeoutCause(ctx, c.timeout, errCallTimeout)
	}
	return context.WithCancel(ctx)
}

var errCallTimeout = fmt.Errorf("openai backend: call timeout")

// ctxError classifies a failure after ctx ended: the caller's cancellation or deadline is returned
// wrapped as is; the client's own Timeout becomes fault.Timeout.
func (c *Client) ctxError(ctx context.Context, op string) error {
	if context.Cause(ctx) == errCallTimeout {
		return fault.Wrap(context.DeadlineExceeded, fault.Timeout, "model server did not finish %s within %s", op, c.timeout)
	}
	return fmt.Errorf("openai %s: %w", op, ctx.Err())
}
