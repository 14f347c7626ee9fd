package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/pprof"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/gen/openapi"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/clientaddr"
	"github.com/aftersales/aftersales/server/internal/interceptors"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/web"
)

// readyTimeout bounds the database ping of /readyz; probes usually give up
// after a second or so themselves.
const readyTimeout = 2 * time.Second

// httpHandler returns the HTTP routes: operational endpoints, the web
// console (GET / and /assets/…), and the JSON gateway for everything else.
func (a *App) httpHandler(ctx context.Context) (http.Handler, error) {
	gw, err := newGateway(ctx, a.gatewayConn, a.gateways, a.clientAddr)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.ready)
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.JSON)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelError),
		Registry: a.registry,
	}))
	if a.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	web.Register(mux)
	mux.Handle("/", http.MaxBytesHandler(gw, int64(a.cfg.MaxRequestBytes)))
	return a.closeWhenDraining(mux), nil
}

// closeWhenDraining makes every response during a shutdown close its
// connection, so that keep-alive clients reconnect, through the load
// balancer, to a replica that stays.
func (a *App) closeWhenDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.drain.Draining() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// ready answers /readyz: 200 when the database answers, 503 when it does
// not, when it is a Galera node that is not Synced (it would refuse
// queries or serve stale reads), or when the process is shutting down.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	if a.drain.Draining() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.db.Ping(ctx); err != nil {
		a.logger.WarnContext(ctx, "readiness check failed", slog.Any("error", err))
		reason := "database unreachable"
		if errors.Is(err, store.ErrNodeNotSynced) {
			reason = "database node not synced"
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// newGateway returns the JSON gateway with the handlers of register, which
// call the gRPC services through conn. Errors use the gateway's default
// handler (a google.rpc.Status as JSON with the HTTP status of its code),
// through gatewayError; JSON also when the client asked for CSV. Each call
// carries the HTTP client's address, resolved by clientAddr, to the gRPC
// server, which would otherwise see every JSON client as loopback.
func newGateway(ctx context.Context, conn grpc.ClientConnInterface, register []GatewayRegisterer, clientAddr *clientaddr.Resolver) (*runtime.ServeMux, error) {
	jsonpb := &runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{
			// Unset fields are left out: smaller responses, and AIP
			// clients treat absent and default the same.
			EmitUnpopulated: false,
			UseProtoNames:   false,
		},
		UnmarshalOptions: protojson.UnmarshalOptions{
			// A misspelt field must be an error, not silently
			// ignored, or a client would believe it set something.
			DiscardUnknown: false,
		},
	}
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, jsonpb),
		// Accept: text/csv: the report tables as CSV (see csv.go).
		runtime.WithMarshalerOption(mimeCSV, csvMarshaler{jsonpb}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithErrorHandler(gatewayError),
		runtime.WithMetadata(clientAddr.GatewayMetadata),
		runtime.WithRoutingErrorHandler(routingError),
	)
	for _, r := range register {
		if err := r(ctx, mux, conn); err != nil {
			return nil, fmt.Errorf("register gateway handlers: %w", err)
		}
	}
	return mux, nil
}

// incomingHeader forwards the delegation and request-id headers to the
// gRPC metadata keys the interceptors read, and otherwise keeps the
// gateway's default (permanent HTTP headers such as Authorization and
// Grpc-Metadata-* pass).
func incomingHeader(key string) (string, bool) {
	switch textproto.CanonicalMIMEHeaderKey(key) {
	case "X-Aftersales-On-Behalf-Of":
		return auth.OnBehalfOfMetadataKey, true
	case "X-Request-Id":
		return interceptors.RequestIDMetadataKey, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// gatewayError is the gateway's default error handler, except that:
//
//   - the gateway's own INVALID_ARGUMENT errors (a body, path or query
//     parameter that does not parse) get the reason FIELD_VIOLATION and a
//     BadRequest naming the field (see gatewayViolation): the API promises
//     an ErrorInfo on every error a method returns, and field violations
//     on every invalid argument, and these never reach the gRPC server to
//     get them there;
//   - an error with a RetryInfo (a rate-limited call, 429) also gets a
//     Retry-After header, which HTTP clients and proxies understand
//     without parsing the body.
func gatewayError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	if st.Code() == codes.InvalidArgument && apierr.Info(err) == nil {
		err = apierr.New(codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, st.Message(), &errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: gatewayViolation(ctx, st.Message()), Description: st.Message()}},
		})
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok && info.GetRetryDelay() != nil {
			w.Header().Set("Retry-After", retryAfter(info.GetRetryDelay().AsDuration()))
			break
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// gatewayParam finds the parameter named in the gateway's messages about
// path variables and query parameters ("type mismatch, parameter:
// ticket.name, …", `parsing field "page_size": …`).
var gatewayParam = regexp.MustCompile(`^(?:type mismatch, parameter: ([\w.]+),|missing parameter ([\w.]+)$|(?:parsing field|parsing list|too many values for field|duplicate field|field already set for oneof) "([\w.]+)")`)

// gatewayViolation names the field of a gateway INVALID_ARGUMENT: the
// path or query parameter its message names; otherwise the body could
// not be read, and the field is the method's body field ("ticket"), or
// "" for a body that is the whole request, as Google's APIs do. The
// message has the detail (a JSON position, an unknown key).
func gatewayViolation(ctx context.Context, msg string) string {
	if m := gatewayParam.FindStringSubmatch(msg); m != nil {
		return m[1] + m[2] + m[3]
	}
	method, ok := runtime.RPCMethod(ctx)
	if !ok {
		return ""
	}
	service, name, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if err != nil || !ok || sd.Methods().ByName(protoreflect.Name(name)) == nil {
		return ""
	}
	rule, _ := proto.GetExtension(sd.Methods().ByName(protoreflect.Name(name)).Options(), annotations.E_Http).(*annotations.HttpRule)
	if body := rule.GetBody(); body != "*" {
		return body
	}
	return ""
}

// routingError answers a request that no method serves, 404 NOT_FOUND
// with an ErrorInfo like every other error. That includes a known path
// with the wrong HTTP method, which the gateway would answer 501
// UNIMPLEMENTED: a server error for a client's mistake, and 405 would
// need an Allow header the gateway cannot say.
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	err := apierr.New(codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND, "no method of this API is served at this HTTP method and path")
	if httpStatus == http.StatusBadRequest {
		err = status.Error(codes.InvalidArgument, "the request path is not an absolute path")
	}
	gatewayError(ctx, mux, m, w, r, err)
}

// retryAfter formats d as a Retry-After value: whole seconds, rounded up
// so that a client waiting that long finds the limit lifted, and at least
// 1, since 0 would invite an immediate retry.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(int64(math.Ceil(d.Seconds())), 1), 10)
}
