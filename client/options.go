package client

import (
	"crypto/tls"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/aftersales/aftersales/pkg/resname"
)

// defaultUserAgent names this library in the user agent, after the one
// given with WithUserAgent; gRPC appends its own version after it.
const defaultUserAgent = "aftersales-go-client"

// Option configures New.
type Option func(*options)

// options collects what the Options ask for. Options record mistakes in
// errs rather than panicking so that New reports them all at once.
type options struct {
	tlsConfig     *tls.Config
	tlsSet        bool
	insecure      bool
	bearerToken   string
	actor         string
	userAgent     string
	extraDialOpts []grpc.DialOption
	errs          []error
}

// WithTLS connects with TLS using cfg, for example to trust a private CA or
// to present a client certificate. A nil cfg means the system's roots,
// which is also what New uses without this option. It cannot be combined
// with WithInsecure.
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) {
		o.tlsConfig = cfg
		o.tlsSet = true
	}
}

// WithInsecure connects over plaintext, for a server on the local machine
// or in a test. It also allows WithBearerToken to send its token in the
// clear, which is why it must be chosen explicitly.
func WithInsecure() Option {
	return func(o *options) { o.insecure = true }
}

// WithBearerToken sends "authorization: Bearer <token>" on every call.
// Without WithInsecure the connection uses TLS, so the token never
// travels in the clear: against a plaintext server calls fail with
// UNAVAILABLE (a failed TLS handshake) before anything is sent.
func WithBearerToken(token string) Option {
	return func(o *options) {
		if token == "" {
			o.errs = append(o.errs, errors.New("client: WithBearerToken: empty token"))
			return
		}
		o.bearerToken = token
	}
}

// WithActor sends the x-aftersales-actor header on every call, naming who
// the caller acts as: "staff/{id}", "partners/{id}" or "customers/{id}".
// The server trusts this header only until bearer tokens are enforced. A
// call whose context already carries the header (see ActorHeader) keeps
// its own.
func WithActor(name string) Option {
	return func(o *options) {
		if !validActor(name) {
			o.errs = append(o.errs, fmt.Errorf("client: WithActor: %q is not staff/{id}, partners/{id} or customers/{id}", name))
			return
		}
		o.actor = name
	}
}

// WithUserAgent puts ua (for example "acme-repair/1.4") at the front of
// the user agent, so that server logs show which integration called.
func WithUserAgent(ua string) Option {
	return func(o *options) { o.userAgent = ua }
}

// WithDialOptions adds gRPC dial options. They are applied after the
// client's own, so they win where both set the same thing (for example a
// service config); interceptors given here run after the client's, so
// they see the filled request_id.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.extraDialOpts = append(o.extraDialOpts, opts...) }
}

func validActor(name string) bool {
	for _, c := range []string{resname.Staff, resname.Partners, resname.Customers} {
		if _, ok := resname.ID(name, c); ok {
			return true
		}
	}
	return false
}

// dialOptions turns the options into gRPC dial options.
func (o *options) dialOptions() ([]grpc.DialOption, error) {
	if o.insecure && o.tlsSet {
		return nil, errors.New("client: WithTLS and WithInsecure cannot be combined")
	}
	transport := credentials.NewTLS(o.tlsConfig)
	if o.insecure {
		transport = insecure.NewCredentials()
	}
	ua := defaultUserAgent
	if o.userAgent != "" {
		ua = o.userAgent + " " + defaultUserAgent
	}
	sc, err := serviceConfig()
	if err != nil {
		return nil, err
	}
	unary := []grpc.UnaryClientInterceptor{fillRequestID}
	var stream []grpc.StreamClientInterceptor
	if o.actor != "" {
		unary = append(unary, actorUnary(o.actor))
		stream = append(stream, actorStream(o.actor))
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithUserAgent(ua),
		grpc.WithDefaultServiceConfig(sc),
		grpc.WithChainUnaryInterceptor(unary...),
		grpc.WithChainStreamInterceptor(stream...),
	}
	if o.bearerToken != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearerCreds{token: o.bearerToken, allowInsecure: o.insecure}))
	}
	return append(dialOpts, o.extraDialOpts...), nil
}
