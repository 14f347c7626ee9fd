// Package interceptors holds the gRPC server interceptors every call passes
// through, whether it arrives over gRPC or through the JSON gateway.
//
// The chain, outermost first:
//
//  1. recovery: a panic anywhere below becomes INTERNAL (INTERNAL_ERROR).
//  2. logging: one log line per call.
//  3. metrics: Prometheus counters and the handling-time histogram.
//  4. drain (when given): once a shutdown has begun, new calls are
//     refused with UNAVAILABLE (SHUTTING_DOWN) before they cost a
//     database read, and the calls in flight are counted (see Drain).
//  5. admission (when given): at most so many unary calls in flight;
//     the rest wait their turn briefly, then get UNAVAILABLE
//     (OVERLOADED) with a retry delay (see Admission). Before the
//     principal, whose key lookup may read the database.
//  6. principal: who is calling (authentication, which throttles failed
//     credentials per client address: see auth/throttle.go) and whether
//     they may call this method (the policy table).
//  7. rate limit (when configured): one token bucket per principal, so it
//     needs the principal above; before validation and the handler, so a
//     rejected call costs little. Calls that fail authentication are not
//     counted: they never reach it.
//  8. deadline: a default deadline for unary calls that came without one.
//  9. validation: protovalidate rules on the request.
//  10. safety net: turns a handler panic or a non-status error into
//     INTERNAL (INTERNAL_ERROR) so that logging and metrics above see the
//     code the client gets, and driver error text never reaches a client.
//
// Recovery is outermost so that a bug in an interceptor cannot crash the
// process; handler panics are already caught by the safety net, where the
// call is still logged and counted.
package interceptors

import (
	"context"
	"log/slog"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"google.golang.org/grpc"

	"buf.build/go/protovalidate"
)

// Options are what the interceptors need.
type Options struct {
	// Logger receives the per-call lines and panics. Required.
	Logger *slog.Logger
	// Metrics records per-call metrics. Required; the caller registers it
	// on its registry.
	Metrics *grpcprom.ServerMetrics
	// Validator checks requests. Nil uses protovalidate's global validator.
	Validator protovalidate.Validator
	// DefaultDeadline is applied to unary calls without a deadline; 0
	// applies none.
	DefaultDeadline time.Duration
	// Authorize authenticates each call and checks the policy table. Nil
	// treats every caller as anonymous (for tests of other interceptors).
	Authorize AuthorizeFunc
	// RateLimiter limits each principal's calls. Nil, or one that is not
	// Enabled, limits nothing.
	RateLimiter *RateLimiter
	// Now is the clock for validation rules that compare with the current
	// time. Nil uses time.Now.
	Now func() time.Time
	// Drain refuses new calls during a shutdown. Nil never refuses.
	Drain *Drain
	// Admission bounds the unary calls in flight. Nil bounds nothing.
	Admission *Admission
}

// ServerOptions returns the grpc.ServerOptions that install the chain.
func ServerOptions(o Options) []grpc.ServerOption {
	unary, stream := Chains(o)
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	}
}

// Chains returns the unary and the stream interceptors, outermost first:
// for a server (ServerOptions) and for calls that reach the services
// without one (inproc), which must share them, and the state they hold.
func Chains(o Options) (unary []grpc.UnaryServerInterceptor, stream []grpc.StreamServerInterceptor) {
	v := newValidator(o.Validator, o.Now, o.Logger)
	unary = []grpc.UnaryServerInterceptor{
		recoveryUnary(o.Logger),
		loggingUnary(o.Logger),
		o.Metrics.UnaryServerInterceptor(),
	}
	stream = []grpc.StreamServerInterceptor{
		recoveryStream(o.Logger),
		loggingStream(o.Logger),
		o.Metrics.StreamServerInterceptor(),
	}
	if o.Drain != nil {
		unary = append(unary, o.Drain.unary())
		stream = append(stream, o.Drain.stream())
	}
	if o.Admission != nil {
		unary = append(unary, o.Admission.unary())
	}
	unary = append(unary, principalUnary(o.Authorize))
	stream = append(stream, principalStream(o.Authorize))
	if o.RateLimiter != nil && o.RateLimiter.Enabled() {
		unary = append(unary, o.RateLimiter.UnaryServerInterceptor())
		stream = append(stream, o.RateLimiter.StreamServerInterceptor())
	}
	unary = append(unary,
		deadlineUnary(o.DefaultDeadline),
		v.unary,
		safetyNetUnary(o.Logger),
	)
	stream = append(stream,
		// No default deadline: the only streams are long-lived watches
		// (grpc.health.v1.Health/Watch, reflection).
		v.stream,
		safetyNetStream(o.Logger),
	)
	return unary, stream
}

// ctxStream is a ServerStream with a replaced context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
