package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/service"
)

// testService exists only in this test: a gRPC service with a JSON route,
// registered through the same options a real service would use, so the
// tests can make a handler panic or block.
const testService = "aftersales.test.v1.TestService"

// testHandlers lets a test see into and hold up the test service.
type testHandlers struct {
	// waiting receives a value when a Wait call has started.
	waiting chan struct{}
	// release lets blocked Wait calls return.
	release chan struct{}
}

func newTestHandlers() *testHandlers {
	return &testHandlers{waiting: make(chan struct{}, 1), release: make(chan struct{})}
}

func (h *testHandlers) do(ctx context.Context, req *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	switch req.GetValue() {
	case "panic":
		panic("boom: secret detail")
	case "whoami":
		return wrapperspb.String(principal.FromContext(ctx).String()), nil
	case "wait":
		h.waiting <- struct{}{}
		<-h.release
		return wrapperspb.String("released"), nil
	}
	return req, nil
}

func (h *testHandlers) register(s grpc.ServiceRegistrar) {
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: testService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Do",
			Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				req := &wrapperspb.StringValue{}
				if err := dec(req); err != nil {
					return nil, err
				}
				info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + testService + "/Do"}
				return ic(ctx, req, info, func(ctx context.Context, req any) (any, error) {
					return h.do(ctx, req.(*wrapperspb.StringValue))
				})
			},
		}},
	}, h)
}

// registerGateway serves POST /test/do the way generated gateway code
// does: annotate the context from the HTTP request (this applies the app's
// header matcher), call through conn, and write the result or error with
// the mux's marshaler and error handler. POST /test/echo decodes a
// CreateStaffRequest with the app's marshaler and writes it back.
func (h *testHandlers) registerGateway(_ context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	const method = "/" + testService + "/Do"
	err := mux.HandlePath(http.MethodPost, "/test/echo", func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		inbound, outbound := runtime.MarshalerForRequest(mux, r)
		req := &aftersalesv1.CreateStaffRequest{}
		if err := inbound.NewDecoder(r.Body).Decode(req); err != nil {
			runtime.HTTPError(r.Context(), mux, outbound, w, r, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		runtime.ForwardResponseMessage(r.Context(), mux, outbound, w, r, req)
	})
	if err != nil {
		return err
	}
	return mux.HandlePath(http.MethodPost, "/test/do", func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		inbound, outbound := runtime.MarshalerForRequest(mux, r)
		ctx, err := runtime.AnnotateContext(r.Context(), mux, r, method)
		if err != nil {
			runtime.HTTPError(r.Context(), mux, outbound, w, r, err)
			return
		}
		req := &wrapperspb.StringValue{}
		if err := inbound.NewDecoder(r.Body).Decode(req); err != nil {
			runtime.HTTPError(ctx, mux, outbound, w, r, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		resp := &wrapperspb.StringValue{}
		if err := conn.Invoke(ctx, method, req, resp); err != nil {
			runtime.HTTPError(ctx, mux, outbound, w, r, err)
			return
		}
		runtime.ForwardResponseMessage(ctx, mux, outbound, w, r, resp)
	})
}

// syncBuffer is a log destination the test reads while the app writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testApp struct {
	*app.App
	handlers *testHandlers
	logs     *syncBuffer
	conn     *grpc.ClientConn
	baseURL  string
	stop     context.CancelFunc
	// stopped is closed when Run has returned runErr.
	stopped chan struct{}
	runErr  error
}

// wait returns Run's result, failing the test if Run does not return
// within timeout.
func (ta *testApp) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-ta.stopped:
		return ta.runErr
	case <-time.After(timeout):
		t.Fatalf("Run did not return within %s", timeout)
		return nil
	}
}

// start runs the app on loopback ports with a fresh SQLite database and
// stops it when the test ends.
func start(t *testing.T, mutate func(*config.Config), opts ...app.Option) *testApp {
	t.Helper()
	cfg := config.Default()
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.ShutdownTimeout = 10 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	require.NoError(t, cfg.Validate())

	ta := &testApp{handlers: newTestHandlers(), logs: &syncBuffer{}, stopped: make(chan struct{})}
	logger := slog.New(slog.NewJSONHandler(ta.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]app.Option{
		app.WithServices(ta.handlers.register),
		app.WithGateway(ta.handlers.registerGateway),
	}, opts...)

	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, logger, opts...)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	ta.App, ta.stop = a, cancel
	go func() {
		ta.runErr = a.Run(ctx)
		close(ta.stopped)
	}()
	t.Cleanup(func() {
		cancel()
		_ = ta.wait(t, cfg.ShutdownTimeout+5*time.Second)
	})

	ta.baseURL = "http://" + a.HTTPAddr()
	ta.conn, err = grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ta.conn.Close() })
	return ta
}

// get returns the status code and body of GET path.
func (ta *testApp) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(ta.baseURL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// postDo calls the test service through the JSON gateway.
func (ta *testApp) postDo(t *testing.T, value string, header http.Header) (int, string) {
	t.Helper()
	body, err := json.Marshal(value)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, ta.baseURL+"/test/do", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(out)
}

func (ta *testApp) doGRPC(ctx context.Context, value string) (string, error) {
	resp := &wrapperspb.StringValue{}
	err := ta.conn.Invoke(ctx, "/"+testService+"/Do", wrapperspb.String(value), resp)
	return resp.GetValue(), err
}

func (ta *testApp) health(t *testing.T) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := healthpb.NewHealthClient(ta.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	return resp.GetStatus()
}

// callLines returns the "grpc call" log records.
func (ta *testApp) callLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(ta.logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["msg"] == "grpc call" {
			out = append(out, m)
		}
	}
	return out
}

func TestServes(t *testing.T) {
	ta := start(t, nil)

	require.Equal(t, healthpb.HealthCheckResponse_SERVING, ta.health(t))

	code, body := ta.get(t, "/healthz")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ok"}`, body)

	code, body = ta.get(t, "/readyz")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"ok"}`, body)

	t.Run("openapi", func(t *testing.T) {
		resp, err := http.Get(ta.baseURL + "/openapi.json")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var doc map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
		_, swagger := doc["swagger"]
		_, openapi := doc["openapi"]
		require.True(t, swagger || openapi, "has a swagger or openapi version key")
		require.Contains(t, doc, "paths")
	})

	t.Run("metrics", func(t *testing.T) {
		_, err := ta.doGRPC(context.Background(), "hello")
		require.NoError(t, err)
		code, body := ta.get(t, "/metrics")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `grpc_server_handled_total{grpc_code="OK",grpc_method="Do",grpc_service="aftersales.test.v1.TestService",grpc_type="unary"} 1`)
		require.Contains(t, body, "grpc_server_handling_seconds_bucket")
		require.Contains(t, body, "go_goroutines")
		require.Contains(t, body, "process_start_time_seconds")
	})

	t.Run("reflection", func(t *testing.T) {
		stream, err := reflectionpb.NewServerReflectionClient(ta.conn).ServerReflectionInfo(context.Background())
		require.NoError(t, err)
		require.NoError(t, stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
		}))
		resp, err := stream.Recv()
		require.NoError(t, err)
		require.NoError(t, stream.CloseSend())
		var names []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		require.Contains(t, names, "grpc.health.v1.Health")
		require.Contains(t, names, testService)
	})

	t.Run("unknown path", func(t *testing.T) {
		resp, err := http.Get(ta.baseURL + "/v1/no-such-thing")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var st struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		require.Equal(t, int(codes.NotFound), st.Code)
	})

	t.Run("pprof off by default", func(t *testing.T) {
		code, _ := ta.get(t, "/debug/pprof/")
		require.Equal(t, http.StatusNotFound, code)
	})
}

func TestPprof(t *testing.T) {
	ta := start(t, func(c *config.Config) { c.Pprof = true })
	code, body := ta.get(t, "/debug/pprof/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "goroutine")
}

func TestReflectionOff(t *testing.T) {
	ta := start(t, func(c *config.Config) { c.Reflection = false })
	stream, err := reflectionpb.NewServerReflectionClient(ta.conn).ServerReflectionInfo(context.Background())
	require.NoError(t, err)
	_, err = stream.Recv()
	require.Equal(t, codes.Unimplemented, status.Code(err))
}

func TestGatewayForwardsHeaders(t *testing.T) {
	ta := start(t, nil)

	code, body := ta.postDo(t, "whoami", http.Header{
		"X-Aftersales-Actor": {"staff/abc"},
		"X-Request-Id":       {"req-7"},
	})
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `"staff/abc"`, body)

	var line map[string]any
	for _, l := range ta.callLines(t) {
		if l["request_id"] == "req-7" {
			line = l
		}
	}
	require.NotNil(t, line, "the call through the gateway is logged with its request id")
	require.Equal(t, "staff/abc", line["principal"])
	require.Equal(t, "/"+testService+"/Do", line["method"])

	code, body = ta.postDo(t, "whoami", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `"anonymous"`, body)

	code, body = ta.postDo(t, "whoami", http.Header{"X-Aftersales-Actor": {"robots/r2"}})
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "FIELD_VIOLATION")
	require.Contains(t, body, "x-aftersales-actor")
}

func TestGatewayJSON(t *testing.T) {
	ta := start(t, nil)
	post := func(body string) (int, string) {
		resp, err := http.Post(ta.baseURL+"/test/echo", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(out)
	}

	// lowerCamelCase names, and unset fields left out.
	code, body := post(`{"staff":{"displayName":"Ada"}}`)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"staff":{"displayName":"Ada"}}`, body)

	// A misspelt field is an error, not silently dropped, and carries a
	// reason like every API error.
	code, body = post(`{"staff":{"displayNam":"Ada"}}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, "displayNam")
	require.Contains(t, body, `"reason":"FIELD_VIOLATION"`)
}

func TestPanicBecomesInternal(t *testing.T) {
	ta := start(t, nil)

	_, err := ta.doGRPC(context.Background(), "panic")
	st := status.Convert(err)
	require.Equal(t, codes.Internal, st.Code())
	require.Equal(t, "internal error", st.Message())
	require.Equal(t, aftersalesv1.ErrorReason_INTERNAL_ERROR, apierr.Reason(err))
	require.Len(t, st.Details(), 1, "only the ErrorInfo")
	require.NotContains(t, err.Error(), "secret")

	code, body := ta.postDo(t, "panic", nil)
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "INTERNAL_ERROR")
	require.NotContains(t, body, "secret")

	require.Contains(t, ta.logs.String(), "boom: secret detail", "the panic is in the log")
	_, err = ta.doGRPC(context.Background(), "still alive")
	require.NoError(t, err)
}

func TestMaxRequestSize(t *testing.T) {
	ta := start(t, func(c *config.Config) { c.MaxRequestBytes = 1024 })

	_, err := ta.doGRPC(context.Background(), strings.Repeat("x", 2048))
	require.Equal(t, codes.ResourceExhausted, status.Code(err))

	code, _ := ta.postDo(t, strings.Repeat("x", 2048), nil)
	require.Equal(t, http.StatusBadRequest, code)

	_, err = ta.doGRPC(context.Background(), strings.Repeat("x", 512))
	require.NoError(t, err)
}

func TestGracefulShutdown(t *testing.T) {
	jobStarted := make(chan principal.Principal, 1)
	jobStopped := make(chan struct{})
	job := app.Job{Name: "test-job", Run: func(ctx context.Context) error {
		jobStarted <- principal.FromContext(ctx)
		<-ctx.Done()
		close(jobStopped)
		return ctx.Err()
	}}
	ta := start(t, nil, app.WithJobs(job))
	require.Equal(t, "system/test-job", (<-jobStarted).String())

	// A call in flight through the gateway when the shutdown begins.
	result := make(chan string, 1)
	go func() {
		// Not postDo: require must not fail the test from this goroutine.
		resp, err := http.Post(ta.baseURL+"/test/do", "application/json", strings.NewReader(`"wait"`))
		if err != nil {
			result <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		result <- string(body)
	}()
	<-ta.handlers.waiting

	ta.stop()
	<-jobStopped
	// While the call is still running, the server reports NOT_SERVING so
	// that load balancers stop sending new calls.
	require.Eventually(t, func() bool {
		return ta.health(t) == healthpb.HealthCheckResponse_NOT_SERVING
	}, 5*time.Second, 10*time.Millisecond)

	close(ta.handlers.release)
	require.JSONEq(t, `"released"`, <-result, "the in-flight call finishes")
	require.NoError(t, ta.wait(t, 10*time.Second))

	// The database is closed.
	require.Error(t, ta.DB().Ping(context.Background()))
}

func TestShutdownTimeoutCutsOffCalls(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ta := start(t, func(c *config.Config) { c.ShutdownTimeout = timeout })
	defer close(ta.handlers.release)

	callErr := make(chan error, 1)
	go func() {
		_, err := ta.doGRPC(context.Background(), "wait")
		callErr <- err
	}()
	<-ta.handlers.waiting

	ta.stop()
	require.ErrorContains(t, ta.wait(t, timeout+5*time.Second), "cutting off in-flight calls")
	require.Equal(t, codes.Unavailable, status.Code(<-callErr))
}

func TestDeps(t *testing.T) {
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var got service.Deps
	ta := start(t, func(c *config.Config) { c.SLACheckInterval = time.Hour },
		app.WithNow(func() time.Time { return fixed }),
		app.WithDeps(func(d *service.Deps) { got = *d }),
	)
	require.Same(t, ta.DB(), got.DB)
	require.NotNil(t, got.Logger)
	require.Equal(t, time.Hour, got.SLAInterval)
	require.NotEmpty(t, got.ReplicaID)
	require.Equal(t, fixed, ta.DB().Now(), "the store, and so the services, use the clock")
	require.NotNil(t, ta.Services())
}

func TestMigrate(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	require.NoError(t, app.Migrate(context.Background(), cfg, logger))
	// Applying them again is a no-op.
	require.NoError(t, app.Migrate(context.Background(), cfg, logger))
}

func TestNewFailsOnBusyPort(t *testing.T) {
	ta := start(t, nil)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr = ta.GRPCAddr()
	cfg.HTTPAddr = "127.0.0.1:0"
	_, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "listen for gRPC")
}

// TestRealServices goes through the aftersales services as registered by
// New: a JSON create through the gateway, a gRPC read of the result, and a
// request that protovalidate rejects before any handler runs.
func TestRealServices(t *testing.T) {
	ta := start(t, nil)

	req, err := http.NewRequest(http.MethodPost, ta.baseURL+"/v1/staff", strings.NewReader(`{"displayName":"Ada","role":"AGENT"}`))
	require.NoError(t, err)
	req.Header.Set("X-Aftersales-Actor", "staff/admin")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var created struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	}
	require.NoError(t, json.Unmarshal(body, &created))
	require.True(t, strings.HasPrefix(created.Name, "staff/"), created.Name)

	got, err := aftersalesv1.NewStaffServiceClient(ta.conn).GetStaff(context.Background(), &aftersalesv1.GetStaffRequest{Name: created.Name})
	require.NoError(t, err)
	require.Equal(t, "Ada", got.GetDisplayName())

	code, body2 := ta.get(t, "/v1/"+created.Name)
	require.Equal(t, http.StatusOK, code, body2)

	_, err = aftersalesv1.NewStaffServiceClient(ta.conn).CreateStaff(context.Background(), &aftersalesv1.CreateStaffRequest{
		Staff: &aftersalesv1.Staff{DisplayName: strings.Repeat("x", 201)},
	})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, aftersalesv1.ErrorReason_FIELD_VIOLATION, apierr.Reason(err))
	require.Equal(t, "staff.display_name", apierr.FieldViolations(err)[0].Field)

	var line map[string]any
	for _, l := range ta.callLines(t) {
		if l["method"] == "/aftersales.v1.StaffService/CreateStaff" && l["code"] == "OK" {
			line = l
		}
	}
	require.NotNil(t, line)
	require.Equal(t, "staff/admin", line["principal"], "the gateway forwarded the actor header")
}

func TestReadyzWithoutDatabase(t *testing.T) {
	ta := start(t, nil)
	require.NoError(t, ta.DB().Close())

	code, body := ta.get(t, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.JSONEq(t, `{"status":"unavailable","reason":"database unreachable"}`, body)

	code, _ = ta.get(t, "/healthz")
	require.Equal(t, http.StatusOK, code, "the process itself is alive")
}
