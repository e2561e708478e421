package netproxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAllowList(t *testing.T) {
	list, err := ParseAllowList([]string{"example.org", "*.golang.org", "api.test:8443", "127.0.0.1:8080", "::1", "[fe80::1]:80", "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host string
		port int
		want bool
	}{
		{"example.org", 443, true},
		{"EXAMPLE.org.", 80, true},
		{"www.example.org", 443, false},
		{"go.golang.org", 443, true},
		{"golang.org", 443, false},
		{"evilgolang.org", 443, false},
		{"api.test", 8443, true},
		{"api.test", 443, false},
		{"127.0.0.1", 8080, true},
		{"127.0.0.1", 8081, false},
		{"::1", 1, true},
		{"[::1]", 1, true},
		{"::ffff:127.0.0.1", 8080, true},
		{"fe80::1", 80, true},
		{"fe80::1", 81, false},
		{"", 80, false},
	} {
		if got := list.AllowsHost(c.host, c.port); got != c.want {
			t.Errorf("AllowsHost(%q, %d) = %v, want %v", c.host, c.port, got, c.want)
		}
	}
	for _, c := range []struct {
		ip   string
		port int
		want bool
	}{
		{"93.184.216.34", 443, true},
		{"2606:2800:220:1:248:1893:25c8:1946", 443, true},
		{"127.0.0.1", 8080, true},      // named literally
		{"127.0.0.1", 9, false},        // named, other port
		{"127.0.0.2", 8080, false},     // loopback, not named
		{"169.254.169.254", 80, false}, // metadata service
		{"10.0.0.1", 22, true},         // named literally
		{"10.0.0.2", 22, false},
		{"192.168.1.1", 80, false},
		{"100.64.0.1", 80, false},
		{"0.0.0.0", 80, false},
		{"::", 80, false},
		{"fd00::1", 80, false},
		{"64:ff9b::7f00:1", 80, false},
		{"::ffff:169.254.169.254", 80, false},
		{"224.0.0.1", 80, false},
	} {
		if got := list.AllowsAddr(netip.MustParseAddr(c.ip), c.port); got != c.want {
			t.Errorf("AllowsAddr(%s, %d) = %v, want %v", c.ip, c.port, got, c.want)
		}
	}
	for _, bad := range []string{"", " example.org", "exa mple.org", "example.org:0", "example.org:99999", "example.org:http", "*.", "a..b", "-a.org", "http://x", "fe80::1%eth0"} {
		if _, err := ParseAllowList([]string{bad}); err == nil {
			t.Errorf("ParseAllowList(%q) accepted", bad)
		}
	}
	if !(AllowList{}).Empty() || list.Empty() {
		t.Error("Empty is wrong")
	}
}

// fakeResolver answers every name with fixed addresses.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// harness is a proxy served on 127.0.0.1 with its attempts recorded.
type harness struct {
	addr     string
	mu       sync.Mutex
	attempts []Attempt
	p        *Proxy
	done     chan error
	cancel   context.CancelFunc
}

func serve(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{done: make(chan error, 1)}
	cfg.Log = func(a Attempt) {
		h.mu.Lock()
		h.attempts = append(h.attempts, a)
		h.mu.Unlock()
	}
	h.p = New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	return h
}

func (h *harness) log() []Attempt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Attempt(nil), h.attempts...)
}

// waitLog waits until n attempts were logged.
func (h *harness) waitLog(t *testing.T, n int) []Attempt {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if l := h.log(); len(l) >= n {
			return l
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d attempts logged, want %d: %+v", len(h.log()), n, h.log())
	return nil
}

// raw sends a request head to the proxy and returns the status line and the rest.
func (h *harness) raw(t *testing.T, req string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the proxy's answer to %q: %v", req, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type counter struct {
	srv  *httptest.Server
	port int
	hits atomic.Int32
	host atomic.Value
}

func newCounter(t *testing.T) *counter {
	t.Helper()
	c := &counter{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		c.host.Store(r.Host)
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "hello %s %d", r.URL.Path, len(b))
	}))
	t.Cleanup(c.srv.Close)
	c.port = c.srv.Listener.Addr().(*net.TCPAddr).Port
	return c
}

func TestForwardAndConnect(t *testing.T) {
	t.Parallel()
	ok, other := newCounter(t), newCounter(t)
	allowEntry := "127.0.0.1:" + strconv.Itoa(ok.port)
	list, err := ParseAllowList([]string{allowEntry, "allowed.test"})
	if err != nil {
		t.Fatal(err)
	}
	res := fakeResolver{
		"allowed.test":  {netip.MustParseAddr("127.0.0.1")},       // an allowed name rebinding to loopback
		"metadata.test": {netip.MustParseAddr("169.254.169.254")}, // not allowed at all
	}
	h := serve(t, Config{Allow: list, Resolver: res})

	// A plain-HTTP request in absolute form with a body.
	status, body := h.raw(t, "POST http://"+allowEntry+"/p HTTP/1.1\r\nHost: "+allowEntry+"\r\nContent-Length: 5\r\n\r\nhello")
	if status != 200 || body != "hello /p 5" {
		t.Errorf("forwarded POST: %d %q", status, body)
	}
	// A Host header naming another host does not change which virtual host is asked.
	status, body = h.raw(t, "GET http://"+allowEntry+"/h HTTP/1.1\r\nHost: metadata.test\r\n\r\n")
	if got, _ := ok.host.Load().(string); status != 200 || got != allowEntry {
		t.Errorf("Host header trick: %d %q, the target saw Host %q, want %q", status, body, got, allowEntry)
	}
	// CONNECT, then HTTP inside the tunnel.
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\nGET /early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", allowEntry, allowEntry)
	all, _ := io.ReadAll(c)
	c.Close()
	if !strings.HasPrefix(string(all), "HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK") || !strings.Contains(string(all), "hello /early 0") {
		t.Errorf("CONNECT tunnel answered %q", all)
	}

	for _, c := range []struct {
		name, req string
		status    int
	}{
		{"CONNECT to a port not on the list", "CONNECT 127.0.0.1:" + strconv.Itoa(other.port) + " HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"absolute URI to another port", "GET http://127.0.0.1:" + strconv.Itoa(other.port) + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + strconv.Itoa(other.port) + "\r\n\r\n", 403},
		{"Host header naming the allowed host", "GET http://127.0.0.1:" + strconv.Itoa(other.port) + "/ HTTP/1.1\r\nHost: " + allowEntry + "\r\n\r\n", 403},
		{"origin form with an allowed Host header", "GET / HTTP/1.1\r\nHost: " + allowEntry + "\r\n\r\n", 400},
		{"allowed name rebinding to loopback", "CONNECT allowed.test:" + strconv.Itoa(other.port) + " HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"name not on the list", "CONNECT metadata.test:80 HTTP/1.1\r\nHost: x\r\n\r\n", 403},
		{"metadata address", "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n", 403},
		{"https in absolute form", "GET https://" + allowEntry + "/ HTTP/1.1\r\nHost: " + allowEntry + "\r\n\r\n", 400},
		{"user information", "GET http://u:p@" + allowEntry + "/ HTTP/1.1\r\nHost: " + allowEntry + "\r\n\r\n", 400},
		{"CONNECT without a port", "CONNECT 127.0.0.1 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 hello\r\n\r\n", 400},
	} {
		if status, body := h.raw(t, c.req); status != c.status {
			t.Errorf("%s: %d %q, want %d", c.name, status, body, c.status)
		}
	}
	if n := other.hits.Load(); n != 0 {
		t.Errorf("the host not on the list was reached %d times", n)
	}
	if n := ok.hits.Load(); n != 3 {
		t.Errorf("the allowed host saw %d requests, want 3", n)
	}
	log := h.waitLog(t, 14)
	var allowed, refused int
	for _, a := range log {
		if a.Allowed {
			allowed++
			if a.Port != ok.port || a.Up == 0 || a.Down == 0 || a.Addr.Port() != uint16(ok.port) {
				t.Errorf("allowed attempt without its counts: %+v", a)
			}
		} else {
			refused++
			if a.Reason == "" {
				t.Errorf("refused attempt without a reason: %+v", a)
			}
		}
	}
	if tot := h.p.Totals(); allowed != 3 || refused != 11 || tot.Allowed != 3 || tot.Refused != 11 || tot.Up == 0 || tot.Down == 0 {
		t.Errorf("%d allowed, %d refused, totals %+v; want 3 and 11", allowed, refused, tot)
	}
}

func TestServeEndsConnections(t *testing.T) {
	t.Parallel()
	// A target that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	list, _ := ParseAllowList([]string{ln.Addr().String()})
	h := serve(t, Config{Allow: list})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\n\r\n", ln.Addr())
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "200") {
		t.Fatalf("CONNECT: %q %v", line, err)
	}
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return with an open tunnel")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(br); err != nil || string(rest) != "\r\n" {
		t.Errorf("the tunnel is still open after Serve returned: %q %v", rest, err)
	}
}

func TestHeaderTimeout(t *testing.T) {
	t.Parallel()
	h := serve(t, Config{HeaderTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET http://x/ HTTP/1.1\r\n") // and nothing more
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.Contains(string(b), "400") {
		t.Errorf("a stalled request head got %q", b)
	}
	if l := h.waitLog(t, 1); l[0].Allowed || l[0].Reason == "" {
		t.Errorf("stalled request logged as %+v", l[0])
	}
}

// FuzzServeConn feeds arbitrary bytes to the request handling: it must answer or close, never panic,
// and never connect anywhere (the allow-list is empty).
func FuzzServeConn(f *testing.F) {
	for _, s := range []string{
		"CONNECT 127.0.0.1:80 HTTP/1.1\r\n\r\n",
		"GET http://example.org/ HTTP/1.1\r\nHost: example.org\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"CONNECT [::1]:80 HTTP/1.1\r\n\r\n",
		"GET http://[::1/ HTTP/1.1\r\n\r\n",
		"\x00\x01\x02",
	} {
		f.Add([]byte(s))
	}
	p := New(Config{HeaderTimeout: 20 * time.Millisecond, DialTimeout: time.Second})
	f.Fuzz(func(t *testing.T, b []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.serveConn(context.Background(), server)
			server.Close()
		}()
		go func() {
			_, _ = client.Write(b)
		}()
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, client)
		client.Close()
		<-done
		if tot := p.Totals(); tot.Allowed != 0 {
			t.Fatalf("an empty allow-list let a connection through: %+v", tot)
		}
	})
}
