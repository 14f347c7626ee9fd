package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/service"
	"github.com/aftersales/aftersales/server/internal/store"
)

// testService exists only in this test: a gRPC service with a JSON route,
// registered through the same options a real service would use. It has
// no row in the policy table, so every call of it is denied, even to
// admins.
const testService = "aftersales.test.v1.TestService"

// testHandlers is the test service, and the customer-token verifier of
// the app under test: verifying the credential is the first thing every
// authenticated call does, so the verifier is where a test holds up a
// call in flight ("Bearer wait") or makes one panic ("Bearer panic").
type testHandlers struct {
	// waiting receives a value when a "wait" verification has started.
	waiting chan struct{}
	// release lets blocked "wait" verifications return.
	release chan struct{}
}

func newTestHandlers() *testHandlers {
	return &testHandlers{waiting: make(chan struct{}, 1), release: make(chan struct{})}
}

// waitedSubject is the token subject a released "wait" verification
// returns: the external id of a customer the test creates.
const waitedSubject = "waited"

// Verify implements auth.TokenVerifier.
func (h *testHandlers) Verify(_ context.Context, raw string) (string, error) {
	switch raw {
	case "panic":
		panic("boom: secret detail")
	case "wait":
		h.waiting <- struct{}{}
		<-h.release
		return waitedSubject, nil
	}
	return "", errors.New("unknown test token")
}

func (h *testHandlers) do(_ context.Context, req *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
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
func (h *testHandlers) registerGateway(_ context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
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
	return startCtx(t, context.Background(), mutate, opts...)
}

// startCtx is start with Run's context derived from parent: the app also
// shuts down when parent is done.
func startCtx(t *testing.T, parent context.Context, mutate func(*config.Config), opts ...app.Option) *testApp {
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
		app.WithTokenVerifier(ta.handlers),
	}, opts...)

	ctx, cancel := context.WithCancel(parent)
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

// request sends an HTTP request with header to the app and returns the
// status code and body.
func (ta *testApp) request(t *testing.T, method, path string, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ta.baseURL+path, strings.NewReader(body))
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

// postDo calls the test service through the JSON gateway.
func (ta *testApp) postDo(t *testing.T, value string, header http.Header) (int, string) {
	t.Helper()
	body, err := json.Marshal(value)
	require.NoError(t, err)
	return ta.request(t, http.MethodPost, "/test/do", string(body), header)
}

func (ta *testApp) doGRPC(ctx context.Context, value string) (string, error) {
	resp := &wrapperspb.StringValue{}
	err := ta.conn.Invoke(ctx, "/"+testService+"/Do", wrapperspb.String(value), resp)
	return resp.GetValue(), err
}

// bearer returns the Authorization header value for credential.
func bearer(credential string) string { return "Bearer " + credential }

// as returns a context whose gRPC calls send credential.
func as(credential string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", bearer(credential))
}

// admin returns a context whose gRPC calls act as the bootstrap admin key.
func (ta *testApp) admin() context.Context { return as(ta.BootstrapKey()) }

// adminName is the principal name of the bootstrap admin key,
// "apiKeys/{id}".
func (ta *testApp) adminName(t *testing.T) string {
	t.Helper()
	id, _, ok := auth.ParseKey(ta.BootstrapKey())
	require.True(t, ok, "the bootstrap key is a well-formed key")
	return "apiKeys/" + id
}

// callLine returns the "grpc call" record with request id id.
func (ta *testApp) callLine(t *testing.T, id string) map[string]any {
	t.Helper()
	for _, l := range ta.callLines(t) {
		if l["request_id"] == id {
			return l
		}
	}
	t.Fatalf("no call logged with request id %s", id)
	return nil
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

		// The deprecated scorecard history is marked so in the document
		// (Swagger 2.0 schemas have no "deprecated": an x- extension).
		defs, _ := doc["definitions"].(map[string]any)
		card, _ := defs["v1StaffScorecard"].(map[string]any)
		props, _ := card["properties"].(map[string]any)
		history, _ := props["qualificationHistory"].(map[string]any)
		require.Equal(t, true, history["x-deprecated"], "StaffScorecard.qualificationHistory: %v", history)
		require.Contains(t, history["description"], "StaffService.GetQualification")
		change, _ := defs["v1QualificationChange"].(map[string]any)
		require.Equal(t, true, change["x-deprecated"], "QualificationChange: %v", change)
		current, _ := props["metrics"].(map[string]any)
		require.NotNil(t, current)
		require.NotContains(t, current, "x-deprecated", "only what is deprecated is marked")
	})

	t.Run("metrics", func(t *testing.T) {
		_, err := aftersalesv1.NewStaffServiceClient(ta.conn).ListStaff(ta.admin(), &aftersalesv1.ListStaffRequest{})
		require.NoError(t, err)
		_, err = ta.doGRPC(context.Background(), "hello")
		require.Equal(t, codes.Unauthenticated, status.Code(err))
		code, body := ta.get(t, "/metrics")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `grpc_server_handled_total{grpc_code="OK",grpc_method="ListStaff",grpc_service="aftersales.v1.StaffService",grpc_type="unary"} 1`)
		require.Contains(t, body, `grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="Do",grpc_service="aftersales.test.v1.TestService",grpc_type="unary"} 1`)
		require.Contains(t, body, "grpc_server_handling_seconds_bucket")
		require.Contains(t, body, "go_goroutines")
		require.Contains(t, body, "process_start_time_seconds")
		require.Contains(t, body, "aftersales_db_conflict_retries_total 0")
	})

	t.Run("reflection", func(t *testing.T) {
		// Reflection, like health, needs no credentials.
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

// TestGatewayForwardsHeaders checks that the gateway passes Authorization,
// X-Aftersales-On-Behalf-Of and X-Request-Id to the gRPC server, and that
// the call's log line names the authenticated principal.
func TestGatewayForwardsHeaders(t *testing.T) {
	ta := start(t, nil)

	code, body := ta.request(t, http.MethodGet, "/v1/staff", "", http.Header{
		"Authorization": {bearer(ta.BootstrapKey())},
		"X-Request-Id":  {"req-7"},
	})
	require.Equal(t, http.StatusOK, code, body)
	line := ta.callLine(t, "req-7")
	require.Equal(t, ta.adminName(t), line["principal"], "the bootstrap key is a service account named by its key")
	require.Equal(t, "/aftersales.v1.StaffService/ListStaff", line["method"])

	code, body = ta.request(t, http.MethodGet, "/v1/staff", "", http.Header{"X-Request-Id": {"req-8"}})
	require.Equal(t, http.StatusUnauthorized, code, body)
	require.Contains(t, body, "INVALID_CREDENTIALS")
	require.Equal(t, "anonymous", ta.callLine(t, "req-8")["principal"])

	// Call-center software acting for an agent: its key may delegate.
	agent, err := aftersalesv1.NewStaffServiceClient(ta.conn).CreateStaff(ta.admin(), &aftersalesv1.CreateStaffRequest{
		Staff: &aftersalesv1.Staff{DisplayName: "Ada", Role: aftersalesv1.Staff_AGENT},
	})
	require.NoError(t, err)
	key, err := aftersalesv1.NewApiKeyServiceClient(ta.conn).CreateApiKey(ta.admin(), &aftersalesv1.CreateApiKeyRequest{
		ApiKey: &aftersalesv1.ApiKey{DisplayName: "call center", ServiceRole: aftersalesv1.Staff_AGENT, CanDelegate: true},
	})
	require.NoError(t, err)

	code, body = ta.request(t, http.MethodGet, "/v1/"+agent.GetName(), "", http.Header{
		"Authorization":             {bearer(key.GetSecret())},
		"X-Aftersales-On-Behalf-Of": {agent.GetName()},
		"X-Request-Id":              {"req-9"},
	})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, agent.GetName(), ta.callLine(t, "req-9")["principal"], "the call acts as the agent")

	// The bootstrap key may not delegate: the header arrived.
	code, body = ta.request(t, http.MethodGet, "/v1/"+agent.GetName(), "", http.Header{
		"Authorization":             {bearer(ta.BootstrapKey())},
		"X-Aftersales-On-Behalf-Of": {agent.GetName()},
	})
	require.Equal(t, http.StatusForbidden, code, body)
	require.Contains(t, body, "ACCESS_DENIED")
}

// TestAuthorization checks that the app authenticates and authorizes
// every call, gRPC and JSON alike: health needs no credentials, the
// aftersales methods do, and a method without a policy rule is denied
// even to an admin.
func TestAuthorization(t *testing.T) {
	ta := start(t, nil)
	require.NotEmpty(t, ta.BootstrapKey(), "a fresh database gets an admin key")

	staff := aftersalesv1.NewStaffServiceClient(ta.conn)
	_, err := staff.ListStaff(context.Background(), &aftersalesv1.ListStaffRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Equal(t, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, apierr.Reason(err))
	_, err = staff.ListStaff(as("ask_not-a-key"), &aftersalesv1.ListStaffRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	_, err = staff.ListStaff(ta.admin(), &aftersalesv1.ListStaffRequest{})
	require.NoError(t, err)

	_, err = ta.doGRPC(ta.admin(), "hello")
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	require.Equal(t, aftersalesv1.ErrorReason_ACCESS_DENIED, apierr.Reason(err))
	code, body := ta.postDo(t, "hello", http.Header{"Authorization": {bearer(ta.BootstrapKey())}})
	require.Equal(t, http.StatusForbidden, code, body)
	code, body = ta.postDo(t, "hello", nil)
	require.Equal(t, http.StatusUnauthorized, code, body)

	require.Equal(t, healthpb.HealthCheckResponse_SERVING, ta.health(t), "health needs no credentials")
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

	// The test verifier panics on this token, inside the interceptor
	// chain, before any handler.
	_, err := aftersalesv1.NewStaffServiceClient(ta.conn).ListStaff(as("panic"), &aftersalesv1.ListStaffRequest{})
	st := status.Convert(err)
	require.Equal(t, codes.Internal, st.Code())
	require.Equal(t, "internal error", st.Message())
	require.Equal(t, aftersalesv1.ErrorReason_INTERNAL_ERROR, apierr.Reason(err))
	require.Len(t, st.Details(), 1, "only the ErrorInfo")
	require.NotContains(t, err.Error(), "secret")

	code, body := ta.request(t, http.MethodGet, "/v1/staff", "", http.Header{"Authorization": {bearer("panic")}})
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "INTERNAL_ERROR")
	require.NotContains(t, body, "secret")

	require.Contains(t, ta.logs.String(), "boom: secret detail", "the panic is in the log")
	_, err = aftersalesv1.NewStaffServiceClient(ta.conn).ListStaff(ta.admin(), &aftersalesv1.ListStaffRequest{})
	require.NoError(t, err, "still alive")
}

func TestMaxRequestSize(t *testing.T) {
	ta := start(t, func(c *config.Config) { c.MaxRequestBytes = 1024 })
	staff := aftersalesv1.NewStaffServiceClient(ta.conn)

	_, err := staff.CreateStaff(ta.admin(), &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: strings.Repeat("x", 2048)}})
	require.Equal(t, codes.ResourceExhausted, status.Code(err))

	code, _ := ta.request(t, http.MethodPost, "/v1/staff", `{"displayName":"`+strings.Repeat("x", 2048)+`"}`,
		http.Header{"Authorization": {bearer(ta.BootstrapKey())}})
	require.Equal(t, http.StatusBadRequest, code)

	// Under the limit.
	_, err = staff.CreateStaff(ta.admin(), &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{
		DisplayName: strings.Repeat("x", 200), Role: aftersalesv1.Staff_AGENT, Team: strings.Repeat("y", 100), Skills: []string{strings.Repeat("z", 100), strings.Repeat("w", 100)},
	}})
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
	customer, err := aftersalesv1.NewCustomerServiceClient(ta.conn).CreateCustomer(ta.admin(), &aftersalesv1.CreateCustomerRequest{
		Customer: &aftersalesv1.Customer{DisplayName: "Wendy", ExternalId: waitedSubject},
	})
	require.NoError(t, err)

	// A call in flight through the gateway when the shutdown begins: the
	// customer reading itself with a token whose verification waits.
	result := make(chan string, 1)
	go func() {
		// Not request: require must not fail the test from this goroutine.
		req, err := http.NewRequest(http.MethodGet, ta.baseURL+"/v1/"+customer.GetName(), nil)
		if err != nil {
			result <- err.Error()
			return
		}
		req.Header.Set("Authorization", bearer("wait"))
		resp, err := http.DefaultClient.Do(req)
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
	var got aftersalesv1.Customer
	body := <-result
	require.NoError(t, json.Unmarshal([]byte(body), &got), body)
	require.Equal(t, customer.GetName(), got.GetName(), "the in-flight call finishes")
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
		_, err := aftersalesv1.NewStaffServiceClient(ta.conn).ListStaff(as("wait"), &aftersalesv1.ListStaffRequest{})
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

// TestRebuildReports runs the rebuild-reports command beside a running
// server on the same database: the counted facts, rollups and faults are
// gone and the loop's watermarks are back at the epoch, so the loop
// recounts everything.
func TestRebuildReports(t *testing.T) {
	var cfg config.Config
	ta := start(t, func(c *config.Config) {
		c.ReportRollupInterval = time.Hour // the test's rows stay as written
		cfg = *c
	})
	db := ta.DB().Gorm(context.Background())
	now := time.Now().UTC()
	require.NoError(t, db.Create(&store.ReportFact{Kind: "ticket", ID: "t1", Data: "{}"}).Error)
	require.NoError(t, db.Create(&store.ReportRollup{Scope: "", GroupKind: 0, Day: 20000, TicketsOpened: 3}).Error)
	require.NoError(t, db.Create(&store.ReportFault{TicketID: "t1", Day: 20000, ProductModel: "WM-1", FaultCode: "E21"}).Error)
	require.NoError(t, db.Create(&store.ReportWatermark{Source: "tickets", UpdateTime: now, LastID: "t1"}).Error)

	require.NoError(t, app.RebuildReports(context.Background(), cfg, slog.New(slog.DiscardHandler)))

	for _, m := range []any{&store.ReportFact{}, &store.ReportRollup{}, &store.ReportFault{}} {
		var n int64
		require.NoError(t, db.Model(m).Count(&n).Error)
		require.Zero(t, n, "%T rows left", m)
	}
	var marks []store.ReportWatermark
	require.NoError(t, db.Find(&marks).Error)
	require.NotEmpty(t, marks)
	for _, m := range marks {
		require.True(t, m.UpdateTime.Equal(time.Unix(0, 0)), "%s watermark at %v", m.Source, m.UpdateTime)
		require.Empty(t, m.LastID)
	}
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

	code, body := ta.request(t, http.MethodPost, "/v1/staff", `{"displayName":"Ada","role":"AGENT"}`, http.Header{
		"Authorization": {bearer(ta.BootstrapKey())},
		"X-Request-Id":  {"req-create"},
	})
	require.Equal(t, http.StatusOK, code, body)
	var created struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	require.True(t, strings.HasPrefix(created.Name, "staff/"), created.Name)

	got, err := aftersalesv1.NewStaffServiceClient(ta.conn).GetStaff(ta.admin(), &aftersalesv1.GetStaffRequest{Name: created.Name})
	require.NoError(t, err)
	require.Equal(t, "Ada", got.GetDisplayName())

	code, body2 := ta.request(t, http.MethodGet, "/v1/"+created.Name, "", http.Header{"Authorization": {bearer(ta.BootstrapKey())}})
	require.Equal(t, http.StatusOK, code, body2)

	_, err = aftersalesv1.NewStaffServiceClient(ta.conn).CreateStaff(ta.admin(), &aftersalesv1.CreateStaffRequest{
		Staff: &aftersalesv1.Staff{DisplayName: strings.Repeat("x", 201)},
	})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, aftersalesv1.ErrorReason_FIELD_VIOLATION, apierr.Reason(err))
	require.Equal(t, "staff.display_name", apierr.FieldViolations(err)[0].Field)

	line := ta.callLine(t, "req-create")
	require.Equal(t, "/aftersales.v1.StaffService/CreateStaff", line["method"])
	require.Equal(t, "OK", line["code"])
	require.Equal(t, ta.adminName(t), line["principal"], "the gateway forwarded the Authorization header")
}

// TestApiKeyService issues, reads, lists and revokes keys through the
// API, as the bootstrap admin.
func TestApiKeyService(t *testing.T) {
	ta := start(t, nil)
	keys := aftersalesv1.NewApiKeyServiceClient(ta.conn)
	ctx := ta.admin()
	member, err := aftersalesv1.NewStaffServiceClient(ta.conn).CreateStaff(ctx, &aftersalesv1.CreateStaffRequest{
		Staff: &aftersalesv1.Staff{DisplayName: "Ada", Role: aftersalesv1.Staff_MANAGER},
	})
	require.NoError(t, err)
	shop, err := aftersalesv1.NewPartnerServiceClient(ta.conn).CreatePartner(ctx, &aftersalesv1.CreatePartnerRequest{
		Partner: &aftersalesv1.Partner{DisplayName: "Fixit"},
	})
	require.NoError(t, err)

	future := timestamppb.New(time.Now().Add(time.Hour))
	for _, tt := range []struct {
		name   string
		key    *aftersalesv1.ApiKey
		reason aftersalesv1.ErrorReason
		field  string
	}{
		{"no identity", &aftersalesv1.ApiKey{DisplayName: "x"}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "api_key"},
		{"two identities", &aftersalesv1.ApiKey{Staff: member.GetName(), ServiceRole: aftersalesv1.Staff_AGENT}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "api_key"},
		{"malformed staff", &aftersalesv1.ApiKey{Staff: "ada"}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "api_key.staff"},
		{"unknown staff", &aftersalesv1.ApiKey{Staff: "staff/nobody"}, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND, "api_key.staff"},
		{"unknown partner", &aftersalesv1.ApiKey{Partner: "partners/nobody"}, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND, "api_key.partner"},
		{"expired", &aftersalesv1.ApiKey{ServiceRole: aftersalesv1.Staff_AGENT, ExpireTime: timestamppb.New(time.Now().Add(-time.Minute))}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "api_key.expire_time"},
	} {
		_, err := keys.CreateApiKey(ctx, &aftersalesv1.CreateApiKeyRequest{ApiKey: tt.key})
		require.Equal(t, codes.InvalidArgument, status.Code(err), tt.name)
		require.Equal(t, tt.reason, apierr.Reason(err), tt.name)
		require.Equal(t, tt.field, apierr.FieldViolations(err)[0].Field, tt.name)
	}

	staffKey, err := keys.CreateApiKey(ctx, &aftersalesv1.CreateApiKeyRequest{ApiKey: &aftersalesv1.ApiKey{
		DisplayName: "Ada's laptop", Staff: member.GetName(), ExpireTime: future,
		Name: "apiKeys/mine", KeyPrefix: "ignored", RevokeTime: timestamppb.Now(), // output only
	}})
	require.NoError(t, err)
	k := staffKey.GetApiKey()
	require.True(t, strings.HasPrefix(k.GetName(), "apiKeys/"), k.GetName())
	require.NotEqual(t, "apiKeys/mine", k.GetName())
	require.Equal(t, member.GetName(), k.GetStaff())
	require.Equal(t, "Ada's laptop", k.GetDisplayName())
	require.True(t, future.AsTime().Truncate(time.Microsecond).Equal(k.GetExpireTime().AsTime()), "kept to the microsecond")
	require.Nil(t, k.GetRevokeTime())
	require.NotNil(t, k.GetCreateTime())
	require.True(t, strings.HasPrefix(staffKey.GetSecret(), "ask_"+strings.TrimPrefix(k.GetName(), "apiKeys/")+"_"), "the key holds its id")
	require.True(t, strings.HasPrefix(staffKey.GetSecret(), k.GetKeyPrefix()))

	partnerKey, err := keys.CreateApiKey(ctx, &aftersalesv1.CreateApiKeyRequest{ApiKey: &aftersalesv1.ApiKey{Partner: shop.GetName()}})
	require.NoError(t, err)
	require.Equal(t, shop.GetName(), partnerKey.GetApiKey().GetPartner())

	got, err := keys.GetApiKey(ctx, &aftersalesv1.GetApiKeyRequest{Name: k.GetName()})
	require.NoError(t, err)
	require.Equal(t, k.GetName(), got.GetName())
	require.Equal(t, k.GetKeyPrefix(), got.GetKeyPrefix())
	_, err = keys.GetApiKey(ctx, &aftersalesv1.GetApiKeyRequest{Name: "apiKeys/nope"})
	require.Equal(t, codes.NotFound, status.Code(err))

	list := func(filter string, size int32) []string {
		t.Helper()
		var names []string
		req := &aftersalesv1.ListApiKeysRequest{Filter: filter, PageSize: size}
		for {
			resp, err := keys.ListApiKeys(ctx, req)
			require.NoError(t, err)
			for _, key := range resp.GetApiKeys() {
				names = append(names, key.GetName())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return names
			}
		}
	}
	bootstrapName := ta.adminName(t)
	require.Equal(t, []string{bootstrapName, k.GetName(), partnerKey.GetApiKey().GetName()}, list("", 1), "pages in creation order")
	require.Equal(t, []string{k.GetName()}, list(`staff = "`+member.GetName()+`"`, 0))
	require.Equal(t, []string{partnerKey.GetApiKey().GetName()}, list(`partner = "`+shop.GetName()+`"`, 0))
	_, err = keys.ListApiKeys(ctx, &aftersalesv1.ListApiKeysRequest{Filter: `staff = "ada"`})
	require.Equal(t, aftersalesv1.ErrorReason_INVALID_FILTER, apierr.Reason(err))

	// The staff key works until it is revoked; revoking again keeps the
	// first time.
	_, err = aftersalesv1.NewStaffServiceClient(ta.conn).GetStaff(as(staffKey.GetSecret()), &aftersalesv1.GetStaffRequest{Name: member.GetName()})
	require.NoError(t, err)
	revoked, err := keys.RevokeApiKey(ctx, &aftersalesv1.RevokeApiKeyRequest{Name: k.GetName()})
	require.NoError(t, err)
	require.NotNil(t, revoked.GetRevokeTime())
	time.Sleep(2 * time.Millisecond)
	again, err := keys.RevokeApiKey(ctx, &aftersalesv1.RevokeApiKeyRequest{Name: k.GetName()})
	require.NoError(t, err)
	require.True(t, revoked.GetRevokeTime().AsTime().Equal(again.GetRevokeTime().AsTime()), "the first revoke time stays")
	_, err = aftersalesv1.NewStaffServiceClient(ta.conn).GetStaff(as(staffKey.GetSecret()), &aftersalesv1.GetStaffRequest{Name: member.GetName()})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "a revoked key stops working at once")
	_, err = keys.RevokeApiKey(ctx, &aftersalesv1.RevokeApiKeyRequest{Name: "apiKeys/nope"})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = keys.RevokeApiKey(ctx, &aftersalesv1.RevokeApiKeyRequest{Name: "staff/x"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	// Over JSON, the secret is in the create response only.
	code, body := ta.request(t, http.MethodPost, "/v1/apiKeys", `{"serviceRole":"AGENT","displayName":"json"}`, http.Header{"Authorization": {bearer(ta.BootstrapKey())}})
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"secret":"ask_`)
	var created struct {
		ApiKey struct {
			Name string `json:"name"`
		} `json:"apiKey"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	code, body = ta.request(t, http.MethodPost, "/v1/"+created.ApiKey.Name+":revoke", `{}`, http.Header{"Authorization": {bearer(ta.BootstrapKey())}})
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "revokeTime")
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
