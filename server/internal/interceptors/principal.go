package interceptors

import (
	"context"

	"google.golang.org/grpc"

	"github.com/aftersales/aftersales/server/internal/principal"
)

// RequestIDMetadataKey is the request metadata key of a client-chosen
// request id, logged with the call so that client and server logs can be
// matched. The JSON gateway forwards the HTTP header X-Request-Id to it.
const RequestIDMetadataKey = "x-request-id"

// AuthorizeFunc authenticates a call to method and checks that the caller
// may make it, returning the caller. Errors are gRPC statuses
// (UNAUTHENTICATED, PERMISSION_DENIED).
type AuthorizeFunc func(ctx context.Context, method string) (principal.Principal, error)

// withCaller authorizes the call and puts the caller into ctx and into the
// call's log line. A nil authorize makes every caller anonymous.
func withCaller(ctx context.Context, authorize AuthorizeFunc, method string) (context.Context, error) {
	if authorize == nil {
		return ctx, nil
	}
	p, err := authorize(ctx, method)
	if l := logLineFrom(ctx); l != nil {
		l.principal = p
	}
	if err != nil {
		return ctx, err
	}
	return principal.NewContext(ctx, p), nil
}

func principalUnary(authorize AuthorizeFunc) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := withCaller(ctx, authorize, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func principalStream(authorize AuthorizeFunc) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := withCaller(ss.Context(), authorize, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	}
}
