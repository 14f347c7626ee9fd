// Package inproc calls this process's own gRPC services without a
// transport: a unary call runs the method's handler, behind the server's
// interceptor chain, on the caller's goroutine.
//
// The JSON gateway is its caller. Over a connection, even a Unix socket,
// a JSON call cost the server its gRPC call twice: the gateway's client
// side (marshaling, HTTP/2 framing, a write and a read, the transport's
// reader and writer goroutines) and the server side of the same. Here the
// handler sees what a connection would have given it, and nothing more:
// the request copied through its wire form (so a string that is not
// UTF-8 fails as it would on the wire), the outgoing metadata as incoming
// metadata, a peer, the method, the deadline and the cancellation, but
// none of the caller's context values. Headers and trailers the handler
// sets reach the caller's grpc.Header and grpc.Trailer options.
//
// Streaming calls go to another connection (Conn.Streams): they are long
// (watches), so their cost is per message, and grpc-go's transport gives
// them flow control and half-close, which this package does not copy.
package inproc

import (
	"context"
	"errors"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Conn is a grpc.ClientConnInterface over the services registered on it
// (it is a grpc.ServiceRegistrar too). Register every service before the
// first call; calls are then safe for concurrent use.
type Conn struct {
	// Unary is the server's unary interceptors, in the order the server
	// runs them (grpc.ChainUnaryInterceptor's).
	Unary []grpc.UnaryServerInterceptor
	// Client intercepts each call on the client side, as
	// grpc.WithUnaryInterceptor does; its cc argument is nil.
	Client grpc.UnaryClientInterceptor
	// Streams serves NewStream; nil refuses streaming calls with
	// UNIMPLEMENTED.
	Streams grpc.ClientConnInterface
	// Peer is the address the handlers see as the caller's.
	Peer net.Addr

	methods map[string]method
	chain   grpc.UnaryServerInterceptor
	once    sync.Once
}

type method struct {
	impl any
	desc grpc.MethodDesc
}

// RegisterService registers the unary methods of a service implementation.
func (c *Conn) RegisterService(sd *grpc.ServiceDesc, impl any) {
	if c.methods == nil {
		c.methods = make(map[string]method)
	}
	for _, m := range sd.Methods {
		c.methods["/"+sd.ServiceName+"/"+m.MethodName] = method{impl: impl, desc: m}
	}
}

// Invoke calls a unary method.
func (c *Conn) Invoke(ctx context.Context, fullMethod string, args, reply any, opts ...grpc.CallOption) error {
	if c.Client != nil {
		return c.Client(ctx, fullMethod, args, reply, nil, c.invoke, opts...)
	}
	return c.invoke(ctx, fullMethod, args, reply, nil, opts...)
}

// NewStream passes streaming calls to c.Streams.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, fullMethod string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if c.Streams == nil {
		return nil, status.Errorf(codes.Unimplemented, "streaming method %s is not served in process", fullMethod)
	}
	return c.Streams.NewStream(ctx, desc, fullMethod, opts...)
}

func (c *Conn) invoke(ctx context.Context, fullMethod string, args, reply any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
	c.once.Do(func() { c.chain = chain(c.Unary) })
	m, ok := c.methods[fullMethod]
	if !ok {
		return status.Errorf(codes.Unimplemented, "unknown method %s", fullMethod)
	}
	// The wire form, as a connection would carry it.
	in, err := proto.Marshal(args.(proto.Message))
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}

	sctx, stream, cancel := c.serverContext(ctx, fullMethod)
	defer cancel()
	resp, err := m.desc.Handler(m.impl, sctx, func(req any) error {
		if err := proto.Unmarshal(in, req.(proto.Message)); err != nil {
			return status.Errorf(codes.Internal, "grpc: error unmarshalling request: %v", err)
		}
		return nil
	}, c.chain)
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = stream.header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = stream.trailer
		case grpc.PeerCallOption:
			*o.PeerAddr = peer.Peer{Addr: c.Peer}
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		// The caller's context ended: the answer it gets over a
		// connection, whatever the handler did.
		return status.FromContextError(cerr).Err()
	}
	if err != nil {
		if _, ok := status.FromError(err); !ok && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return status.FromContextError(err).Err()
		}
		// Only a status crosses a connection; anything else arrives as
		// UNKNOWN with its text.
		return status.Convert(err).Err()
	}
	proto.Merge(reply.(proto.Message), resp.(proto.Message))
	return nil
}

// serverContext returns the handler's context: none of ctx's values, but
// its deadline and cancellation, its outgoing metadata as incoming, the
// peer, and a transport stream for grpc.Method, SetHeader and SetTrailer.
func (c *Conn) serverContext(ctx context.Context, fullMethod string) (context.Context, *serverStream, context.CancelFunc) {
	sctx, cancel := context.WithCancelCause(context.Background())
	stop := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	cancelDeadline := context.CancelFunc(func() {})
	if d, ok := ctx.Deadline(); ok {
		sctx, cancelDeadline = context.WithDeadline(sctx, d)
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		sctx = metadata.NewIncomingContext(sctx, md)
	}
	sctx = peer.NewContext(sctx, &peer.Peer{Addr: c.Peer})
	stream := &serverStream{method: fullMethod}
	sctx = grpc.NewContextWithServerTransportStream(sctx, stream)
	return sctx, stream, func() {
		stop()
		cancelDeadline()
		cancel(context.Canceled)
	}
}

// serverStream is the grpc.ServerTransportStream of one unary call. The
// handler and its interceptors run on the caller's goroutine, so it needs
// no lock.
type serverStream struct {
	method          string
	header, trailer metadata.MD
	headerSent      bool
}

func (s *serverStream) Method() string { return s.method }

func (s *serverStream) SetHeader(md metadata.MD) error {
	if s.headerSent {
		return errors.New("transport: the stream is done or WriteHeader was already called")
	}
	s.header = metadata.Join(s.header, md)
	return nil
}

func (s *serverStream) SendHeader(md metadata.MD) error {
	if err := s.SetHeader(md); err != nil {
		return err
	}
	s.headerSent = true
	return nil
}

func (s *serverStream) SetTrailer(md metadata.MD) error {
	s.trailer = metadata.Join(s.trailer, md)
	return nil
}

// chain makes one interceptor of several, the first outermost, as
// grpc.ChainUnaryInterceptor does.
func chain(interceptors []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	switch len(interceptors) {
	case 0:
		return nil
	case 1:
		return interceptors[0]
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return interceptors[0](ctx, req, info, next(interceptors, 1, info, handler))
	}
}

func next(interceptors []grpc.UnaryServerInterceptor, i int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler {
	if i == len(interceptors) {
		return final
	}
	return func(ctx context.Context, req any) (any, error) {
		return interceptors[i](ctx, req, info, next(interceptors, i+1, info, final))
	}
}

// Addr is a net.Addr for Conn.Peer: "inproc" and a name.
type Addr string

func (Addr) Network() string  { return "inproc" }
func (a Addr) String() string { return string(a) }

var (
	_ grpc.ServiceRegistrar    = (*Conn)(nil)
	_ grpc.ClientConnInterface = (*Conn)(nil)
)
