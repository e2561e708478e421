package ollama

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/llm/llmtest"
)

const secretKey = "ollama-proxy-SECRET-42"

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		status int
		body   string
		code   fault.Code
		msg    string
	}{
		{400, `{"error":"invalid options: num_predcit"}`, fault.Invalid, "invalid options"},
		{400, `{"error":"the input length exceeds the context length"}`, fault.ContextLength, "exceeds the context length"},
		{401, `{"error":{"message":"bad key ollama-proxy-SECRET-42"}}`, fault.Unauthorized, "bad key [redacted]"},
		{404, `{"error":"model \"x\" not found, try pulling it first"}`, fault.NotFound, "try pulling"},
		{413, `too big`, fault.TooLarge, "too big"},
		{500, `{"error":"llama runner process has terminated: exit status 2"}`, fault.Upstream, "runner process has terminated"},
		{502, ``, fault.Upstream, "Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, err := New(Options{BaseURL: srv.URL, Model: "m", NumCtx: 512, MaxRetries: -1, APIKey: secretKey})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Chat(context.Background(), &chat.Request{Messages: hello}, nil)
			if fault.CodeOf(err) != tt.code || !strings.Contains(fault.Message(err), tt.msg) {
				t.Fatalf("err = %v (code %q), want %q containing %q", err, fault.CodeOf(err), tt.code, tt.msg)
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestOpenerDefaultsKeyAndLogprobs(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"num_ctx":3000`) || !strings.Contains(string(body), `"keep_alive":"1m"`) ||
			!strings.Contains(string(body), `"logprobs":true`) || !strings.Contains(string(body), `"top_logprobs":2`) {
			t.Errorf("request body = %s", body)
		}
		io.WriteString(w, `{"message":{"role":"assistant","content":"A"},"logprobs":[{"token":"A","logprob":-0.5,"bytes":[65],"top_logprobs":[{"token":"A","logprob":-0.5,"bytes":[65]},{"token":"B","logprob":-1.5,"bytes":[66]}]}],"done":false}`+"\n")
		io.WriteString(w, `{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}`+"\n")
	}))
	defer srv.Close()
	u, _ := url.Parse(strings.Replace(srv.URL, "http://", "ollama://", 1) + "/m:tag?keep_alive=1m")
	m, err := NewOpener(Options{NumCtx: 3000, APIKey: secretKey})(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	var rec llmtest.Recorder
	resp, err := m.Chat(context.Background(), &chat.Request{Messages: hello, Logprobs: true, TopLogprobs: 2}, rec.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer "+secretKey {
		t.Errorf("Authorization = %q", auth)
	}
	if len(resp.Logprobs) != 1 || len(resp.Logprobs[0].Top) != 2 || string(resp.Logprobs[0].Top[1].Bytes) != "B" || len(rec.Deltas()[0].Logprobs) != 1 {
		t.Errorf("logprobs = %+v", resp.Logprobs)
	}
	if info := m.(*Client).Describe(); info.ID != "m:tag" || info.ContextLength != 3000 || info.Backend != "ollama" {
		t.Errorf("info = %+v", info)
	}
}

func TestBrokenReplyBeforeOutputIsRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			io.WriteString(w, `{"message":{"role":"assistant","content":""},"done":false}`+"\n")
			return // ends before done: true
		}
		io.WriteString(w, `{"message":{"role":"assistant","content":"ok"},"done":true}`)
	}))
	defer srv.Close()
	c, _ := New(Options{BaseURL: srv.URL, Model: "m", NumCtx: 1, RetryDelay: time.Millisecond})
	var rec llmtest.Recorder
	resp, err := c.Chat(context.Background(), &chat.Request{Messages: hello}, rec.Stream)
	if err != nil || resp.Message.Content != "ok" || calls.Load() != 2 {
		t.Fatalf("resp %+v err %v calls %d", resp, err, calls.Load())
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so the server notices the client leaving
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release) // runs before srv.Close, which waits for the handler
	c, _ := New(Options{BaseURL: srv.URL, Model: "m", NumCtx: 1, Timeout: 100 * time.Millisecond})
	_, err := c.Chat(context.Background(), &chat.Request{Messages: hello}, nil)
	if fault.CodeOf(err) != fault.Timeout {
		t.Fatalf("err = %v (code %q)", err, fault.CodeOf(err))
	}
}

func TestCompactArgsAndParameterSize(t *testing.T) {
	for in, want := range map[string]string{`{"a": 1}`: `{"a":1}`, `"{\"b\": 2}"`: `{"b":2}`, `null`: `{}`, ``: `{}`} {
		if got := compactArgs([]byte(in)); got != want {
			t.Errorf("compactArgs(%s) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]int64{"8.0B": 8_000_000_000, "494.03M": 494_030_000, "1.2T": 1_200_000_000_000, "7K": 7000, "123": 123, "x": 0, "": 0} {
		if got := parseParameterSize(in); got != want {
			t.Errorf("parseParameterSize(%q) = %d, want %d", in, got, want)
		}
	}
}
