package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/inproc"
	"github.com/aftersales/aftersales/server/internal/interceptors"
	"github.com/aftersales/aftersales/server/internal/limiter"
)

// newGRPCServer builds the gRPC server with the interceptor chain, the
// services that register adds, health and (if enabled) reflection, and
// registers its metrics and the Go and process collectors on reg. It
// serves TLS with tlsConfig, or plaintext when tlsConfig is nil. now is
// the clock of validation and of the rate limiter; drain is the gate that
// refuses new calls during a shutdown; redis, when not nil, shares the
// rate limit between the replicas. local gets the same services and the
// same unary interceptors, for the gateway's calls in process.
func newGRPCServer(cfg config.Config, logger *slog.Logger, reg *prometheus.Registry, now func() time.Time, tlsConfig *tls.Config, drain *interceptors.Drain, authorize interceptors.AuthorizeFunc, clientAddr func(context.Context) netip.Addr, redis *limiter.Redis, local *inproc.Conn, register func(grpc.ServiceRegistrar)) (*grpc.Server, *health.Server, error) {
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	for _, c := range []prometheus.Collector{
		metrics,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, nil, fmt.Errorf("register metrics: %w", err)
		}
	}

	// Never in the database, which would cost a write per call: per
	// process, or shared through Redis, one script run per call.
	rateLimiter := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: cfg.RateLimit, Burst: cfg.RateBurst, ClientAddr: clientAddr, Redis: redis}, now)
	unary, stream := interceptors.Chains(interceptors.Options{
		Logger:          logger,
		Metrics:         metrics,
		DefaultDeadline: cfg.DefaultDeadline,
		Authorize:       authorize,
		RateLimiter:     rateLimiter,
		Now:             now,
		Drain:           drain,
		Admission:       interceptors.NewAdmission(cfg.MaxInFlight, cfg.AdmissionWait),
	})
	local.Unary = unary
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(cfg.MaxRequestBytes), grpc.NumStreamWorkers(streamWorkers(cfg.MaxInFlight)),
		// Fixed flow-control windows turn off grpc-go's bandwidth
		// estimation, which pinged the client on every request that
		// reached an idle connection: a write and a read more per call
		// (strace of CreateTicket: 2.8 socket writes per call on the
		// gRPC side, 1.9 without). Requests are small (at most
		// --max-request-bytes); 1 MiB a stream, 4 MiB a connection,
		// hold any request in a few round trips.
		grpc.StaticStreamWindowSize(1 << 20), grpc.StaticConnWindowSize(4 << 20),
	}
	if cfg.GRPCMaxConnectionAge > 0 {
		// No MaxConnectionAgeGrace: calls and watch streams in flight
		// finish on the old connection however long they take, while new
		// calls go over a new one.
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: cfg.GRPCMaxConnectionAge}))
	}
	if tlsConfig != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConfig)))
	}
	s := grpc.NewServer(opts...)

	register(s)
	register(local)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	if cfg.Reflection {
		reflection.Register(s)
	}
	// Report each service by name as well as the server as a whole (""),
	// so a probe may ask for the one it depends on.
	for name := range s.GetServiceInfo() {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	// Zero-valued series for every method from the start, so rates and
	// alerts work before the first call.
	metrics.InitializeMetrics(s)
	return s, hs, nil
}

// listenGateway opens the gRPC server's listener for the gateway: on
// Linux a Unix socket at a random abstract address, which is no file, so
// nothing is left behind when the process dies, even killed; elsewhere a
// socket file in a new temporary directory, removed with the listener.
// Anyone on the host who can reach the TCP listener could reach this one
// too: the gateway's calls are told apart by a token (clientaddr), not by
// the way they come, and a caller connecting to the socket directly has
// no IP address, so its failed authentications are throttled as those of
// one address.
func listenGateway() (net.Listener, error) { return listenGatewayOn(runtime.GOOS == "linux") }

func listenGatewayOn(abstract bool) (net.Listener, error) {
	if abstract {
		lis, err := net.Listen("unix", "@aftersales-gateway-"+rand.Text())
		if err != nil {
			return nil, fmt.Errorf("listen for the gateway: %w", err)
		}
		return lis, nil
	}
	dir, err := os.MkdirTemp("", "aftersales-")
	if err != nil {
		return nil, fmt.Errorf("directory for the gateway's socket: %w", err)
	}
	lis, err := net.Listen("unix", filepath.Join(dir, "gateway.sock"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("listen for the gateway: %w", err)
	}
	return &removeDirListener{Listener: lis, dir: dir}, nil
}

// removeDirListener removes its socket's directory when it closes.
type removeDirListener struct {
	net.Listener
	dir string
}

func (l *removeDirListener) Close() error {
	err := l.Listener.Close()
	_ = os.RemoveAll(l.dir)
	return err
}

// dialSelf connects the gateway to this process's own gRPC server, for
// its streaming calls (unary ones run in process, see inproc): through
// the gateway's Unix socket, or a TCP address. A TCP listener may be bound to
// all interfaces; then the gateway uses IPv4 loopback, which Go's
// dual-stack wildcard listeners accept even on hosts without IPv6.
//
// When the gRPC server uses TLS, tlsConfig (see selfTLS) dials it over
// TLS; nil dials plaintext. The connection never carries a client
// certificate, so JSON callers authenticate with keys and tokens only.
func dialSelf(addr net.Addr, tlsConfig *tls.Config) (*grpc.ClientConn, error) {
	target := "passthrough:///" + addr.String()
	switch a := addr.(type) {
	case *net.TCPAddr:
		if a.IP == nil || a.IP.IsUnspecified() {
			target = "passthrough:///" + net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
		}
	case *net.UnixAddr:
		target = "unix://" + a.Name
		if strings.HasPrefix(a.Name, "@") {
			target = "unix-abstract:" + a.Name[1:]
		}
	}
	creds := insecure.NewCredentials()
	if tlsConfig != nil {
		creds = credentials.NewTLS(tlsConfig)
	}
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		// The server's own responses are trusted and may exceed the 4 MiB
		// client default (a full page of tickets); requests are already
		// capped by the HTTP body limit.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
		grpc.WithUnaryInterceptor(refuseInvalidUTF8),
	)
	if err != nil {
		return nil, fmt.Errorf("connect gateway to gRPC server: %w", err)
	}
	return conn, nil
}

// refuseInvalidUTF8 intercepts the gateway's calls. The gateway copies
// path and query parameters into string fields as they come, so "%FF"
// makes a request that cannot be marshaled, which gRPC reports as
// INTERNAL. That is the client's input: INVALID_ARGUMENT naming the
// field. (A JSON body that is not UTF-8 is refused by the JSON decoder.)
// The request is only inspected when the call failed with INTERNAL, so
// the check costs nothing otherwise; a request with such a field never
// reaches the server, so that INTERNAL was the marshaling.
func refuseInvalidUTF8(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if status.Code(err) != codes.Internal {
		return err
	}
	if m, ok := req.(proto.Message); ok {
		if field := invalidUTF8Field(m.ProtoReflect(), ""); field != "" {
			return apierr.InvalidField(field, "is not valid UTF-8")
		}
	}
	return err
}

// invalidUTF8Field returns the path of the first string field of m that
// is not valid UTF-8 (prefix is m's own path), or "".
func invalidUTF8Field(m protoreflect.Message, prefix string) string {
	var found string
	check := func(path string, fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() == protoreflect.StringKind && !utf8.ValidString(v.String()):
			found = path
		case fd.Message() != nil:
			found = invalidUTF8Field(v.Message(), path+".")
		}
		return found == ""
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				if !check(path, fd, l.Get(i)) {
					return false
				}
			}
			return true
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if !utf8.ValidString(k.String()) {
					found = path
					return false
				}
				return check(path, fd.MapValue(), mv)
			})
			return found == ""
		}
		return check(path, fd, v)
	})
	return found
}

// streamWorkers is how many goroutines serve calls, one call each at a
// time: as many as the calls admitted at once (--max-in-flight), 64 when
// that is unbounded. A call beyond them gets a goroutine of its own, as
// every call would without workers. A worker keeps the stack a call grew
// (interceptors, GORM, the driver: 3.9% of CreateTicket's CPU went to
// growing a fresh goroutine's stack, 1.0% with workers) for the next one.
func streamWorkers(maxInFlight int) uint32 {
	if maxInFlight <= 0 {
		return 64
	}
	return uint32(maxInFlight)
}
