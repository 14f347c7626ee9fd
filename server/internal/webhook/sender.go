package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/aftersales/aftersales/pkg/webhooksig"
)

// SenderOptions configures a Sender. The zero value is the production
// configuration.
type SenderOptions struct {
	// AllowPrivate lets the Sender call http URLs and connect to private,
	// loopback and link-local addresses; for development and tests.
	AllowPrivate bool
	// Timeout bounds a whole delivery, from connecting to reading the
	// response. Default 10s.
	Timeout time.Duration
	// MaxResponseBytes is how much of a response body the Sender reads
	// before giving up on it. Default 64 KiB.
	MaxResponseBytes int64
	// UserAgent is the User-Agent header of deliveries. Default
	// "Aftersales-Webhooks/1".
	UserAgent string
	// Now returns the time a delivery is signed at. Default time.Now.
	Now func() time.Time
}

// Defaults of SenderOptions.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultUserAgent        = "Aftersales-Webhooks/1"
)

// maxHeaderBytes caps the response headers, which the transport reads in
// full before Send sees them; receivers have no reason to send many.
const maxHeaderBytes = 64 << 10

// Sender delivers webhook events over HTTP. It is safe for concurrent use;
// create one per process so that connections to a receiver are reused
// across deliveries.
type Sender struct {
	client *http.Client
	opts   SenderOptions
}

// Result is the outcome of one delivery attempt.
type Result struct {
	// StatusCode is the receiver's HTTP status, or 0 when there was no
	// response.
	StatusCode int
	// Latency is how long the attempt took, including reading the
	// response.
	Latency time.Duration
	// Err is nil when the receiver answered 2xx. Otherwise it says
	// briefly why the attempt failed, such as "HTTP 500" or "timeout
	// after 10s", fit for a delivery log that the subscription's owner
	// reads. It never holds the response body: that is the receiver's,
	// and may be large or hostile.
	Err error
}

// NewSender returns a Sender configured by o.
//
// Unless o.AllowPrivate, the Sender checks every address it connects to
// and refuses non-public ones (see IsPublicAddr). Checking the URL when
// the subscription is saved is not enough: its host's DNS records can be
// changed afterwards to point inside the server's network (DNS
// rebinding). Checking at connect time covers every address the dialer
// tries, and there is no proxy between the check and the connection
// because the Sender ignores proxy settings.
//
// The Sender does not follow redirects: a redirect could lead it to an
// address the subscription's URL was not checked for, so a 3xx answer
// counts as a failure.
func NewSender(o SenderOptions) *Sender {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = refuseNonPublic
	}
	transport := &http.Transport{
		Proxy:             nil, // a proxy would connect on our behalf, past the Control check
		DialContext:       dialer.DialContext,
		ForceAttemptHTTP2: true,
		// Deliveries to one receiver come in bursts from a few workers; a
		// handful of idle connections per host serves them without
		// holding many sockets open to hosts that are seldom called.
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    o.Timeout,
		MaxResponseHeaderBytes: maxHeaderBytes,
		// The response body is discarded, so do not ask for it
		// compressed: decompressing it would be wasted work.
		DisableCompression: true,
	}
	return &Sender{
		opts: o,
		client: &http.Client{
			Transport: transport,
			Timeout:   o.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// Send delivers one event: it POSTs body, a JSON document, to url, signed
// with secret at s's current time, with the event's id and type in the
// Aftersales-Event-Id and Aftersales-Event-Type headers. It reads at most
// MaxResponseBytes of the response and discards them, so that a receiver
// sending a huge or endless response cannot hold the caller.
//
// Send does not retry; the caller schedules the next attempt with Backoff.
func (s *Sender) Send(ctx context.Context, url, secret string, eventID int64, eventType string, body []byte) Result {
	start := time.Now()
	code, err := s.send(ctx, url, secret, eventID, eventType, body)
	return Result{StatusCode: code, Latency: time.Since(start), Err: err}
}

func (s *Sender) send(ctx context.Context, rawURL, secret string, eventID int64, eventType string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, &sendError{msg: "invalid URL", err: err}
	}
	// CheckURL refuses http URLs too, but the subscription may have been
	// saved by a server running with AllowPrivate.
	if req.URL.Scheme != "https" && !s.opts.AllowPrivate {
		return 0, &sendError{msg: "refused: not an https URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.opts.UserAgent)
	req.Header.Set(webhooksig.Header, webhooksig.Sign(secret, s.opts.Now(), body))
	req.Header.Set(webhooksig.EventIDHeader, strconv.FormatInt(eventID, 10))
	req.Header.Set(webhooksig.EventTypeHeader, eventType)

	resp, err := s.client.Do(req)
	if err != nil {
		return 0, s.describe(ctx, err)
	}
	// Read what the receiver sends, up to the cap, so that a short answer
	// leaves the connection reusable; past the cap, Close drops the
	// connection instead. The receiver has answered, so errors reading
	// the rest do not change the outcome.
	_, _ = io.CopyN(io.Discard, resp.Body, s.opts.MaxResponseBytes)
	_ = resp.Body.Close()

	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return resp.StatusCode, nil
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		return resp.StatusCode, &sendError{msg: fmt.Sprintf("HTTP %d; redirects are not followed", resp.StatusCode)}
	default:
		return resp.StatusCode, &sendError{msg: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
}

// describe turns an error of http.Client.Do into a short one for the
// delivery log, keeping err as its cause.
func (s *Sender) describe(ctx context.Context, err error) error {
	var (
		refused *refusedAddrError
		netErr  net.Error
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		urlErr  *url.Error
	)
	var msg string
	switch {
	case errors.As(err, &refused):
		msg = refused.Error()
	case ctx.Err() != nil:
		// The caller gave up (the worker is stopping), not the receiver.
		msg = ctx.Err().Error()
	case errors.As(err, &netErr) && netErr.Timeout():
		msg = "timeout after " + s.opts.Timeout.String()
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		msg = "connection reset"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		msg = "host " + dnsErr.Name + " not found"
	case errors.As(err, &dnsErr):
		msg = "cannot resolve host " + dnsErr.Name
	case errors.As(err, &certErr):
		msg = "TLS certificate not accepted: " + certErr.Err.Error()
	case errors.As(err, &urlErr):
		// Drop the `Post "https://…":` prefix; the log shows the URL.
		msg = urlErr.Err.Error()
	default:
		msg = err.Error()
	}
	return &sendError{msg: msg, err: err}
}

// sendError is a failed delivery: a short message for the delivery log,
// and the underlying error for errors.Is and errors.As.
type sendError struct {
	msg string
	err error
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.err }

// refusedAddrError is the dialer's refusal to connect to a non-public
// address.
type refusedAddrError struct {
	addr netip.Addr
	kind string
}

func (e *refusedAddrError) Error() string {
	return fmt.Sprintf("refused: %s is %s", e.addr, e.kind)
}

// refuseNonPublic is a net.Dialer Control function refusing connections to
// addresses that are not public. It runs after name resolution, on the
// address actually being connected to.
func refuseNonPublic(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused: cannot check address %q: %w", address, err)
	}
	ip := ap.Addr().Unmap()
	if kind := addrKind(ip); kind != "" {
		return &refusedAddrError{addr: ip, kind: kind}
	}
	return nil
}
