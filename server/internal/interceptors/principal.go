package interceptors

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// ActorMetadataKey is the request metadata key that names the caller, for
// example "staff/abc". The JSON gateway forwards the HTTP header
// X-Aftersales-Actor to it.
//
// WARNING: this is a development stand-in for authentication. Nothing
// checks that the caller is who the header says: anyone who can reach the
// server can act as anyone. It exists so that the services can record and
// check who acts before real authentication lands, which will replace this
// interceptor and must remove the header.
const ActorMetadataKey = "x-aftersales-actor"

// RequestIDMetadataKey is the request metadata key of a client-chosen
// request id, logged with the call so that client and server logs can be
// matched. The JSON gateway forwards the HTTP header X-Request-Id to it.
const RequestIDMetadataKey = "x-request-id"

// callerFrom returns the principal named by the request metadata: the
// actor, or Anonymous when none is named.
func callerFrom(ctx context.Context) (principal.Principal, error) {
	values := metadata.ValueFromIncomingContext(ctx, ActorMetadataKey)
	switch len(values) {
	case 0:
		return principal.Principal{}, nil
	case 1:
	default:
		return principal.Principal{}, apierr.InvalidField(ActorMetadataKey, "must be sent at most once")
	}
	p, err := principal.Parse(values[0])
	if err != nil {
		return principal.Principal{}, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION,
			apierr.Violation{Field: ActorMetadataKey, Description: err.Error()})
	}
	return p, nil
}

// withCaller puts the caller into ctx, and into the call's log line.
func withCaller(ctx context.Context) (context.Context, error) {
	p, err := callerFrom(ctx)
	if err != nil {
		return ctx, err
	}
	if l := logLineFrom(ctx); l != nil {
		l.principal = p
	}
	return principal.NewContext(ctx, p), nil
}

func principalUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := withCaller(ctx)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func principalStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := withCaller(ss.Context())
	if err != nil {
		return err
	}
	return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}
