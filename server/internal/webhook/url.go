// Package webhook holds the parts of webhook delivery that do not touch
// storage: checking a subscription's URL, sending one signed delivery, and
// the backoff between attempts.
//
// The server calls URLs that API users choose, from inside its own
// network, so everything here guards against server-side request forgery:
// CheckURL refuses URLs that point at private, loopback or link-local
// addresses when a subscription is created or updated, and the Sender
// refuses to connect to such addresses when it delivers, because the
// host's DNS records may have changed since (DNS rebinding). Both guards
// are lifted by allowPrivate, for development and tests.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

// MaxURLLength is the longest subscription URL CheckURL accepts, in bytes.
const MaxURLLength = 2048

// resolveTimeout bounds the DNS lookup of CheckURL, which runs inside an
// API call.
const resolveTimeout = 5 * time.Second

// privateRefusal ends the reason of a URL refused for its address.
const privateRefusal = "; the server does not call private, loopback or link-local addresses"

// URLError is why CheckURL refused a URL. Its Error is Reason, phrased to
// follow the name of the field, as in "uri: must be an https URL", and
// meant to be shown to the API user.
type URLError struct {
	Reason string
}

func (e *URLError) Error() string { return e.Reason }

// refuse returns a *URLError with a formatted reason.
func refuse(format string, args ...any) error {
	return &URLError{Reason: fmt.Sprintf(format, args...)}
}

// CheckURL checks raw as the URL of a webhook subscription, when one is
// created or updated. It must be an absolute https URL, with a host and
// without a user name or password, of at most MaxURLLength bytes, whose
// host resolves, and only to public addresses (see IsPublicAddr).
//
// allowPrivate also accepts http URLs and private, loopback and link-local
// addresses, for development and tests. The host is resolved with resolver,
// or net.DefaultResolver when nil, within ctx and at most 5 s, and must
// resolve either way, to catch typing mistakes early.
//
// Passing this check is not enough to make delivery safe: DNS answers
// change, so the Sender checks the address again when it connects.
//
// The error, when not nil, is a *URLError.
func CheckURL(ctx context.Context, raw string, allowPrivate bool, resolver *net.Resolver) error {
	if raw == "" {
		return refuse("is required")
	}
	if len(raw) > MaxURLLength {
		return refuse("must be at most %d characters long", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refuse("is not a valid URL")
	}
	if !u.IsAbs() || u.Opaque != "" || u.Hostname() == "" {
		return refuse("must be an absolute URL with a host, such as https://shop.example.com/webhooks/aftersales")
	}
	if u.User != nil {
		// Credentials in the URL would be stored and shown in clear;
		// receivers authenticate deliveries by their signature instead.
		return refuse("must not contain a user name or password")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	case allowPrivate:
		return refuse("must be an http or https URL")
	default:
		return refuse("must be an https URL")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return refuse("must have a port between 1 and 65535")
		}
	}

	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if kind := addrKind(ip); kind != "" && !allowPrivate {
			return refuse("points at %s, %s%s", ip.Unmap(), kind, privateRefusal)
		}
		return nil
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return refuse("has host %s, which does not resolve to an address", host)
		}
		return refuse("has host %s, which could not be resolved; try again later", host)
	}
	if len(ips) == 0 {
		return refuse("has host %s, which does not resolve to an address", host)
	}
	if allowPrivate {
		return nil
	}
	// Refuse if any address is private: connections may go to any of
	// them, and a mix is a classic way to slip an internal address in.
	for _, ip := range ips {
		if kind := addrKind(ip); kind != "" {
			return refuse("resolves to %s, %s%s", ip.Unmap(), kind, privateRefusal)
		}
	}
	return nil
}
