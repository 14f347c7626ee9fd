package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/interceptors"
)

// newGRPCServer builds the gRPC server with the interceptor chain, the
// services that register adds, health and (if enabled) reflection, and
// registers its metrics and the Go and process collectors on reg. It
// serves TLS with tlsConfig, or plaintext when tlsConfig is nil. now is
// the clock of validation and of the rate limiter; drain is the gate that
// refuses new calls during a shutdown.
func newGRPCServer(cfg config.Config, logger *slog.Logger, reg *prometheus.Registry, now func() time.Time, tlsConfig *tls.Config, drain *interceptors.Drain, authorize interceptors.AuthorizeFunc, register func(grpc.ServiceRegistrar)) (*grpc.Server, *health.Server, error) {
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

	// Per process: replicas do not share buckets, which keeps the check
	// off the database on every call.
	limiter := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: cfg.RateLimit, Burst: cfg.RateBurst}, now)
	opts := interceptors.ServerOptions(interceptors.Options{
		Logger:          logger,
		Metrics:         metrics,
		DefaultDeadline: cfg.DefaultDeadline,
		Authorize:       authorize,
		RateLimiter:     limiter,
		Now:             now,
		Drain:           drain,
	})
	opts = append(opts, grpc.MaxRecvMsgSize(cfg.MaxRequestBytes))
	if tlsConfig != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConfig)))
	}
	s := grpc.NewServer(opts...)

	register(s)
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

// dialSelf connects the gateway to this process's own gRPC listener, so
// that JSON calls pass the same interceptors as gRPC calls. The listener
// may be bound to all interfaces; then the gateway uses IPv4 loopback,
// which Go's dual-stack wildcard listeners accept even on hosts without
// IPv6.
//
// When the gRPC server uses TLS, tlsConfig (see selfTLS) dials it over
// TLS; nil dials plaintext. The connection never carries a client
// certificate, so JSON callers authenticate with keys and tokens only.
func dialSelf(addr net.Addr, tlsConfig *tls.Config) (*grpc.ClientConn, error) {
	target := addr.String()
	if tcp, ok := addr.(*net.TCPAddr); ok && (tcp.IP == nil || tcp.IP.IsUnspecified()) {
		target = net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}
	creds := insecure.NewCredentials()
	if tlsConfig != nil {
		creds = credentials.NewTLS(tlsConfig)
	}
	conn, err := grpc.NewClient("passthrough:///"+target,
		grpc.WithTransportCredentials(creds),
		// The server's own responses are trusted and may exceed the 4 MiB
		// client default (a full page of tickets); requests are already
		// capped by the HTTP body limit.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
	)
	if err != nil {
		return nil, fmt.Errorf("connect gateway to gRPC server: %w", err)
	}
	return conn, nil
}
