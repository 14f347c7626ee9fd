package interceptors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/interceptors"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// testService is a gRPC service that exists only in this test. Its Do
// method acts on the request string so each case can make the handler
// misbehave in a different way.
const testService = "aftersales.test.v1.TestService"

func do(ctx context.Context, req *wrapperspb.StringValue) (proto.Message, error) {
	switch req.GetValue() {
	case "panic":
		panic("boom: secret detail")
	case "plain-error":
		return nil, errors.New("sql: SELECT secret FROM t")
	case "wrapped-status":
		return nil, fmt.Errorf("loading staff/x from table staff: %w", apierr.Newf(codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND, "staff/x not found"))
	case "context":
		return nil, fmt.Errorf("query: %w", context.DeadlineExceeded)
	case "whoami":
		return wrapperspb.String(principal.FromContext(ctx).String()), nil
	case "hold":
		// Occupies the handler until the test closes held's channel.
		held.entered <- struct{}{}
		<-held.release
		return req, nil
	case "deadline":
		d, ok := ctx.Deadline()
		if !ok {
			return wrapperspb.String("none"), nil
		}
		return wrapperspb.String(time.Until(d).Round(time.Hour).String()), nil
	}
	return req, nil
}

func validate(_ context.Context, req *aftersalesv1.CreateStaffRequest) (proto.Message, error) {
	return req.GetStaff(), nil
}

// unary adapts fn to a grpc.MethodDesc the way generated code does, so the
// interceptors see the call exactly as for a real service.
func unary[Req any, PReq interface {
	*Req
	proto.Message
}](name string, fn func(context.Context, PReq) (proto.Message, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			req := PReq(new(Req))
			if err := dec(req); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, r any) (any, error) { return fn(ctx, r.(PReq)) }
			if ic == nil {
				return h(ctx, req)
			}
			return ic(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + testService + "/" + name}, h)
		},
	}
}

// syncBuffer is a log destination the test reads while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log records written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// callLine returns the "grpc call" record of method, failing if there is
// not exactly one.
func (b *syncBuffer) callLine(t *testing.T, method string) map[string]any {
	var found []map[string]any
	for _, l := range b.lines(t) {
		if l["msg"] == "grpc call" && l["method"] == method {
			found = append(found, l)
		}
	}
	require.Len(t, found, 1, "log lines of %s", method)
	return found[0]
}

type fixture struct {
	conn     *grpc.ClientConn
	logs     *syncBuffer
	registry *prometheus.Registry
}

// handled returns grpc_server_handled_total of the test service's method
// and code.
func (f *fixture) handled(t *testing.T, method string, code codes.Code) float64 {
	t.Helper()
	families, err := f.registry.Gather()
	require.NoError(t, err)
	for _, fam := range families {
		if fam.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["grpc_service"] == testService && labels["grpc_method"] == method && labels["grpc_code"] == code.String() {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// start serves the test service through the interceptor chain; opts
// adjust the interceptors' Options.
func start(t *testing.T, opts ...func(*interceptors.Options)) *fixture {
	t.Helper()
	f := &fixture{logs: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	metrics := grpcprom.NewServerMetrics()
	f.registry = prometheus.NewRegistry()
	require.NoError(t, f.registry.Register(metrics))

	o := interceptors.Options{
		Logger:          logger,
		Metrics:         metrics,
		DefaultDeadline: 5 * time.Hour,
	}
	for _, opt := range opts {
		opt(&o)
	}
	s := grpc.NewServer(interceptors.ServerOptions(o)...)
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: testService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			unary("Do", do),
			unary("Validate", validate),
		},
	}, struct{}{})
	healthpb.RegisterHealthServer(s, health.NewServer())

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)

	f.conn, err = grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.conn.Close() })
	return f
}

func (f *fixture) do(ctx context.Context, value string) (string, error) {
	resp := &wrapperspb.StringValue{}
	err := f.conn.Invoke(ctx, "/"+testService+"/Do", wrapperspb.String(value), resp)
	return resp.GetValue(), err
}

// requireInternal checks that err is the bare INTERNAL the API promises
// for server bugs: fixed message, only an ErrorInfo, nothing of the cause.
func requireInternal(t *testing.T, err error) {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.Internal, st.Code())
	require.Equal(t, aftersalesv1.ErrorReason_INTERNAL_ERROR, apierr.Reason(err))
	require.Equal(t, "internal error", st.Message())
	require.Len(t, st.Details(), 1)
	require.IsType(t, &errdetails.ErrorInfo{}, st.Details()[0])
}

func TestPanicBecomesInternal(t *testing.T) {
	f := start(t)
	_, err := f.do(context.Background(), "panic")
	requireInternal(t, err)
	require.NotContains(t, err.Error(), "secret")

	// The panic is logged with its stack, and the call is still logged
	// and counted with the code the client got.
	var panicLine map[string]any
	for _, l := range f.logs.lines(t) {
		if l["msg"] == "panic in gRPC call" {
			panicLine = l
		}
	}
	require.NotNil(t, panicLine)
	require.Equal(t, "boom: secret detail", panicLine["panic"])
	require.Contains(t, panicLine["stack"], "interceptors_test.do")

	line := f.logs.callLine(t, "/"+testService+"/Do")
	require.Equal(t, "ERROR", line["level"])
	require.Equal(t, "Internal", line["code"])
	require.Equal(t, "INTERNAL_ERROR", line["reason"])
	require.Equal(t, 1.0, f.handled(t, "Do", codes.Internal))
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		value    string
		wantCode codes.Code
		wantMsg  string
	}{
		{value: "wrapped-status", wantCode: codes.NotFound, wantMsg: "staff/x not found"},
		{value: "context", wantCode: codes.DeadlineExceeded, wantMsg: context.DeadlineExceeded.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			f := start(t)
			_, err := f.do(context.Background(), tt.value)
			st := status.Convert(err)
			require.Equal(t, tt.wantCode, st.Code())
			require.Equal(t, tt.wantMsg, st.Message())
		})
	}

	t.Run("plain-error", func(t *testing.T) {
		f := start(t)
		_, err := f.do(context.Background(), "plain-error")
		requireInternal(t, err)
		require.NotContains(t, err.Error(), "SELECT")

		var logged bool
		for _, l := range f.logs.lines(t) {
			if l["msg"] == "handler returned an error that is not a gRPC status" {
				logged = true
				require.Equal(t, "sql: SELECT secret FROM t", l["error"])
			}
		}
		require.True(t, logged)
	})
}

// callerKey is the metadata key the test's Authorize reads the caller
// from: a stand-in for real credentials, which package auth checks and
// tests.
const callerKey = "x-test-caller"

// testAuthorize names the caller from callerKey: no caller is anonymous,
// one that is not a caller resource name is UNAUTHENTICATED, and a caller named "…/denied" is
// recognised but may not call (PERMISSION_DENIED).
func testAuthorize(calls *[]string) interceptors.AuthorizeFunc {
	var mu sync.Mutex
	return func(ctx context.Context, method string) (principal.Principal, error) {
		mu.Lock()
		*calls = append(*calls, method)
		mu.Unlock()
		values := metadata.ValueFromIncomingContext(ctx, callerKey)
		if len(values) == 0 {
			return principal.Principal{}, nil
		}
		p, err := principal.Parse(values[0])
		if err != nil {
			return principal.Principal{}, apierr.New(codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, "missing or invalid credentials")
		}
		if strings.HasSuffix(p.Name, "/denied") {
			return p, apierr.Newf(codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED, "the caller may not call %s", method)
		}
		return p, nil
	}
}

func TestPrincipal(t *testing.T) {
	t.Run("without Authorize every caller is anonymous", func(t *testing.T) {
		f := start(t)
		ctx := metadata.AppendToOutgoingContext(context.Background(), callerKey, "partners/p1")
		got, err := f.do(ctx, "whoami")
		require.NoError(t, err)
		require.Equal(t, "anonymous", got)
	})

	var calls []string
	f := start(t, func(o *interceptors.Options) { o.Authorize = testAuthorize(&calls) })

	got, err := f.do(context.Background(), "whoami")
	require.NoError(t, err)
	require.Equal(t, "anonymous", got)

	ctx := metadata.AppendToOutgoingContext(context.Background(),
		callerKey, "partners/p1",
		interceptors.RequestIDMetadataKey, "req-42")
	got, err = f.do(ctx, "whoami")
	require.NoError(t, err)
	require.Equal(t, "partners/p1", got, "the handler sees the authorized caller")
	require.Equal(t, "/"+testService+"/Do", calls[len(calls)-1], "Authorize is asked about the full method")

	var line map[string]any
	for _, l := range f.logs.lines(t) {
		if l["msg"] == "grpc call" && l["principal"] == "partners/p1" {
			line = l
		}
	}
	require.NotNil(t, line, "a log line with the principal")
	require.Equal(t, "req-42", line["request_id"])
	require.Equal(t, "INFO", line["level"])
	require.Equal(t, "OK", line["code"])
	require.Equal(t, float64(proto.Size(wrapperspb.String("whoami"))), line["request_bytes"])
	require.Contains(t, line, "duration_ms")

	// Rejected calls never reach the handler (it would panic), and are
	// logged and counted with the code the client got; a caller that was
	// recognised but denied is named in the line.
	ctx = metadata.AppendToOutgoingContext(context.Background(), callerKey, "invalid", interceptors.RequestIDMetadataKey, "req-401")
	_, err = f.do(ctx, "panic")
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Equal(t, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, apierr.Reason(err))

	ctx = metadata.AppendToOutgoingContext(context.Background(), callerKey, "staff/denied", interceptors.RequestIDMetadataKey, "req-403")
	_, err = f.do(ctx, "panic")
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	require.Equal(t, aftersalesv1.ErrorReason_ACCESS_DENIED, apierr.Reason(err))

	byID := map[string]map[string]any{}
	for _, l := range f.logs.lines(t) {
		require.NotEqual(t, "panic in gRPC call", l["msg"], "no rejected call reached the handler")
		if id, ok := l["request_id"].(string); ok && l["msg"] == "grpc call" {
			byID[id] = l
		}
	}
	require.Equal(t, "Unauthenticated", byID["req-401"]["code"])
	require.Equal(t, "anonymous", byID["req-401"]["principal"])
	require.Equal(t, "INVALID_CREDENTIALS", byID["req-401"]["reason"])
	require.Equal(t, "PermissionDenied", byID["req-403"]["code"])
	require.Equal(t, "staff/denied", byID["req-403"]["principal"])
	require.Equal(t, 1.0, f.handled(t, "Do", codes.Unauthenticated))
	require.Equal(t, 1.0, f.handled(t, "Do", codes.PermissionDenied))
}

func TestDefaultDeadline(t *testing.T) {
	f := start(t)

	got, err := f.do(context.Background(), "deadline")
	require.NoError(t, err)
	require.Equal(t, "5h0m0s", got, "the default applies when the client sent none")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	got, err = f.do(ctx, "deadline")
	require.NoError(t, err)
	require.Equal(t, "2h0m0s", got, "the client's deadline wins")
}

func TestValidation(t *testing.T) {
	f := start(t)
	call := func(req *aftersalesv1.CreateStaffRequest) error {
		return f.conn.Invoke(context.Background(), "/"+testService+"/Validate", req, &aftersalesv1.Staff{})
	}

	require.NoError(t, call(&aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Ada"}}))

	err := call(&aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{
		DisplayName: strings.Repeat("x", 201),
		Skills:      []string{"ok", ""},
	}})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, aftersalesv1.ErrorReason_FIELD_VIOLATION, apierr.Reason(err))
	vs := apierr.FieldViolations(err)
	require.Len(t, vs, 2)
	fields := map[string]string{}
	for _, v := range vs {
		fields[v.Field] = v.Description
	}
	require.Contains(t, fields, "staff.display_name")
	require.Contains(t, fields["staff.display_name"], "200")
	require.Contains(t, fields, "staff.skills[1]")

	err = call(&aftersalesv1.CreateStaffRequest{})
	vs = apierr.FieldViolations(err)
	require.Len(t, vs, 1)
	require.Equal(t, "staff", vs[0].Field)
	require.Equal(t, "value is required", vs[0].Description)
}
