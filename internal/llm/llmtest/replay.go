// Package llmtest holds test helpers around the model contract: Scripted, a fake llm.Model that plays
// scripted turns for tests of code that drives models; and Replay, a server on 127.0.0.1 that serves
// recorded (or hand-written) HTTP exchanges from txtar-style fixtures for tests of the backends, and
// checks that the requests a backend sends match what each fixture expects. It is imported by tests
// only.
//
// A fixture file is a comment followed by sections, in the txtar layout ("-- name --" lines):
//
//	What this exchange reproduces.
//	-- request --
//	POST /v1/chat/completions
//	{"model": "m", "stream": true}
//	-- response --
//	HTTP/1.1 200 OK
//	Content-Type: text/event-stream
//
//	data: {...}
//
// The request section holds the method and path, then a JSON object the request body must contain
// (a subset match: every key given must be present with an equal value, and a key whose value is
// the string "$absent" must not be present; arrays must have the same length and match element by
// element). It may be empty but for the first line. The response
// section is a raw HTTP response: a status line, headers, a blank line, the body bytes exactly. The
// header X-Fixture-Line-Endings: crlf turns every "\n" of the body into "\r\n" (fixtures are stored
// with "\n"). request/response pairs may repeat; they are served in order.
//
// The replay server writes bodies line by line and flushes after each, so a streaming client sees
// the chunk boundaries a real server would produce.
package llmtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Exchange is one request expectation and the response served to it.
type Exchange struct {
	Method, Path string
	// Expect is the JSON the request body must contain; nil means no check of the body.
	Expect json.RawMessage
	Status int
	Header http.Header
	Body   []byte
}

// Fixture is a parsed fixture file.
type Fixture struct {
	Comment   string
	Exchanges []Exchange
}

// ParseFixture parses fixture text (see the package comment for the layout).
func ParseFixture(data []byte) (*Fixture, error) {
	f := &Fixture{}
	sections, comment := splitSections(data)
	f.Comment = comment
	var pending *Exchange
	for _, s := range sections {
		switch s.name {
		case "request":
			if pending != nil {
				return nil, fmt.Errorf("fixture: request without a response before %q", s.name)
			}
			ex, err := parseRequest(s.body)
			if err != nil {
				return nil, err
			}
			pending = &ex
		case "response":
			if pending == nil {
				pending = &Exchange{}
			}
			if err := parseResponse(s.body, pending); err != nil {
				return nil, err
			}
			f.Exchanges = append(f.Exchanges, *pending)
			pending = nil
		default:
			return nil, fmt.Errorf("fixture: unknown section %q", s.name)
		}
	}
	if pending != nil {
		return nil, fmt.Errorf("fixture: request without a response")
	}
	if len(f.Exchanges) == 0 {
		return nil, fmt.Errorf("fixture: no exchanges")
	}
	return f, nil
}

// LoadFixture reads and parses a fixture file, failing the test on error.
func LoadFixture(t testing.TB, path string) *Fixture {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	f, err := ParseFixture(data)
	if err != nil {
		t.Fatalf("parse fixture %s: %v", path, err)
	}
	return f
}

type section struct {
	name string
	body []byte
}

func splitSections(data []byte) ([]section, string) {
	var sections []section
	var comment []byte
	cur := -1
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		trimmed := strings.TrimRight(string(line), "\r\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			sections = append(sections, section{name: strings.TrimSpace(trimmed[3 : len(trimmed)-3])})
			cur = len(sections) - 1
			continue
		}
		if cur < 0 {
			comment = append(comment, line...)
		} else {
			sections[cur].body = append(sections[cur].body, line...)
		}
	}
	return sections, strings.TrimSpace(string(comment))
}

func parseRequest(body []byte) (Exchange, error) {
	first, rest, _ := bytes.Cut(body, []byte("\n"))
	method, path, ok := strings.Cut(strings.TrimSpace(string(first)), " ")
	if !ok {
		return Exchange{}, fmt.Errorf("fixture: request line %q is not \"METHOD /path\"", first)
	}
	ex := Exchange{Method: method, Path: strings.TrimSpace(path)}
	if rest = bytes.TrimSpace(rest); len(rest) > 0 {
		if !json.Valid(rest) {
			return Exchange{}, fmt.Errorf("fixture: request expectation for %s is not valid JSON", path)
		}
		ex.Expect = rest
	}
	return ex, nil
}

func parseResponse(body []byte, ex *Exchange) error {
	r := bufio.NewReader(bytes.NewReader(body))
	status, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("fixture: response has no status line")
	}
	fields := strings.Fields(status)
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		return fmt.Errorf("fixture: bad status line %q", status)
	}
	if ex.Status, err = strconv.Atoi(fields[1]); err != nil {
		return fmt.Errorf("fixture: bad status %q", fields[1])
	}
	ex.Header = http.Header{}
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Errorf("fixture: bad header line %q", line)
		}
		ex.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		if err != nil {
			break
		}
	}
	rest, _ := io.ReadAll(r)
	if strings.EqualFold(ex.Header.Get("X-Fixture-Line-Endings"), "crlf") {
		rest = bytes.ReplaceAll(rest, []byte("\n"), []byte("\r\n"))
	}
	ex.Header.Del("X-Fixture-Line-Endings")
	ex.Body = rest
	return nil
}

// Request is a request the replay server received.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Server serves a fixture's exchanges in order.
type Server struct {
	*httptest.Server
	t  testing.TB
	fx *Fixture

	mu       sync.Mutex
	next     int
	requests []Request
}

// Replay starts a server on 127.0.0.1 that answers the i-th request with the i-th exchange of f,
// reporting a test error for a request that does not match its expectation or that comes after the
// last exchange. The server is closed when the test ends.
func Replay(t testing.TB, f *Fixture) *Server {
	t.Helper()
	s := &Server{t: t, fx: f}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Served returns how many exchanges have been served.
func (s *Server) Served() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	i := s.next
	s.next++
	s.mu.Unlock()
	if i >= len(s.fx.Exchanges) {
		s.t.Errorf("replay: unexpected request %d: %s %s", i+1, r.Method, r.URL.Path)
		http.Error(w, "replay: no more exchanges", http.StatusTeapot)
		return
	}
	ex := s.fx.Exchanges[i]
	if ex.Method != "" && (r.Method != ex.Method || r.URL.Path != ex.Path) {
		s.t.Errorf("replay: request %d is %s %s, want %s %s", i+1, r.Method, r.URL.Path, ex.Method, ex.Path)
	}
	if ex.Expect != nil {
		if err := MatchJSON(ex.Expect, body); err != nil {
			s.t.Errorf("replay: request %d body: %v\nbody: %s", i+1, err, body)
		}
	}
	for k, vs := range ex.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(ex.Status)
	flusher, _ := w.(http.Flusher)
	data := ex.Body
	for len(data) > 0 {
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 {
			n = len(data)
		}
		if _, err := w.Write(data[:n]); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		data = data[n:]
	}
}

// Absent, as the value of a key in an expectation, requires the key not to be present.
const Absent = "$absent"

// MatchJSON reports whether got contains want: objects match when every key of want is in got with
// a matching value; arrays match element by element and must have the same length; other values
// must be equal.
func MatchJSON(want, got []byte) error {
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return fmt.Errorf("expectation: %w", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return match("$", w, g)
}

func match(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if wv == Absent {
				if ok {
					return fmt.Errorf("%s.%s: present (%v), want absent", path, k, gv)
				}
				continue
			}
			if !ok {
				return fmt.Errorf("%s.%s: missing", path, k)
			}
			if err := match(path+"."+k, wv, gv); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %d elements", path, got, len(w))
		}
		for i := range w {
			if err := match(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if !reflect.DeepEqual(want, got) {
		return fmt.Errorf("%s: got %v, want %v", path, got, want)
	}
	return nil
}
