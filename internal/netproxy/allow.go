package netproxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seance-dev/seance/internal/fault"
)

// Resolver resolves host names; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// rule is one parsed allow-list entry.
type rule struct {
	host     string     // lower case, no trailing dot; for a wildcard the suffix after "*."
	wildcard bool       // "*.example.org": every subdomain, not example.org itself
	addr     netip.Addr // valid when the entry is an IP address literal
	port     int        // 0: any port
}

// AllowList is a parsed list of allowed hosts. The zero value allows nothing.
//
// An entry is a host name ("example.org"), a wildcard for its subdomains ("*.example.org", which
// does not match example.org itself), or an IP address ("127.0.0.1", "::1"), each optionally with a
// port ("example.org:8080", "[::1]:8080"); without a port every port is allowed. Names match
// case-insensitively, without a trailing dot.
//
// Names and addresses are checked separately: a connection needs an allowed name (or an allowed
// address literal) and an allowed address. An address is allowed when it is public unicast, or when
// the list names it literally (see Public). So a name that resolves to 127.0.0.1, a private or
// link-local address such as the cloud metadata service 169.254.169.254 — DNS rebinding — is refused
// unless that address itself is on the list.
type AllowList struct {
	rules []rule
}

// ParseAllowList parses entries; it fails (fault.Invalid) on an entry that is not a host name, a
// wildcard or an address with an optional port.
func ParseAllowList(entries []string) (AllowList, error) {
	var a AllowList
	for _, e := range entries {
		r, err := parseRule(e)
		if err != nil {
			return AllowList{}, fault.Wrap(err, fault.Invalid, "allow-list entry %q: %v", e, err)
		}
		a.rules = append(a.rules, r)
	}
	return a, nil
}

// Empty reports whether the list allows nothing.
func (a AllowList) Empty() bool { return len(a.rules) == 0 }

func parseRule(e string) (rule, error) {
	var r rule
	host := strings.TrimSpace(e)
	if host != e || host == "" {
		return r, fmt.Errorf("empty or padded")
	}
	// A port: "[v6]:port", or "name:port" / "v4:port" (a single colon); a bare IPv6 has several.
	if strings.HasPrefix(host, "[") || strings.Count(host, ":") == 1 {
		h, p, err := net.SplitHostPort(host)
		if err != nil {
			return r, err
		}
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return r, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		host, r.port = h, port
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return r, fmt.Errorf("an address with a zone")
		}
		r.addr = ip.Unmap()
		r.host = r.addr.String()
		return r, nil
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		r.wildcard, host = true, rest
	}
	if !validName(host) {
		return r, fmt.Errorf("not a host name")
	}
	r.host = host
	return r, nil
}

// validName reports whether s is a DNS name of letters, digits, hyphens and dots.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// normHost is a host as the list compares it: lower case, without brackets or a trailing dot, an
// IPv4-mapped IPv6 address as IPv4.
func normHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().String()
	}
	return host
}

// AllowsHost reports whether the list allows host (a name or an address literal) at port (0: some
// port, for callers that check the name alone).
func (a AllowList) AllowsHost(host string, port int) bool {
	host = normHost(host)
	if host == "" {
		return false
	}
	return slices.ContainsFunc(a.rules, func(r rule) bool {
		if r.port != 0 && port != 0 && r.port != port {
			return false
		}
		if r.wildcard {
			return strings.HasSuffix(host, "."+r.host)
		}
		return r.host == host
	})
}

// AllowsAddr reports whether ip may be connected to at port: it is public (see Public), or the list
// names it literally.
func (a AllowList) AllowsAddr(ip netip.Addr, port int) bool {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return false
	}
	if slices.ContainsFunc(a.rules, func(r rule) bool {
		return r.addr.IsValid() && r.addr == ip && (r.port == 0 || port == 0 || r.port == port)
	}) {
		return true
	}
	return Public(ip)
}

// Public reports whether ip is a public unicast address: not loopback, private (RFC 1918, unique
// local), link-local (which holds the cloud metadata address 169.254.169.254), multicast,
// unspecified, carrier-grade NAT, benchmarking, reserved, or a NAT64/6to4 prefix that can reach IPv4
// private space.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
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

// ErrRefused marks a connection the allow-list refused.
var ErrRefused = fault.New(fault.Invalid, "address not allowed")

// Guard dials only what an AllowList allows. It resolves names itself and checks every address,
// once after resolution and again in the dialer's Control hook on the address actually being
// connected to, so neither a name that resolves to a refused address nor a later change of the
// answer reaches anything else.
type Guard struct {
	Allow AllowList
	// Resolver resolves names (nil: net.DefaultResolver).
	Resolver Resolver
	// Timeout bounds each connection attempt (default 10 s).
	Timeout time.Duration
}

// DialContext connects to addr ("host:port") over network ("tcp", "tcp4", "tcp6") when the list
// allows the host and at least one of its addresses. A refusal wraps ErrRefused.
func (g Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, _, err := g.dial(ctx, network, addr)
	return c, err
}

// dial is DialContext that also returns the address connected to.
func (g Guard) dial(ctx context.Context, network, addr string) (net.Conn, netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("dial %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, netip.AddrPort{}, fmt.Errorf("dial %q: bad port: %w", addr, ErrRefused)
	}
	host = normHost(host)
	if !g.Allow.AllowsHost(host, port) {
		return nil, netip.AddrPort{}, fmt.Errorf("dial %s: host not on the allow-list: %w", net.JoinHostPort(host, portStr), ErrRefused)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		res := g.Resolver
		if res == nil {
			res = net.DefaultResolver
		}
		if ips, err = res.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, netip.AddrPort{}, fmt.Errorf("resolve %s: %w", host, err)
		}
	}
	var allowed []netip.Addr
	for _, ip := range ips {
		if ip = ip.Unmap(); g.Allow.AllowsAddr(ip, port) && !slices.Contains(allowed, ip) {
			allowed = append(allowed, ip)
		}
	}
	if len(allowed) == 0 {
		return nil, netip.AddrPort{}, fmt.Errorf("dial %s: resolves only to addresses the allow-list does not allow (not public, not listed: %v): %w", host, ips, ErrRefused)
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := net.Dialer{
		Timeout: timeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !slices.Contains(allowed, ap.Addr().Unmap()) || !g.Allow.AllowsAddr(ap.Addr().Unmap(), port) {
				return fmt.Errorf("connect %s: %w", address, ErrRefused)
			}
			return nil
		},
	}
	var last error
	for _, ip := range allowed {
		ap := netip.AddrPortFrom(ip, uint16(port))
		c, err := d.DialContext(ctx, network, ap.String())
		if err == nil {
			return c, ap, nil
		}
		last = err
	}
	return nil, netip.AddrPort{}, last
}
