package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm"
	"github.com/seance-dev/seance/internal/openai"
)

const hello = `{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`

func post(t *testing.T, url, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// errorOf decodes an error envelope, failing the test if the body is not one.
func errorOf(t *testing.T, resp *http.Response) openai.ErrorBody {
	t.Helper()
	var env openai.ErrorResponse
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &env); err != nil || env.Error.Message == "" || env.Error.Type == "" {
		t.Fatalf("status %d: body %q is not an error envelope (%v)", resp.StatusCode, body, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	return env.Error
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

func TestStatusOf(t *testing.T) {
	want := map[fault.Code]int{
		fault.Invalid: 400, fault.ContextLength: 400, fault.Unsupported: 400, fault.Unauthorized: 401,
		fault.NotFound: 404, fault.TooLarge: 413, fault.Unprocessable: 422, fault.Overloaded: 503,
		fault.Upstream: 502, fault.Timeout: 504, fault.Canceled: 499, fault.Internal: 500,
		methodNotAllowed: 405, fault.Code("something new"): 500,
	}
	for code, status := range want {
		if got, _ := statusOf(code); got != status {
			t.Errorf("statusOf(%q) = %d, want %d", code, got, status)
		}
	}
}

func TestChatErrors(t *testing.T) {
	failing := func(err error) llm.Model {
		return &fakeModel{chat: func(context.Context, *chat.Request, chat.StreamFunc) (*chat.Response, error) { return nil, err }}
	}
	models := map[string]llm.Model{
		"tiny":     &fakeModel{chat: scripted(contentTurn(), nil, nil)},
		"long":     failing(fmt.Errorf("engine: %w", &fault.Error{Code: fault.ContextLength, Message: "prompt has 9000 tokens, context is 2048", Param: "messages"})),
		"upstream": failing(fault.Wrap(errors.New("dial tcp: refused"), fault.Upstream, "backend unreachable")),
		"bug":      failing(errors.New("nil pointer somewhere /home/secret/path")),
		"slow":     failing(context.DeadlineExceeded),
		"corrupt":  failing(fault.New(fault.Unprocessable, "model file is corrupt")),
	}
	_, ts := newTestServer(t, Options{MaxBodyBytes: 1 << 10}, models)
	tests := []struct {
		name, body string
		status     int
		param      string
		code       string
	}{
		{"malformed", `{"model":`, 400, "<null>", "invalid_request"},
		{"wrong type", `{"model":"tiny","messages":[{"role":"user","content":"x"}],"n":"two"}`, 400, "n", "invalid_request"},
		{"out of range", `{"model":"tiny","messages":[{"role":"user","content":"x"}],"temperature":9}`, 400, "temperature", "invalid_request"},
		{"image", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}]}`, 400, "messages[0].content[0]", "unsupported"},
		{"unknown model", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "<null>", "not_found"},
		{"context length", `{"model":"long","messages":[{"role":"user","content":"x"}]}`, 400, "messages", "context_length_exceeded"},
		{"upstream", `{"model":"upstream","messages":[{"role":"user","content":"x"}]}`, 502, "<null>", "upstream"},
		{"internal", `{"model":"bug","messages":[{"role":"user","content":"x"}]}`, 500, "<null>", "internal"},
		{"timeout", `{"model":"slow","messages":[{"role":"user","content":"x"}]}`, 504, "<null>", "timeout"},
		{"unprocessable", `{"model":"corrupt","messages":[{"role":"user","content":"x"}]}`, 422, "<null>", "unprocessable"},
		{"too large", `{"model":"tiny","messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`, 413, "<null>", "too_large"},
		{"stream error before output", `{"model":"long","stream":true,"messages":[{"role":"user","content":"x"}]}`, 400, "messages", "context_length_exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, ts.URL+"/v1/chat/completions", tt.body, "Content-Type", "text/plain")
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			e := errorOf(t, resp)
			if str(e.Param) != tt.param || str(e.Code) != tt.code {
				t.Errorf("param, code = %q, %q; want %q, %q (message %q)", str(e.Param), str(e.Code), tt.param, tt.code, e.Message)
			}
			if strings.Contains(e.Message, "/home/secret") {
				t.Errorf("message leaks internal detail: %q", e.Message)
			}
		})
	}
}

func TestTooLargeChunkedBody(t *testing.T) {
	// Without Content-Length the limit is enforced while reading.
	_, ts := newTestServer(t, Options{MaxBodyBytes: 100}, map[string]llm.Model{"tiny": &fakeModel{chat: scripted(contentTurn(), nil, nil)}})
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"model":"tiny","messages":[{"role":"user","content":"` + strings.Repeat("y", 500) + `"}]}`))
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions", pr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("status = %d, want 413", resp.StatusCode)
	}
	errorOf(t, resp)
}

func TestRoutes(t *testing.T) {
	_, ts := newTestServer(t, Options{Version: "v1.2.3"}, map[string]llm.Model{"tiny": &fakeModel{chat: scripted(contentTurn(), nil, nil)}})
	do := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := do("GET", "/v1/nothing"); resp.StatusCode != 404 {
		t.Errorf("unknown route: %d", resp.StatusCode)
	} else {
		errorOf(t, resp)
	}
	resp := do("GET", "/v1/chat/completions")
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("wrong method: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	errorOf(t, resp)
	if resp := do("DELETE", "/v1/models"); resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("DELETE /v1/models: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp = do("GET", "/healthz")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"version":"v1.2.3"`) {
		t.Errorf("healthz: %d %s", resp.StatusCode, body)
	}
	resp = do("GET", "/v1/models/tiny")
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"tiny","object":"model"`) {
		t.Errorf("GET /v1/models/tiny: %d %s", resp.StatusCode, body)
	}
	resp = do("GET", "/v1/models/org/other")
	if resp.StatusCode != 404 {
		t.Errorf("unknown model: %d", resp.StatusCode)
	}
	if e := errorOf(t, resp); str(e.Param) != "model" {
		t.Errorf("unknown model param = %q", str(e.Param))
	}
}

func TestAuth(t *testing.T) {
	_, ts := newTestServer(t, Options{APIKeys: []string{"k1", "second-key"}},
		map[string]llm.Model{"tiny": &fakeModel{chat: scripted(contentTurn(), nil, nil)}})
	for _, tt := range []struct {
		auth   string
		status int
	}{
		{"", 401}, {"Bearer wrong", 401}, {"Bearer k", 401}, {"Basic k1", 401}, {"Bearer k1", 200}, {"Bearer second-key", 200},
	} {
		resp := post(t, ts.URL+"/v1/chat/completions", hello, "Authorization", tt.auth)
		if resp.StatusCode != tt.status {
			t.Errorf("Authorization %q: status %d, want %d", tt.auth, resp.StatusCode, tt.status)
		}
		if tt.status == 401 {
			if e := errorOf(t, resp); str(e.Code) != "unauthorized" || e.Type != "authentication_error" {
				t.Errorf("401 envelope %+v", e)
			}
		}
	}
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz needs no key, got %d", resp.StatusCode)
	}
	resp, err = http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("metrics without key: %d, want 401", resp.StatusCode)
	}
}

// readEvents reads SSE "data:" payloads until EOF.
func readEvents(t *testing.T, r io.Reader) []string {
	t.Helper()
	var events []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("unexpected SSE line %q", line)
		}
		events = append(events, data)
	}
	return events
}

func TestStreamErrorAfterStart(t *testing.T) {
	m := &fakeModel{chat: func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
		if err := stream(chat.Delta{Content: "partial"}); err != nil {
			return nil, err
		}
		return nil, fault.Wrap(errors.New("connection reset"), fault.Upstream, "backend failed mid-stream")
	}}
	_, ts := newTestServer(t, Options{}, map[string]llm.Model{"tiny": m})
	resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"tiny","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readEvents(t, resp.Body)
	if len(events) != 3 {
		t.Fatalf("events = %q, want role, content, error", events)
	}
	var env openai.ErrorResponse
	if err := json.Unmarshal([]byte(events[2]), &env); err != nil || str(env.Error.Code) != "upstream" ||
		env.Error.Message != "backend failed mid-stream" {
		t.Errorf("last event %s is not the upstream error envelope", events[2])
	}
}

func TestStreamReconcilesUnstreamedResponse(t *testing.T) {
	// A backend that streams nothing (or repairs tool calls at the end) still yields a whole stream.
	m := &fakeModel{chat: func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
		if err := stream(chat.Delta{Content: "Let me "}); err != nil {
			return nil, err
		}
		return &chat.Response{
			Message: chat.Message{Content: "Let me check.", ToolCalls: []chat.ToolCall{{Name: "lookup", Arguments: `{"q":1}`}}},
		}, nil
	}}
	s, ts := newTestServer(t, Options{}, map[string]llm.Model{"tiny": m})
	s.newID = func(prefix string) string { return prefix + "X" }
	resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"tiny","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	events := readEvents(t, resp.Body)
	joined := strings.Join(events, "\n")
	for _, want := range []string{
		`"delta":{"content":"Let me "}`,
		`"delta":{"content":"check.","tool_calls":[{"index":0,"id":"call_X","type":"function","function":{"name":"lookup","arguments":"{\"q\":1}"}}]}`,
		`"finish_reason":"tool_calls"`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("stream lacks %s:\n%s", want, joined)
		}
	}
	if events[len(events)-1] != "[DONE]" {
		t.Errorf("stream does not end with [DONE]")
	}
}

func TestChoicesUseSuccessiveSeeds(t *testing.T) {
	var seen []chat.Request
	var mu sync.Mutex
	_, ts := newTestServer(t, Options{}, map[string]llm.Model{"tiny": &fakeModel{chat: scripted(contentTurn(), &seen, &mu)}})
	resp := post(t, ts.URL+"/v1/chat/completions", `{"model":"tiny","n":3,"seed":41,"messages":[{"role":"user","content":"x"}]}`)
	var cc openai.ChatCompletion
	if err := json.NewDecoder(resp.Body).Decode(&cc); err != nil {
		t.Fatal(err)
	}
	if len(cc.Choices) != 3 || cc.Choices[2].Index != 2 {
		t.Fatalf("choices = %+v", cc.Choices)
	}
	if cc.Usage.PromptTokens != 7 || cc.Usage.CompletionTokens != 9 {
		t.Errorf("usage = %+v, want prompt 7 (once) and completion 9 (3×3)", cc.Usage)
	}
	if cc.Seance == nil || cc.Seance.DurationMS != 36 || cc.Seance.FLOPs != 4.5e9 {
		t.Errorf("seance accounting = %+v, want 36 ms and 4.5e9 FLOPs", cc.Seance)
	}
	for i, r := range seen {
		if r.Sampling.Seed == nil || *r.Sampling.Seed != int64(41+i) {
			t.Errorf("choice %d seed = %v, want %d", i, r.Sampling.Seed, 41+i)
		}
	}
}

func TestQueueFull(t *testing.T) {
	entered := make(chan struct{}, 4)
	unblock := make(chan struct{})
	m := &fakeModel{chat: func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
		entered <- struct{}{}
		select {
		case <-unblock:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &chat.Response{Message: chat.Message{Content: "ok"}}, nil
	}}
	s, ts := newTestServer(t, Options{MaxConcurrent: 1, MaxQueue: 1, RetryAfter: 2 * time.Second}, map[string]llm.Model{"tiny": m})

	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(hello))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
		if i == 0 {
			<-entered // the first request holds the only slot
		}
	}
	waitFor(t, func() bool { return s.limit.queued() == 1 })

	resp := post(t, ts.URL+"/v1/chat/completions", hello)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("third request: status %d, Retry-After %q; want 503, 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if e := errorOf(t, resp); str(e.Code) != "overloaded" {
		t.Errorf("503 code = %q", str(e.Code))
	}
	close(unblock)
	wg.Wait()
	if statuses[0] != 200 || statuses[1] != 200 {
		t.Errorf("queued requests ended with %v, want 200s", statuses)
	}
	metrics := getMetrics(t, ts.URL)
	for _, want := range []string{
		`seance_http_requests_total{route="/v1/chat/completions",code="200"} 2`,
		`seance_http_requests_total{route="/v1/chat/completions",code="503"} 1`,
		`seance_queue_depth 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func getMetrics(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("metrics Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return string(b)
}

func TestConcurrencyLimit(t *testing.T) {
	var running, peak atomic.Int64
	m := &fakeModel{chat: func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		return &chat.Response{Message: chat.Message{Content: "ok"}, Usage: chat.Usage{PromptTokens: 2, CompletionTokens: 1}}, nil
	}}
	_, ts := newTestServer(t, Options{MaxConcurrent: 2, MaxQueue: 20}, map[string]llm.Model{"tiny": m})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(hello))
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d requests failed", failed.Load())
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency = %d, want exactly MaxConcurrent = 2", p)
	}
	metrics := getMetrics(t, ts.URL)
	for _, want := range []string{
		`seance_prompt_tokens_total{model="tiny"} 20`,
		`seance_completion_tokens_total{model="tiny"} 10`,
		`seance_http_request_duration_seconds_count{route="/v1/chat/completions"} 10`,
		`seance_http_request_duration_seconds_bucket{route="/v1/chat/completions",le="+Inf"} 10`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
}

func TestClientDisconnectCancelsModel(t *testing.T) {
	canceled := make(chan error, 1)
	m := &fakeModel{chat: func(ctx context.Context, req *chat.Request, stream chat.StreamFunc) (*chat.Response, error) {
		for i := 0; ; i++ {
			if err := stream(chat.Delta{Content: "tok "}); err != nil {
				canceled <- err
				return nil, err
			}
			select {
			case <-ctx.Done():
				canceled <- ctx.Err()
				return nil, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}}
	_, ts := newTestServer(t, Options{}, map[string]llm.Model{"tiny": m})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"tiny","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	select {
	case err := <-canceled:
		if fault.CodeOf(err) != fault.Canceled {
			t.Errorf("model ended with %v, want a cancellation", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the model call was not canceled after the client disconnected")
	}
}

func TestServeShutsDownOnCancel(t *testing.T) {
	s := New(Options{Models: &fakeSource{}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestEmbeddingsUnsupported(t *testing.T) {
	_, ts := newTestServer(t, Options{}, map[string]llm.Model{"tiny": &fakeModel{chat: scripted(contentTurn(), nil, nil)}})
	resp := post(t, ts.URL+"/v1/embeddings", `{"model":"tiny","input":"x"}`)
	if resp.StatusCode != 400 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if e := errorOf(t, resp); str(e.Code) != "unsupported" || str(e.Param) != "model" {
		t.Errorf("envelope %+v", e)
	}
}
