package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/llmtest"
)

const secretKey = "sk-test-SECRET-123456"

var hiRequest = &chat.Request{Messages: []chat.Message{{Role: chat.User, Content: "hi"}}}

const okBody = `{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"model":"m"}`

func newTestClient(t *testing.T, h http.HandlerFunc, opts Options) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opts.BaseURL = srv.URL + "/v1"
	if opts.RetryDelay == 0 {
		opts.RetryDelay = time.Millisecond
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetry429WithRetryAfterThenOK(t *testing.T) {
	var calls atomic.Int32
	var gap atomic.Int64
	var last atomic.Int64
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		if prev := last.Swap(now); prev != 0 {
			gap.Store(now - prev)
		}
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"slow down","type":"rate_limit_error"}}`)
			return
		}
		io.WriteString(w, okBody)
	}, Options{})
	resp, err := c.Chat(context.Background(), hiRequest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "ok" || calls.Load() != 2 {
		t.Fatalf("content %q after %d calls", resp.Message.Content, calls.Load())
	}
	if g := time.Duration(gap.Load()); g < 900*time.Millisecond {
		t.Errorf("retried after %v, want Retry-After's 1s honoured", g)
	}
}

func TestRetry503ExhaustedIsUpstream(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"message":"Loading model","type":"unavailable_error","code":503}}`)
	}, Options{MaxRetries: 2})
	_, err := c.Chat(context.Background(), hiRequest, nil)
	if fault.CodeOf(err) != fault.Upstream {
		t.Fatalf("code = %q (%v), want upstream", fault.CodeOf(err), err)
	}
	if calls.Load() != 3 {
		t.Errorf("server saw %d calls, want 3 (1 + 2 retries)", calls.Load())
	}
	if !strings.Contains(fault.Message(err), "Loading model") {
		t.Errorf("message %q lacks the upstream message", fault.Message(err))
	}
}

func TestNoRetriesWhenDisabled(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}, Options{MaxRetries: -1})
	_, err := c.Chat(context.Background(), hiRequest, nil)
	if fault.CodeOf(err) != fault.Upstream || calls.Load() != 1 {
		t.Fatalf("code %q after %d calls", fault.CodeOf(err), calls.Load())
	}
}

func TestConnectionRefusedRetriedThenUpstream(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	c, err := New(Options{BaseURL: addr + "/v1", RetryDelay: time.Millisecond, APIKey: secretKey})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat(context.Background(), hiRequest, nil)
	if fault.CodeOf(err) != fault.Upstream {
		t.Fatalf("code = %q (%v)", fault.CodeOf(err), err)
	}
	if strings.Contains(err.Error(), secretKey) {
		t.Fatalf("error leaks the API key: %v", err)
	}
}

// A stream that breaks before any delta reached the caller is retried; the retry succeeds.
func TestStreamBreakBeforeFirstDeltaIsRetried(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if calls.Add(1) == 1 {
			// Only a role chunk, then the connection dies mid-event.
			io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\ndata: {\"choi")
			w.(http.Flusher).Flush()
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("server cannot hijack")
				return
			}
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"fine\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}, Options{})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), hiRequest, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "fine" || rec.Content() != "fine" || calls.Load() != 2 {
		t.Fatalf("content %q streamed %q after %d calls", resp.Message.Content, rec.Content(), calls.Load())
	}
}

// Once a delta reached the caller, a broken stream is an error and is not retried.
func TestNoRetryAfterStreamStarted(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"partial\"}}]}\n\n")
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}, Options{})
	var rec llmtest.Recorder
	_, err := c.Chat(context.Background(), hiRequest, rec.Stream)
	if fault.CodeOf(err) != fault.Upstream {
		t.Fatalf("code = %q (%v), want upstream", fault.CodeOf(err), err)
	}
	if calls.Load() != 1 {
		t.Errorf("server saw %d calls, want 1: no retry once output was delivered", calls.Load())
	}
	if rec.Content() != "partial" {
		t.Errorf("streamed %q", rec.Content())
	}
}

// slowStream streams a delta every 20ms until the client goes away (or 10s pass), and reports
// when its handler returned.
func slowStream(done chan<- struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Content-Type", "text/event-stream")
		deadline := time.After(10 * time.Second)
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%d \"}}]}\n\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-deadline:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func TestCancelMidStreamReturnsPromptly(t *testing.T) {
	done := make(chan struct{})
	c := newTestClient(t, slowStream(done), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	var canceledAt time.Time
	stream := func(d chat.Delta) error {
		if n.Add(1) == 3 {
			canceledAt = time.Now()
			cancel()
		}
		return nil
	}
	_, err := c.Chat(ctx, hiRequest, stream)
	elapsed := time.Since(canceledAt)
	if !errors.Is(err, context.Canceled) || fault.CodeOf(err) != fault.Canceled {
		t.Fatalf("err = %v (code %q), want a wrapped context.Canceled", err, fault.CodeOf(err))
	}
	if elapsed > time.Second {
		t.Errorf("Chat returned %v after cancel, want promptly", elapsed)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Error("server handler still streaming 2s after cancel: the connection was not closed")
	}
}

func TestStreamCallbackErrorStops(t *testing.T) {
	done := make(chan struct{})
	c := newTestClient(t, slowStream(done), Options{})
	stop := errors.New("enough")
	_, err := c.Chat(context.Background(), hiRequest, func(chat.Delta) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's error", err)
	}
}

func TestTimeoutIsFaultTimeout(t *testing.T) {
	done := make(chan struct{})
	c := newTestClient(t, slowStream(done), Options{Timeout: 150 * time.Millisecond})
	start := time.Now()
	_, err := c.Chat(context.Background(), hiRequest, func(chat.Delta) error { return nil })
	if fault.CodeOf(err) != fault.Timeout {
		t.Fatalf("code = %q (%v), want timeout", fault.CodeOf(err), err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("timed out after %v", el)
	}
}

func TestTimeoutWaitingForHeaders(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, Options{Timeout: 100 * time.Millisecond})
	_, err := c.Chat(context.Background(), hiRequest, nil)
	if fault.CodeOf(err) != fault.Timeout {
		t.Fatalf("code = %q (%v), want timeout", fault.CodeOf(err), err)
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		status int
		body   string
		code   fault.Code
		msg    string
	}{
		{400, `{"error":{"message":"'messages' must not be empty","type":"invalid_request_error","param":"messages","code":null}}`, fault.Invalid, "'messages' must not be empty"},
		{422, `{"detail":[{"loc":["body","messages"],"msg":"field required"}]}`, fault.Invalid, "field required"},
		{401, `{"error":{"message":"Incorrect API key provided: sk-test-SECRET-123456","type":"invalid_request_error","code":"invalid_api_key"}}`, fault.Unauthorized, "Incorrect API key provided: [redacted]"},
		{403, `{"error":"forbidden"}`, fault.Unauthorized, "forbidden"},
		{404, `{"error":{"message":"model not found","type":"not_found_error"}}`, fault.NotFound, "model not found"},
		{413, `request entity too large`, fault.TooLarge, "request entity too large"},
		{400, `{"error":{"message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}`, fault.ContextLength, "maximum context length is 4096"},
		{400, `{"object":"error","message":"This model's maximum context length is 2048 tokens.","type":"BadRequestError","code":400}`, fault.ContextLength, "2048"},
		{500, `{"error":{"code":500,"message":"internal","type":"server_error"}}`, fault.Upstream, "internal"},
		{502, `<html>Bad gateway</html>`, fault.Upstream, "Bad gateway"},
		{418, ``, fault.Invalid, "I'm a teapot"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-%s", tt.status, tt.code), func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}, Options{APIKey: secretKey, MaxRetries: -1})
			_, err := c.Chat(context.Background(), hiRequest, nil)
			if fault.CodeOf(err) != tt.code {
				t.Fatalf("code = %q (%v), want %q", fault.CodeOf(err), err, tt.code)
			}
			if !strings.Contains(fault.Message(err), tt.msg) {
				t.Errorf("message %q does not contain %q", fault.Message(err), tt.msg)
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Errorf("error leaks the API key: %v", err)
			}
		})
	}
}

func TestInStreamError(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"error\":{\"code\":500,\"message\":\"the request exceeds the available context size\",\"type\":\"exceed_context_size_error\"}}\n\n")
	}, Options{MaxRetries: -1})
	_, err := c.Chat(context.Background(), hiRequest, func(chat.Delta) error { return nil })
	if fault.CodeOf(err) != fault.ContextLength {
		t.Fatalf("code = %q (%v)", fault.CodeOf(err), err)
	}
}

func TestAPIKeySentAsBearer(t *testing.T) {
	var auth, accept string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		auth, accept = r.Header.Get("Authorization"), r.Header.Get("Accept")
		io.WriteString(w, okBody)
	}, Options{APIKey: secretKey})
	if _, err := c.Chat(context.Background(), hiRequest, nil); err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer "+secretKey || accept != "application/json" {
		t.Errorf("Authorization = %q, Accept = %q", auth, accept)
	}
	c2 := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		io.WriteString(w, okBody)
	}, Options{})
	if _, err := c2.Chat(context.Background(), hiRequest, nil); err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		t.Errorf("Authorization sent without a key: %q", auth)
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in, base, model string
	}{
		{"openai+http://127.0.0.1:8080/v1#qwen2.5:0.5b", "http://127.0.0.1:8080/v1", "qwen2.5:0.5b"},
		{"openai+https://api.example.com/v1?model=gpt-4o-mini", "https://api.example.com/v1", "gpt-4o-mini"},
		{"openai+http://localhost:8000", "http://localhost:8000/v1", ""},
		{"OPENAI+HTTP://h:1/api/v1/?api-version=2024-10-01&model=m#Org/Model-7B", "http://h:1/api/v1/?api-version=2024-10-01", "Org/Model-7B"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := ParseURL(u)
		if err != nil {
			t.Fatalf("ParseURL(%q): %v", tt.in, err)
		}
		if opts.BaseURL != tt.base || opts.Model != tt.model {
			t.Errorf("ParseURL(%q) = %q, %q; want %q, %q", tt.in, opts.BaseURL, opts.Model, tt.base, tt.model)
		}
	}
	for _, bad := range []string{"openai+http://:key@host/v1", "openai+ftp://host/v1", "openai+http:///v1"} {
		u, err := url.Parse(bad)
		if err != nil {
			continue
		}
		if _, err := ParseURL(u); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("ParseURL(%q) err = %v, want invalid", bad, err)
		}
	}
}

func TestOpenerUsesDefaultsAndQuery(t *testing.T) {
	var path, query, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, query, auth = r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization")
		io.WriteString(w, okBody)
	}))
	defer srv.Close()
	u, _ := url.Parse(strings.Replace(srv.URL, "http://", "openai+http://", 1) + "/v1?api-version=1#m")
	m, err := NewOpener(Options{APIKey: secretKey})(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Chat(context.Background(), hiRequest, nil); err != nil {
		t.Fatal(err)
	}
	if path != "/v1/chat/completions" || query != "api-version=1" || auth != "Bearer "+secretKey {
		t.Errorf("path %q query %q auth %q", path, query, auth)
	}
	info := m.(*Client).Describe()
	if info.ID != "m" || info.Backend != "openai" || strings.Contains(info.URL, secretKey) {
		t.Errorf("info = %+v", info)
	}
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, b := range []string{"", "127.0.0.1:8080", "ftp://x/v1", "http://user:pw@h/v1"} {
		if _, err := New(Options{BaseURL: b}); fault.CodeOf(err) != fault.Invalid {
			t.Errorf("New(%q) err = %v, want invalid", b, err)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q) error leaks the password: %v", b, err)
		}
	}
}

func TestLogsNeverHoldTheKey(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"message":"key `+secretKey+` is over quota"}}`)
	}, Options{APIKey: secretKey, Logger: logger, MaxRetries: 1})
	_, err := c.Chat(context.Background(), hiRequest, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	mu.Lock()
	logs := buf.String()
	mu.Unlock()
	if !strings.Contains(logs, "retrying") || !strings.Contains(logs, "over quota") {
		t.Errorf("logs lack the retry: %s", logs)
	}
	if strings.Contains(logs, secretKey) || strings.Contains(err.Error(), secretKey) {
		t.Errorf("the API key leaked: logs %s err %v", logs, err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A seance server reports the FLOPs it spent in its "seance" extension (internal/openai.Accounting);
// the client carries them into Usage, streamed or not. Other servers' replies leave FLOPs 0.
func TestSeanceAccountingExtension(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"stream":true`) {
			io.WriteString(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],`+
				`"model":"team","usage":{"prompt_tokens":3,"completion_tokens":1},"seance":{"duration_ms":5,"flops":2.5e9}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\n"+
			"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"+
			"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1},\"seance\":{\"flops\":7e8}}\n\n"+
			"data: [DONE]\n\n")
	}, Options{})
	resp, err := c.Chat(context.Background(), hiRequest, nil)
	if err != nil || resp.Usage.FLOPs != 2.5e9 || resp.Usage.CompletionTokens != 1 {
		t.Fatalf("non-streamed: %+v %v", resp, err)
	}
	var rec llmtest.Recorder
	resp, err = c.Chat(context.Background(), hiRequest, rec.Stream)
	if err != nil || resp.Usage.FLOPs != 7e8 || rec.Content() != "ok" {
		t.Fatalf("streamed: %+v %v", resp, err)
	}
	plain := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, okBody) }, Options{})
	if resp, err := plain.Chat(context.Background(), hiRequest, nil); err != nil || resp.Usage.FLOPs != 0 {
		t.Fatalf("plain server: %+v %v", resp, err)
	}
}
