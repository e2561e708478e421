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
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seance-dev/seance/internal/chat"
	"github.com/seance-dev/seance/internal/fault"
	"github.com/seance-dev/seance/internal/netproxy"
	"github.com/seance-dev/seance/internal/policy"
	"github.com/seance-dev/seance/internal/tool"
)

// Resolver resolves host names; *net.Resolver implements it.
type Resolver = netproxy.Resolver

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
			return policy.Call{Hosts: []string{hostPort(u)}}, nil
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

// hostPort is the host as the policy sees it: the name in lower case, without brackets or a trailing
// dot, and the port (explicit, or the scheme's), so policy hosts with a port can match.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".") + ":" + port
}

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
			if h := hostPort(r.URL); !pol.Allows(policy.Capability{Kind: policy.KindHost, Value: h}) {
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

// hostList is the policy's hosts as the network allow-list of http_fetch and of sandboxed processes.
func hostList(pol policy.Policy) (netproxy.AllowList, error) {
	return netproxy.ParseAllowList(pol.Hosts)
}

// guardedDial resolves the host itself and connects only to addresses the policy allows: an address
// must be public, unless the policy names it literally (hosts: ["127.0.0.1"]). netproxy.Guard makes
// the check — the same one the network proxy of sandboxed processes makes — in the dialer's Control
// hook, on the address actually being connected to, so neither a name that resolves to a private
// address (DNS rebinding) nor a redirect reaches anything else.
func guardedDial(res Resolver, pol policy.Policy) func(ctx context.Context, network, addr string) (net.Conn, error) {
	list, err := hostList(pol)
	if err != nil {
		return func(context.Context, string, string) (net.Conn, error) { return nil, err }
	}
	return netproxy.Guard{Allow: list, Resolver: res, Timeout: 10 * time.Second}.DialContext
}

// addrAllowed reports whether ip may be connected to: a public unicast address, or one the policy
// lists literally.
func addrAllowed(pol policy.Policy, ip netip.Addr) bool {
	list, err := hostList(pol)
	return err == nil && list.AllowsAddr(ip, 0)
}
