package llmtest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseFixture(t *testing.T) {
	f, err := ParseFixture([]byte("A comment.\n-- request --\nPOST /v1/x\n{\"a\": 1}\n-- response --\nHTTP/1.1 429 Too Many Requests\nRetry-After: 1\nX-Fixture-Line-Endings: crlf\n\nline1\nline2\n-- response --\nHTTP/1.1 200 OK\n\nok"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Comment != "A comment." || len(f.Exchanges) != 2 {
		t.Fatalf("fixture = %+v", f)
	}
	e := f.Exchanges[0]
	if e.Method != "POST" || e.Path != "/v1/x" || string(e.Expect) != `{"a": 1}` || e.Status != 429 ||
		e.Header.Get("Retry-After") != "1" || e.Header.Get("X-Fixture-Line-Endings") != "" || string(e.Body) != "line1\r\nline2\r\n" {
		t.Errorf("exchange 0 = %+v body %q", e, e.Body)
	}
	if f.Exchanges[1].Status != 200 || string(f.Exchanges[1].Body) != "ok" || f.Exchanges[1].Method != "" {
		t.Errorf("exchange 1 = %+v", f.Exchanges[1])
	}
	for _, bad := range []string{"", "-- request --\nPOST /x\n", "-- response --\nnot a status\n", "-- other --\n", "-- request --\nPOST /x\n{bad\n-- response --\nHTTP/1.1 200 OK\n\n"} {
		if _, err := ParseFixture([]byte(bad)); err == nil {
			t.Errorf("ParseFixture(%q) accepted a bad fixture", bad)
		}
	}
}

func TestMatchJSON(t *testing.T) {
	tests := []struct {
		want, got string
		ok        bool
	}{
		{`{"a":1}`, `{"a":1,"b":2}`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{`{"a":{"b":[1,{"c":true}]}}`, `{"a":{"b":[1,{"c":true,"d":0}],"e":1}}`, true},
		{`{"a":[1]}`, `{"a":[1,2]}`, false},
		{`{"a":"$absent"}`, `{"b":1}`, true},
		{`{"a":"$absent"}`, `{"a":null}`, false},
		{`{"a":null}`, `{}`, false},
	}
	for _, tt := range tests {
		if err := MatchJSON([]byte(tt.want), []byte(tt.got)); (err == nil) != tt.ok {
			t.Errorf("MatchJSON(%s, %s) = %v, want ok=%v", tt.want, tt.got, err, tt.ok)
		}
	}
}

func TestReplayServesInOrder(t *testing.T) {
	f, err := ParseFixture([]byte("-- request --\nGET /a\n-- response --\nHTTP/1.1 503 Service Unavailable\n\nbusy\n-- request --\nGET /a\n-- response --\nHTTP/1.1 200 OK\nContent-Type: text/plain\n\nfine"))
	if err != nil {
		t.Fatal(err)
	}
	s := Replay(t, f)
	for i, want := range []string{"busy\n", "fine"} {
		resp, err := http.Get(s.URL + "/a")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want {
			t.Errorf("response %d = %q, want %q", i, b, want)
		}
	}
	if s.Served() != 2 || len(s.Requests()) != 2 || !strings.HasPrefix(s.Requests()[0].Path, "/a") {
		t.Errorf("served %d, requests %+v", s.Served(), s.Requests())
	}
}
