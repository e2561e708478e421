package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/retry"
)

func TestErrorMessageForms(t *testing.T) {
	for _, tc := range []struct{ body, msg, typ string }{
		{`{"error":{"message":"bad model","type":"invalid_request_error","code":"model_not_found"}}`, "bad model", "invalid_request_error model_not_found"},
		{`{"error":{"message":"too long","code":400}}`, "too long", "400"},
		{`{"error":"model 'x' not found"}`, "model 'x' not found", ""},
		{`{"object":"error","message":"vllm says no","type":"BadRequestError"}`, "vllm says no", "BadRequestError"},
		{`{"detail":"Not Found"}`, "Not Found", ""},
		{`{"detail":[{"loc":["body"],"msg":"field required"}]}`, `[{"loc":["body"],"msg":"field required"}]`, ""},
		{"  <html>gateway</html> ", "<html>gateway</html>", ""},
		{strings.Repeat("x", 400), strings.Repeat("x", 300) + "…", ""},
	} {
		msg, typ := ErrorMessage([]byte(tc.body))
		if msg != tc.msg || typ != tc.typ {
			t.Errorf("ErrorMessage(%.40q) = %q, %q; want %q, %q", tc.body, msg, typ, tc.msg, tc.typ)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status int
		text   string
		want   fault.Code
	}{
		{400, "This model's maximum context length is 2048 tokens", fault.ContextLength},
		{400, "invalid_request_error context_length_exceeded", fault.ContextLength},
		{500, "the prompt exceeds the context window", fault.ContextLength},
		{401, "no key", fault.Unauthorized},
		{403, "", fault.Unauthorized},
		{404, "no such model", fault.NotFound},
		{413, "", fault.TooLarge},
		{408, "", fault.Upstream},
		{429, "slow down", fault.Upstream},
		{503, "", fault.Upstream},
		{422, "bad field", fault.Invalid},
	} {
		if got := Classify(tc.status, tc.text); got != tc.want {
			t.Errorf("Classify(%d, %q) = %s, want %s", tc.status, tc.text, got, tc.want)
		}
	}
}

func server(t *testing.T, h http.HandlerFunc) *Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &Server{HTTP: ts.Client(), Name: "the test server", APIKey: "sk-secret-key",
		URL: func(path string) string { return ts.URL + path },
		CtxError: func(ctx context.Context, op string) error {
			return fmt.Errorf("test %s: %w", op, ctx.Err())
		}}
}

func TestSendHeadersAndSuccess(t *testing.T) {
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk-secret-key" || r.Header.Get("Accept") != "text/event-stream" ||
			r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "seance" || r.URL.Path != "/v1/x" {
			http.Error(w, "bad headers", 400)
			return
		}
		fmt.Fprint(w, "ok")
	})
	resp, err := s.Send(context.Background(), "POST", "/v1/x", []byte(`{}`), "text/event-stream")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestSendClassifiesAndMarksRetries(t *testing.T) {
	status := 0
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2")
		w.WriteHeader(status)
		fmt.Fprint(w, `{"error":{"message":"key sk-secret-key is wrong or the server is busy"}}`)
	})
	for _, tc := range []struct {
		status    int
		code      fault.Code
		retryable bool
	}{{503, fault.Upstream, true}, {429, fault.Upstream, true}, {401, fault.Unauthorized, false}, {400, fault.Invalid, false}} {
		status = tc.status
		_, err := s.Send(context.Background(), "GET", "/m", nil, "application/json")
		var re *retry.Error
		if fault.CodeOf(err) != tc.code || errors.As(err, &re) != tc.retryable {
			t.Fatalf("status %d: %v (code %s)", tc.status, err, fault.CodeOf(err))
		}
		if tc.retryable && re.After != 2*time.Second {
			t.Fatalf("status %d: Retry-After %v", tc.status, re.After)
		}
		msg := fault.Message(err)
		if strings.Contains(err.Error(), "sk-secret-key") || strings.Contains(msg, "sk-secret-key") ||
			!strings.Contains(msg, "[redacted]") || !strings.Contains(msg, fmt.Sprintf("the test server answered %d", tc.status)) {
			t.Fatalf("status %d: message %q / %q", tc.status, msg, err)
		}
	}
}

func TestSendUnreachableAndCanceled(t *testing.T) {
	s := server(t, func(w http.ResponseWriter, r *http.Request) {})
	s.URL = func(path string) string { return "http://127.0.0.1:1" + path }
	_, err := s.Send(context.Background(), "GET", "/m", nil, "application/json")
	var re *retry.Error
	if !errors.As(err, &re) || fault.CodeOf(err) != fault.Upstream || !strings.Contains(fault.Message(err), "cannot reach the test server") {
		t.Fatalf("unreachable: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Send(ctx, "GET", "/m", nil, "application/json"); !errors.Is(err, context.Canceled) || errors.As(err, &re) {
		t.Fatalf("canceled: %v", err)
	}
}
