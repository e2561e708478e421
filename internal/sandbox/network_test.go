//go:build linux && (amd64 || arm64)

package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seance-dev/seance/internal/netproxy"
)

// recordingServer wraps a proxy and records whether Serve returned, and the attempts it logged.
type recordingServer struct {
	p        *netproxy.Proxy
	serving  atomic.Int32
	returned atomic.Bool
	mu       sync.Mutex
	attempts []netproxy.Attempt
}

func newRecordingServer(t *testing.T, allow ...string) *recordingServer {
	t.Helper()
	list, err := netproxy.ParseAllowList(allow)
	must(t, err)
	r := &recordingServer{}
	r.p = netproxy.New(netproxy.Config{Allow: list, Log: func(a netproxy.Attempt) {
		r.mu.Lock()
		r.attempts = append(r.attempts, a)
		r.mu.Unlock()
	}})
	return r
}

func (r *recordingServer) Serve(ctx context.Context, ln net.Listener) error {
	r.serving.Add(1)
	defer r.returned.Store(true)
	return r.p.Serve(ctx, ln)
}

func (r *recordingServer) log() []netproxy.Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]netproxy.Attempt(nil), r.attempts...)
}

// target is an HTTP server on the host's 127.0.0.1 that counts its requests.
type target struct {
	srv  *httptest.Server
	port int
	hits atomic.Int32
}

func newTarget(t *testing.T, body string) *target {
	t.Helper()
	tg := &target{}
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(tg.srv.Close)
	tg.port = tg.srv.Listener.Addr().(*net.TCPAddr).Port
	return tg
}

// netProbe tries every way out and prints one line per try: "name: ok <detail>" or "name: fail <why>".
const netProbe = `
import os, socket, sys, urllib.request, http.client
allowed, other = int(sys.argv[1]), int(sys.argv[2])
def try_(name, f):
    try:
        print(name + ": ok " + str(f()).replace("\n", " "))
    except BaseException as e:
        print(name + ": fail " + type(e).__name__ + " " + str(e).replace("\n", " "))
    sys.stdout.flush()
def get(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/x" % port, timeout=10) as r:
        return r.read().decode()
def tunnel(port):
    c = http.client.HTTPConnection("127.0.0.1", 3128, timeout=10)
    c.set_tunnel("127.0.0.1", port)
    c.request("GET", "/t")
    return c.getresponse().read().decode()
def direct(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(b"GET /direct HTTP/1.0\r\n\r\n")
    return s.recv(100)
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("127.0.0.1", 53))
    return "sent"
try_("env", lambda: os.environ.get("HTTP_PROXY", "") + "|" + os.environ.get("NO_PROXY", "unset"))
try_("get-allowed", lambda: get(allowed))
try_("connect-allowed", lambda: tunnel(allowed))
try_("get-other", lambda: get(other))
try_("connect-other", lambda: tunnel(other))
try_("direct-allowed", lambda: direct(allowed))
try_("direct-other", lambda: direct(other))
try_("dns", lambda: socket.getaddrinfo("example.com", 80))
try_("udp", udp)
`

// probeLines maps a probe name to its line.
func probeLines(out []byte) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if name, rest, ok := strings.Cut(l, ": "); ok {
			m[name] = rest
		}
	}
	return m
}

func TestProxyNetwork(t *testing.T) {
	t.Parallel()
	needRoot(t)
	needPython(t)
	checkProxyNetwork(t, workspace(t), false)
}

// checkProxyNetwork runs the network probe in workspace ws with a proxy that allows one host listener
// and checks every way out: only the allowed listener is reached, only through the proxy, and the
// proxy ends with the run. TestUserNamespaceMode runs it too, as a non-root user (noCgroup).
func checkProxyNetwork(t *testing.T, ws string, noCgroup bool) {
	allowed := newTarget(t, "hello from the allowed host")
	other := newTarget(t, "other host")
	srv := newRecordingServer(t, "127.0.0.1:"+strconv.Itoa(allowed.port))
	spec := py(ws, netProbe)
	spec.Argv = append(spec.Argv, strconv.Itoa(allowed.port), strconv.Itoa(other.port))
	spec.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "HTTP_PROXY=http://evil.example:1", "NO_PROXY=*"}
	spec.Network, spec.Proxy = NetworkProxy, srv
	spec.AllowNoCgroup = noCgroup
	res := run(t, spec)
	got := probeLines(res.Stdout)
	t.Logf("stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)

	if want := "ok http://127.0.0.1:3128|"; got["env"] != want {
		t.Errorf("proxy environment: %q, want %q", got["env"], want)
	}
	for _, name := range []string{"get-allowed", "connect-allowed"} {
		if !strings.HasPrefix(got[name], "ok hello from the allowed host") {
			t.Errorf("%s through the proxy: %q", name, got[name])
		}
	}
	if n := allowed.hits.Load(); n != 2 {
		t.Errorf("the allowed host saw %d requests, want 2 (GET and CONNECT)", n)
	}
	for _, name := range []string{"get-other", "connect-other", "direct-allowed", "direct-other", "dns", "udp"} {
		if !strings.HasPrefix(got[name], "fail") {
			t.Errorf("%s: %q, want a failure", name, got[name])
		}
	}
	if n := other.hits.Load(); n != 0 {
		t.Errorf("the host that is not on the allow-list saw %d requests", n)
	}
	if srv.serving.Load() != 1 || !srv.returned.Load() {
		t.Errorf("the proxy served %d times and returned %v; want once, ended with the run", srv.serving.Load(), srv.returned.Load())
	}
	var ok, refused int
	for _, a := range srv.log() {
		switch {
		case a.Allowed && a.Port == allowed.port && a.Down > 0:
			ok++
		case !a.Allowed && a.Port == other.port && a.Reason != "":
			refused++
		default:
			t.Errorf("unexpected attempt %+v", a)
		}
	}
	if ok != 2 || refused != 2 {
		t.Errorf("proxy log: %d allowed, %d refused; want 2 and 2", ok, refused)
	}
}

// TestNoProxyWithoutNetwork: in the default mode there is no listener to reach, even with a proxy
// environment set by hand.
func TestNoProxyWithoutNetwork(t *testing.T) {
	t.Parallel()
	needRoot(t)
	needPython(t)
	ws := workspace(t)
	allowed := newTarget(t, "hello")
	spec := py(ws, netProbe)
	spec.Argv = append(spec.Argv, strconv.Itoa(allowed.port), strconv.Itoa(allowed.port))
	spec.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "HTTP_PROXY=http://127.0.0.1:3128"}
	res := run(t, spec)
	got := probeLines(res.Stdout)
	for _, name := range []string{"get-allowed", "connect-allowed", "direct-allowed", "dns", "udp"} {
		if !strings.HasPrefix(got[name], "fail") {
			t.Errorf("%s without network: %q, want a failure", name, got[name])
		}
	}
	if n := allowed.hits.Load(); n != 0 {
		t.Errorf("the host listener saw %d requests from a sandbox without network", n)
	}
}

// TestProxyEndsWithFailedChild: when the child fails before it sends the listener, Run still returns
// and the proxy never serves.
func TestProxyEndsWithFailedChild(t *testing.T) {
	t.Parallel()
	needRoot(t)
	srv := newRecordingServer(t, "127.0.0.1")
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), Spec{Argv: []string{"/no/such/program"}, Dir: workspace(t), Network: NetworkProxy, Proxy: srv})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a missing program ran")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return")
	}
	if srv.serving.Load() == 1 && !srv.returned.Load() {
		t.Error("the proxy outlived the run")
	}
}
