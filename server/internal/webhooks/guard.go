package webhooks

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/assist-chat/assist/server/internal/failure"
)

// refusedAddr reports why deliveries must not reach ip, or "".
func refusedAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsMulticast() || ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip.Is4() && ip.As4()[0] == 100 && ip.As4()[1]&0xc0 == 64:
		return "a shared (carrier-grade NAT) address" // 100.64.0.0/10
	}
	return ""
}

// Guard decides which URLs deliveries may go to.
type Guard struct {
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (tests, or endpoints on the operator's own network).
	AllowPrivate bool
	// Resolver resolves host names at registration. Default
	// net.DefaultResolver.
	Resolver *net.Resolver
}

// CheckURL validates an endpoint URL at registration: http(s), a host, and
// every address it resolves to allowed.
func (g *Guard) CheckURL(ctx context.Context, field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return failure.InvalidArgument(field, "must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return failure.InvalidArgument(field, "must not carry credentials")
	}
	if g.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := refusedAddr(ip); why != "" {
			return failure.InvalidArgument(field, "points to %s; deliveries go only to public addresses", why)
		}
		return nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return failure.InvalidArgument(field, "points to a loopback address; deliveries go only to public addresses")
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return failure.InvalidArgument(field, "host %q does not resolve", host)
	}
	for _, a := range addrs {
		if why := refusedAddr(a); why != "" {
			return failure.InvalidArgument(field, "resolves to %s; deliveries go only to public addresses", why)
		}
	}
	return nil
}

// dialControl refuses, at connection time, addresses CheckURL would refuse:
// a host that resolved to a public address at registration and to a
// private one now (DNS rebinding) is caught here.
func (g *Guard) dialControl(network, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook dial: unexpected address %q", address)
	}
	if why := refusedAddr(ap.Addr()); why != "" {
		return fmt.Errorf("webhook dial refused: %s is %s", ap.Addr(), why)
	}
	return nil
}
