package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/tool"
)

// Resolver resolves host names; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// errRefused marks a connection the dial-time check refused.
var errRefused = errors.New("address not allowed")

type fetchArgs struct {
	URL string `json:"url"`
}

// parseURL accepts http and https URLs with a host and no user information.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fault.Param("url", "url: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fault.Param("url", "url %q: want http or https", raw)
	}
	if u.Hostname() == "" || u.User != nil {
		return nil, fault.Param("url", "url %q: want a host and no user information", raw)
	}
	return u, nil
}

func httpFetch(opts HTTPOptions) tool.Tool {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 256 << 10
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	return def[fetchArgs]{
		spec: chat.ToolSpec{
			Name:        "http_fetch",
			Description: fmt.Sprintf("Fetch a URL with GET from a host the policy allows; answers the status, the content type and the body (at most %d bytes).", opts.MaxBody),
			Parameters: json.RawMessage(`{"type":"object","properties":{
				"url":{"type":"string","minLength":1,"description":"http or https URL"}},
				"required":["url"],"additionalProperties":false}`),
		},
		plan: func(a fetchArgs) (policy.Call, error) {
			u, err := parseURL(a.URL)
			if err != nil {
				return policy.Call{}, err
			}
			return policy.Call{Hosts: []string{hostOf(u)}}, nil
		},
		call: func(ctx context.Context, env tool.Env, a fetchArgs) (tool.Result, error) {
			u, err := parseURL(a.URL)
			if err != nil {
				return tool.Result{}, err
			}
			return fetch(ctx, opts, env.Policy, u)
		},
	}
}

// hostOf is the host name as the policy sees it: lower case, without brackets or a trailing dot.
func hostOf(u *url.URL) string { return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".") }

func fetch(ctx context.Context, opts HTTPOptions, pol policy.Policy, u *url.URL) (tool.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	tr := &http.Transport{
		Proxy:                  nil, // never the environment's proxies
		DialContext:            guardedDial(opts.Resolver, pol),
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  opts.Timeout,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %s: not http", r.URL.Scheme)
			}
			if h := hostOf(r.URL); !pol.Allows(policy.Capability{Kind: policy.KindHost, Value: h}) {
				return fmt.Errorf("redirect to %s: host not allowed by the policy", h)
			}
			return nil
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return tool.Result{}, fault.Param("url", "url: %v", err)
	}
	req.Header.Set("User-Agent", "seance-http-fetch")
	resp, err := client.Do(req)
	if err != nil {
		return tool.Result{}, fault.Wrap(err, fault.Upstream, "fetch %s: %v", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, opts.MaxBody+1))
	if err != nil {
		return tool.Result{}, fault.Wrap(err, fault.Upstream, "fetch %s: reading the body: %v", u.Redacted(), err)
	}
	cut := int64(len(body)) > opts.MaxBody
	if cut {
		body = body[:opts.MaxBody]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %s\ncontent-type: %s\n\n", resp.Status, resp.Header.Get("Content-Type"))
	if utf8.Valid(body) || cut {
		b.WriteString(strings.ToValidUTF8(string(body), "\uFFFD"))
	} else {
		fmt.Fprintf(&b, "(%d bytes of binary data, not shown)", len(body))
	}
	if cut {
		fmt.Fprintf(&b, "\n… (cut at %d bytes)", opts.MaxBody)
	}
	return tool.Result{Content: b.String(), BytesOut: int64(len(body)), IsError: resp.StatusCode >= 400}, nil
}

// guardedDial resolves the host itself and connects only to addresses the policy allows: an address
// must be public, unless the policy names it literally (hosts: ["127.0.0.1"]). The check runs in the
// dialer's Control hook, on the address actually being connected to, so neither a name that resolves
// to a private address (DNS rebinding) nor a redirect reaches anything else.
func guardedDial(res Resolver, pol policy.Policy) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		if !pol.Allows(policy.Capability{Kind: policy.KindHost, Value: host}) {
			return nil, fmt.Errorf("dial %s: host not allowed by the policy: %w", host, errRefused)
		}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip}
		} else if ips, err = res.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		var allowed []netip.Addr
		for _, ip := range ips {
			if addrAllowed(pol, ip.Unmap()) {
				allowed = append(allowed, ip.Unmap())
			}
		}
		if len(allowed) == 0 {
			return nil, fmt.Errorf("dial %s: resolves only to addresses the policy does not allow (%v): %w", host, ips, errRefused)
		}
		d := net.Dialer{
			Timeout: 10 * time.Second,
			Control: func(_, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil || !slices.Contains(allowed, ap.Addr().Unmap()) || !addrAllowed(pol, ap.Addr().Unmap()) {
					return fmt.Errorf("connect %s: %w", address, errRefused)
				}
				return nil
			},
		}
		var last error
		for _, ip := range allowed {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
}

// addrAllowed reports whether ip may be connected to: a public unicast address, or one the policy
// lists literally.
func addrAllowed(pol policy.Policy, ip netip.Addr) bool {
	if pol.Allows(policy.Capability{Kind: policy.KindHost, Value: ip.String()}) {
		return true
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// nonPublic are ranges that are neither loopback nor private by netip's definition but are not the
// public internet either.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("2002::/16"),    // 6to4 likewise
}
