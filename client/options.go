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

// WithOnBehalfOf makes every call act for the named agent, "staff/{id}":
// call-center software holding one service key (issued with can_delegate)
// sets it to the agent on the call, so that first-contact ownership and
// the audit trail record the real agent. A call whose context already
// carries the header (see OnBehalfOfHeader) keeps its own.
func WithOnBehalfOf(agent string) Option {
	return func(o *options) {
		if !validActor(agent) {
			o.errs = append(o.errs, fmt.Errorf("client: WithOnBehalfOf: %q is not staff/{id}", agent))
			return
		}
		o.actor = agent
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
	_, ok := resname.ID(name, resname.Staff)
	return ok
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
