package client

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// OnBehalfOfHeader is the metadata key naming the agent that call-center
// software acts for, for example "staff/abc". Only keys issued with
// can_delegate may send it. WithOnBehalfOf sets it on every call; to act
// for someone else in one call, add it to that call's context with
// metadata.AppendToOutgoingContext(ctx, client.OnBehalfOfHeader, name).
const OnBehalfOfHeader = "x-aftersales-on-behalf-of"

// bearerCreds sends a bearer token with every call.
//
// gRPC refuses to send per-RPC credentials whose RequireTransportSecurity
// is true over a plaintext connection (grpc.NewClient fails). The token is
// a secret, so it requires TLS unless the caller explicitly chose
// WithInsecure; grpc's own oauth credentials always require TLS, which is
// why this small type exists.
type bearerCreds struct {
	token         string
	allowInsecure bool
}

// GetRequestMetadata returns the authorization header.
func (c bearerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + c.token}, nil
}

// RequireTransportSecurity reports whether the token needs TLS.
func (c bearerCreds) RequireTransportSecurity() bool {
	return !c.allowInsecure
}

// withActor adds the on-behalf-of header to ctx unless the caller already set one
// for this call.
func withActor(ctx context.Context, actor string) context.Context {
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(OnBehalfOfHeader)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, OnBehalfOfHeader, actor)
}

func actorUnary(actor string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(withActor(ctx, actor), method, req, reply, cc, opts...)
	}
}

// actorStream covers streaming methods, which the API has none of today,
// so that adding one does not silently drop the caller's identity.
func actorStream(actor string) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(withActor(ctx, actor), desc, cc, method, opts...)
	}
}
