package inproc_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/aftersales/aftersales/server/internal/inproc"
)

const service = "aftersales.test.v1.InprocTest"

type ctxKey struct{}

// do answers by its request: "echo" with what its context holds,
// "headers" sets a header and a trailer, "error" fails with a plain
// error, "not-found" with a status, "wait" waits for its context to end;
// anything else comes back as it is.
func do(ctx context.Context, req *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	switch req.Value {
	case "echo":
		md, _ := metadata.FromIncomingContext(ctx)
		_, deadline := ctx.Deadline()
		method, _ := grpc.Method(ctx)
		return wrapperspb.String(strings.Join([]string{
			"k=" + strings.Join(md.Get("x-k"), ","),
			"method=" + method,
			"deadline=" + map[bool]string{true: "yes", false: "no"}[deadline],
			"value=" + map[bool]string{true: "leaked", false: "none"}[ctx.Value(ctxKey{}) != nil],
		}, " ")), nil
	case "headers":
		if err := grpc.SetHeader(ctx, metadata.Pairs("h", "1")); err != nil {
			return nil, err
		}
		if err := grpc.SetTrailer(ctx, metadata.Pairs("t", "2")); err != nil {
			return nil, err
		}
		return wrapperspb.String("ok"), nil
	case "error":
		return nil, errors.New("boom")
	case "not-found":
		return nil, status.Error(codes.NotFound, "no such thing")
	case "wait":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return req, nil
}

func register(s grpc.ServiceRegistrar) {
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Do",
			Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				req := &wrapperspb.StringValue{}
				if err := dec(req); err != nil {
					return nil, err
				}
				if ic == nil {
					return do(ctx, req)
				}
				info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + service + "/Do"}
				return ic(ctx, req, info, func(ctx context.Context, req any) (any, error) {
					return do(ctx, req.(*wrapperspb.StringValue))
				})
			},
		}},
	}, struct{}{})
}

// suffix is an interceptor that appends s to every answer, to show the
// order the interceptors run in.
func suffix(s string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, err
		}
		return wrapperspb.String(resp.(*wrapperspb.StringValue).Value + s), nil
	}
}

// conns returns the same service behind the same interceptors over a real
// connection on loopback and in process.
func conns(t *testing.T) map[string]grpc.ClientConnInterface {
	t.Helper()
	unary := []grpc.UnaryServerInterceptor{suffix("[outer]"), suffix("[inner]")}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(unary...))
	local := &inproc.Conn{Unary: unary, Peer: inproc.Addr("gateway")}
	register(srv)
	register(local)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	local.Streams = cc
	return map[string]grpc.ClientConnInterface{"connection": cc, "in process": local}
}

type answer struct {
	Value           string
	Code            codes.Code
	Message         string
	Header, Trailer metadata.MD
}

func call(ctx context.Context, cc grpc.ClientConnInterface, method, value string) answer {
	var header, trailer metadata.MD
	resp := &wrapperspb.StringValue{}
	err := cc.Invoke(ctx, method, wrapperspb.String(value), resp, grpc.Header(&header), grpc.Trailer(&trailer))
	a := answer{Value: resp.Value, Code: status.Code(err), Message: status.Convert(err).Message()}
	// Only what the handler set: a connection adds content-type.
	if v := header.Get("h"); len(v) > 0 {
		a.Header = metadata.Pairs("h", v[0])
	}
	if v := trailer.Get("t"); len(v) > 0 {
		a.Trailer = metadata.Pairs("t", v[0])
	}
	return a
}

// TestLikeAConnection makes the same calls over a connection and in
// process: the answers, errors, headers and trailers must be the same.
func TestLikeAConnection(t *testing.T) {
	cs := conns(t)
	method := "/" + service + "/Do"
	ctx := metadata.AppendToOutgoingContext(context.WithValue(context.Background(), ctxKey{}, "secret"), "x-k", "v1", "x-k", "v2")
	deadline, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()

	cases := []struct {
		name   string
		ctx    context.Context
		method string
		value  string
		want   answer
	}{
		{"plain", ctx, method, "hello", answer{Value: "hello[inner][outer]"}},
		{"context", deadline, method, "echo", answer{Value: "k=v1,v2 method=" + method + " deadline=yes value=none[inner][outer]"}},
		{"no deadline", ctx, method, "echo", answer{Value: "k=v1,v2 method=" + method + " deadline=no value=none[inner][outer]"}},
		{"headers", ctx, method, "headers", answer{Value: "ok[inner][outer]", Header: metadata.Pairs("h", "1"), Trailer: metadata.Pairs("t", "2")}},
		{"plain error", ctx, method, "error", answer{Code: codes.Unknown, Message: "boom"}},
		{"status", ctx, method, "not-found", answer{Code: codes.NotFound, Message: "no such thing"}},
		{"deadline", short, method, "wait", answer{Code: codes.DeadlineExceeded}},
		{"unknown method", ctx, "/" + service + "/Nope", "x", answer{Code: codes.Unimplemented}},
		{"unknown service", ctx, "/aftersales.test.v1.Nope/Do", "x", answer{Code: codes.Unimplemented}},
		{"not UTF-8", ctx, method, "\xff", answer{Code: codes.Internal}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for name, cc := range cs {
				got := call(c.ctx, cc, c.method, c.value)
				if c.want.Code == codes.Unimplemented || c.want.Code == codes.Internal || c.want.Code == codes.DeadlineExceeded {
					// The wording differs (over a connection, it depends on
					// which side saw the deadline first); the code is what
					// callers act on.
					got.Message = ""
				}
				assert.Equal(t, c.want, got, name)
			}
		})
	}
}

// TestCanceled: a call whose context is canceled while it runs ends
// CANCELED, and its handler's context ends too.
func TestCanceled(t *testing.T) {
	for name, cc := range conns(t) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		got := call(ctx, cc, "/"+service+"/Do", "wait")
		assert.Equal(t, codes.Canceled, got.Code, name)
	}
}

// TestPeerAndClientInterceptor: the handler sees the Peer, the client
// interceptor sees every call, and grpc.Peer gets the peer too.
func TestPeerAndClientInterceptor(t *testing.T) {
	var seen []string
	local := &inproc.Conn{
		Peer: inproc.Addr("gateway"),
		Client: func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			seen = append(seen, method)
			return invoker(ctx, method, req, reply, cc, opts...)
		},
		Unary: []grpc.UnaryServerInterceptor{func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			p, ok := peer.FromContext(ctx)
			require.True(t, ok)
			return wrapperspb.String(p.Addr.Network() + ":" + p.Addr.String()), nil
		}},
	}
	register(local)
	var p peer.Peer
	resp := &wrapperspb.StringValue{}
	require.NoError(t, local.Invoke(context.Background(), "/"+service+"/Do", wrapperspb.String("x"), resp, grpc.Peer(&p)))
	assert.Equal(t, "inproc:gateway", resp.Value)
	assert.Equal(t, "gateway", p.Addr.String())
	assert.Equal(t, []string{"/" + service + "/Do"}, seen)
}

// TestStreams: streaming calls go to Streams, or fail UNIMPLEMENTED
// without one.
func TestStreams(t *testing.T) {
	desc := &grpc.StreamDesc{StreamName: "Watch", ServerStreams: true}
	_, err := (&inproc.Conn{}).NewStream(context.Background(), desc, "/"+service+"/Watch")
	assert.Equal(t, codes.Unimplemented, status.Code(err))

	local := conns(t)["in process"]
	stream, err := local.NewStream(context.Background(), desc, "/"+service+"/Watch")
	require.NoError(t, err)
	require.NoError(t, stream.SendMsg(wrapperspb.String("x")))
	require.NoError(t, stream.CloseSend())
	// The connection's server has no such method: its answer, not ours.
	err = stream.RecvMsg(&wrapperspb.StringValue{})
	assert.Equal(t, codes.Unimplemented, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "unknown method Watch")
}
