package client

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// ActorHeader is the metadata key naming who the caller acts as, for
// example "partners/abc". WithActor sets it on every call; to act as
// someone else for one call, add it to that call's context with
// metadata.AppendToOutgoingContext(ctx, client.ActorHeader, name).
const ActorHeader = "x-aftersales-actor"

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

// withActor adds the actor header to ctx unless the caller already set one
// for this call.
func withActor(ctx context.Context, actor string) context.Context {
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(ActorHeader)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, ActorHeader, actor)
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
