// Package netproxy is the allow-listing HTTP proxy through which sandboxed processes reach the
// network (docs/SANDBOX.md): an HTTP forward proxy that tunnels CONNECT (HTTPS, or any TCP) and
// forwards plain-HTTP requests in absolute form, only to hosts on an AllowList, resolving names
// itself and refusing addresses that are not public unless the list names them. Every attempt,
// allowed or refused, is reported with its byte counts so the caller can audit it.
//
// It also holds the allow-list matching and the guarded dialler that http_fetch uses, so both paths
// apply one rule. It imports only the standard library and internal/fault; internal/tool/builtin
// builds a Proxy per sandboxed run and internal/sandbox serves it on a listener inside the sandbox's
// network namespace.
package netproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Attempt is one connection or request a client asked the proxy for.
type Attempt struct {
	// Method is CONNECT or the HTTP method of a forwarded request; "" when the request could not be
	// read.
	Method string
	// Host and Port are the target as the client asked for it ("" and 0 when it named none).
	Host string
	Port int
	// Addr is the address connected to, when a connection was made.
	Addr netip.AddrPort
	// Allowed is true when the proxy connected to the target.
	Allowed bool
	// Reason says why the attempt was refused or failed ("" when it succeeded).
	Reason string
	// Up counts bytes from the client to the target (request bodies, tunnelled data), Down bytes from
	// the target to the client.
	Up, Down int64
	// Start is when the request was read; Duration how long the attempt lasted.
	Start    time.Time
	Duration time.Duration
}

// Config configures a Proxy.
type Config struct {
	// Allow is the list of allowed hosts.
	Allow AllowList
	// Resolver resolves names (nil: net.DefaultResolver).
	Resolver Resolver
	// DialTimeout bounds connecting to a target (default 10 s).
	DialTimeout time.Duration
	// HeaderTimeout bounds reading a request's head from the client (default 10 s).
	HeaderTimeout time.Duration
	// IdleTimeout closes a connection in which no byte moved for this long (default 60 s).
	IdleTimeout time.Duration
	// MaxConns bounds the connections served at once (default 64); more wait in the listener's queue.
	MaxConns int
	// Log, when set, is called once for every attempt when it ends, allowed or not. It must not block
	// for long; it may be called from several goroutines at once.
	Log func(Attempt)
}

// Proxy is an allow-listing HTTP forward proxy. Serve it on as many listeners as needed; its counters
// cover all of them.
type Proxy struct {
	cfg   Config
	guard Guard

	allowed, refused atomic.Int64
	up, down         atomic.Int64
}

// New returns a Proxy for cfg.
func New(cfg Config) *Proxy {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 64
	}
	return &Proxy{cfg: cfg, guard: Guard{Allow: cfg.Allow, Resolver: cfg.Resolver, Timeout: cfg.DialTimeout}}
}

// Totals are a Proxy's counters.
type Totals struct {
	Allowed, Refused int64 // attempts
	Up, Down         int64 // bytes, as in Attempt
}

// Totals returns the counters so far.
func (p *Proxy) Totals() Totals {
	return Totals{Allowed: p.allowed.Load(), Refused: p.refused.Load(), Up: p.up.Load(), Down: p.down.Load()}
}

// Serve accepts connections on ln until ctx ends or ln fails, then closes ln and every connection it
// still serves, waits for their goroutines and returns. It returns nil when ctx ended.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, p.cfg.MaxConns)
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		c, err := ln.Accept()
		if err != nil {
			<-sem
			ln.Close()
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("netproxy: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			stopConn := context.AfterFunc(ctx, func() { c.Close() })
			defer stopConn()
			defer c.Close()
			p.serveConn(ctx, c)
		}()
	}
}

// serveConn serves one client connection: one CONNECT tunnel, or one forwarded request (the
// connection is closed after the response, so every request is checked and logged on its own).
func (p *Proxy) serveConn(ctx context.Context, c net.Conn) {
	a := Attempt{Start: time.Now()}
	defer func() {
		a.Duration = time.Since(a.Start)
		if a.Allowed {
			p.allowed.Add(1)
		} else {
			p.refused.Add(1)
		}
		p.up.Add(a.Up)
		p.down.Add(a.Down)
		if p.cfg.Log != nil {
			p.cfg.Log(a)
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(p.cfg.HeaderTimeout))
	br := bufio.NewReaderSize(c, 16<<10)
	req, err := http.ReadRequest(br)
	if err != nil {
		a.Reason = "unreadable request: " + clip(err.Error())
		if !errors.Is(err, io.EOF) {
			reply(c, http.StatusBadRequest, a.Reason)
		}
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	a.Method = req.Method
	if req.Method == http.MethodConnect {
		p.tunnel(ctx, c, br, req, &a)
		return
	}
	p.forward(ctx, c, req, &a)
}

// target parses "host:port"; with defPort > 0 the port may be left out.
func target(hostport string, defPort int) (string, int, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		if defPort == 0 {
			return "", 0, fmt.Errorf("target %q: want host:port", clip(hostport))
		}
		host, portStr = hostport, strconv.Itoa(defPort)
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		} else if strings.Contains(host, ":") {
			return "", 0, fmt.Errorf("target %q: an IPv6 address must be in brackets", clip(hostport))
		}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("target %q: bad port", clip(hostport))
	}
	if host == "" {
		return "", 0, fmt.Errorf("target %q: no host", clip(hostport))
	}
	return normHost(host), port, nil
}

// tunnel handles CONNECT host:port.
func (p *Proxy) tunnel(ctx context.Context, c net.Conn, br *bufio.Reader, req *http.Request, a *Attempt) {
	host, port, err := target(req.RequestURI, 0)
	if err != nil {
		a.Reason = err.Error()
		reply(c, http.StatusBadRequest, a.Reason)
		return
	}
	a.Host, a.Port = clip(host), port
	up, addr, err := p.guard.dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		a.Reason = clip(err.Error())
		reply(c, statusFor(err), a.Reason)
		return
	}
	defer up.Close()
	a.Allowed, a.Addr = true, addr
	stop := context.AfterFunc(ctx, func() { up.Close() })
	defer stop()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		a.Reason = "client went away"
		return
	}
	// Bytes the client sent after the request head (a TLS ClientHello sent early) go first.
	var early []byte
	if n := br.Buffered(); n > 0 {
		early, _ = br.Peek(n)
	}
	a.Up, a.Down = p.splice(c, up, early)
}

// forward handles a plain-HTTP request in absolute form ("GET http://host/path HTTP/1.1").
func (p *Proxy) forward(ctx context.Context, c net.Conn, req *http.Request, a *Attempt) {
	u := req.URL
	if u == nil || !u.IsAbs() || u.Host == "" {
		a.Reason = "not a proxy request: want an absolute http:// URL or CONNECT"
		reply(c, http.StatusBadRequest, a.Reason)
		return
	}
	if u.Scheme != "http" {
		a.Reason = "scheme " + clip(u.Scheme) + ": only http is forwarded (use CONNECT for https)"
		reply(c, http.StatusBadRequest, a.Reason)
		return
	}
	host, port, err := target(u.Host, 80)
	if err != nil || u.User != nil {
		a.Reason = "bad target in the URL"
		reply(c, http.StatusBadRequest, a.Reason)
		return
	}
	a.Host, a.Port = clip(host), port
	// The target is the URL's host alone: net/http's reader sets req.Host from an absolute URL and
	// drops the Host header, and the request goes out with Host set to the URL's host, so a Host
	// header cannot name another virtual host than the one the allow-list checked.
	up, addr, err := p.guard.dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		a.Reason = clip(err.Error())
		reply(c, statusFor(err), a.Reason)
		return
	}
	defer up.Close()
	a.Allowed, a.Addr = true, addr
	stop := context.AfterFunc(ctx, func() { up.Close() })
	defer stop()

	// One request per connection, without the proxy's own headers.
	out := req.Clone(ctx)
	out.RequestURI = ""
	out.Host = u.Host
	out.Close = true
	for _, h := range []string{"Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate", "Keep-Alive", "Te", "Trailer", "Upgrade"} {
		out.Header.Del(h)
	}
	upc := &counting{Conn: up, idle: p.cfg.IdleTimeout}
	if err := out.Write(upc); err != nil {
		a.Reason = "sending the request: " + clip(err.Error())
		reply(c, http.StatusBadGateway, a.Reason)
		a.Up = upc.written.Load()
		return
	}
	_ = up.SetReadDeadline(time.Now().Add(p.cfg.IdleTimeout))
	resp, err := http.ReadResponse(bufio.NewReader(upc), out)
	if err != nil {
		a.Reason = "reading the response: " + clip(err.Error())
		reply(c, http.StatusBadGateway, a.Reason)
		a.Up = upc.written.Load()
		return
	}
	defer resp.Body.Close()
	resp.Close = true
	cc := &counting{Conn: c, idle: p.cfg.IdleTimeout}
	if err := resp.Write(cc); err != nil {
		a.Reason = "relaying the response: " + clip(err.Error())
	}
	a.Up, a.Down = upc.written.Load(), cc.written.Load()
}

// splice copies both ways until both directions end or a direction is idle for IdleTimeout, and
// returns the bytes copied client→target and target→client.
func (p *Proxy) splice(client, target net.Conn, early []byte) (up, down int64) {
	tc := &counting{Conn: target, idle: p.cfg.IdleTimeout}
	cc := &counting{Conn: client, idle: p.cfg.IdleTimeout}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if len(early) > 0 {
			if _, err := tc.Write(early); err != nil {
				target.Close()
				return
			}
		}
		_, _ = io.Copy(tc, readerOnly{cc})
		closeWrite(target)
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(cc, readerOnly{tc})
		closeWrite(client)
	}()
	wg.Wait()
	return tc.written.Load(), cc.written.Load()
}

// readerOnly hides a conn's WriteTo/ReadFrom so io.Copy goes through counting's Read and Write.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(b []byte) (int, error) { return r.r.Read(b) }

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}

// counting counts bytes written and pushes the idle deadline forward on every read and write.
type counting struct {
	net.Conn
	idle    time.Duration
	written atomic.Int64
}

func (c *counting) Read(b []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(b)
}

func (c *counting) Write(b []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	n, err := c.Conn.Write(b)
	c.written.Add(int64(n))
	return n, err
}

// statusFor maps a dial error to the status the client sees.
func statusFor(err error) int {
	if errors.Is(err, ErrRefused) {
		return http.StatusForbidden
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// reply writes a short error response and gives up on the connection.
func reply(c net.Conn, status int, msg string) {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	body := "seance proxy: " + msg + "\n"
	_, _ = fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}

// clip bounds text that came from the client before it goes into a log or a reply.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
