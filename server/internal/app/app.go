// Package app wires the server process together: the store, the gRPC
// server with its interceptors, the JSON gateway and operational HTTP
// endpoints, and the background jobs; and it shuts them down in order.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aftersales/aftersales/server/internal/auth"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/aftersales/aftersales/server/internal/clientaddr"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/inproc"
	"github.com/aftersales/aftersales/server/internal/interceptors"
	"github.com/aftersales/aftersales/server/internal/limiter"
	"github.com/aftersales/aftersales/server/internal/natspub"
	"github.com/aftersales/aftersales/server/internal/service"
	"github.com/aftersales/aftersales/server/internal/store"
)

// Option changes how New builds the App, mostly for tests.
type Option func(*options)

type options struct {
	now      func() time.Time
	deps     []func(*service.Deps)
	jobs     []Job
	services []func(grpc.ServiceRegistrar)
	gateways []GatewayRegisterer
	tokens   auth.TokenVerifier
}

// GatewayRegisterer registers JSON gateway handlers on mux that call the
// gRPC services through conn, like service.RegisterGateway.
type GatewayRegisterer func(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error

// WithNow sets the clock of the store, which the services read, of the
// validation rules and of the rate limiter, so tests can control time. The
// default is time.Now.
func WithNow(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithTokenVerifier sets how customer tokens are verified; without it
// only API keys authenticate.
func WithTokenVerifier(v auth.TokenVerifier) Option {
	return func(o *options) { o.tokens = v }
}

// WithDeps lets the caller adjust the service dependencies after New has
// filled them in and before the services are registered.
func WithDeps(f func(*service.Deps)) Option {
	return func(o *options) { o.deps = append(o.deps, f) }
}

// WithJobs adds background jobs to run next to the servers.
func WithJobs(jobs ...Job) Option {
	return func(o *options) { o.jobs = append(o.jobs, jobs...) }
}

// WithServices registers extra gRPC services next to the aftersales ones,
// for example test-only services; they pass the same interceptors.
func WithServices(register func(grpc.ServiceRegistrar)) Option {
	return func(o *options) { o.services = append(o.services, register) }
}

// WithGateway adds JSON gateway handlers next to the aftersales ones, for
// example for services added with WithServices.
func WithGateway(register GatewayRegisterer) Option {
	return func(o *options) { o.gateways = append(o.gateways, register) }
}

// App is the running server process. Build it with New, then call Run
// exactly once: Run owns every resource New acquired and releases them.
type App struct {
	cfg    config.Config
	logger *slog.Logger
	db     *store.DB
	// services are the aftersales.v1 implementations.
	services *service.Services
	// jobs are the services' background loops and those of WithJobs.
	jobs []Job
	// gateways register the gateway handlers: the services' and any added
	// with WithGateway.
	gateways []GatewayRegisterer

	grpcServer *grpc.Server
	grpcLis    net.Listener
	// gatewayLis is the gRPC server's listener for the gateway's
	// streaming calls.
	gatewayLis net.Listener
	health     *health.Server

	httpServer *http.Server
	httpLis    net.Listener
	// gatewayConn is how the gateway calls the gRPC services: unary calls
	// in process, streams through gatewayStreams, a client connection to
	// gatewayLis.
	gatewayConn    *inproc.Conn
	gatewayStreams *grpc.ClientConn

	registry *prometheus.Registry
	// bootstrapKey is the admin key issued because the database had none,
	// valid until bootstrapExpire; empty otherwise.
	bootstrapKey    string
	bootstrapExpire time.Time
	// clientAddr finds the address calls come from, for both servers.
	clientAddr *clientaddr.Resolver
	// closers release what the services use, after the jobs stopped.
	closers []func()
	// drain refuses new calls once shutdown starts, and /readyz reads it
	// to turn load balancers away, while the calls in flight finish.
	drain *interceptors.Drain
}

// New opens and migrates the database (or, with --migrate-on-start=false,
// checks that it is migrated), builds the servers and binds their
// listeners, so GRPCAddr and HTTPAddr are known before Run; with ":0" in
// the configuration the system picks free ports.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (_ *App, err error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}

	a := &App{
		cfg:      cfg,
		logger:   logger,
		jobs:     o.jobs,
		gateways: append([]GatewayRegisterer{service.RegisterGateway}, o.gateways...),
		registry: prometheus.NewRegistry(),
		drain:    interceptors.NewDrain(),
	}
	// Undo whatever was acquired when a later step fails.
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	// Before the database, so that a wrong path fails before anything is
	// migrated.
	tlsCfg, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	// Likewise a malformed --redis-url; an unreachable Redis is not an
	// error (see openRedis).
	redisLimits, err := openRedis(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	if redisLimits != nil {
		cleanup = append(cleanup, redisLimits.Close)
		// After the gRPC server stopped: the interceptors use it until then.
		a.closers = append(a.closers, redisLimits.Close)
		if err := a.registry.Register(redisLimits); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}

	a.db, err = openStore(ctx, cfg, logger, o.now)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { _ = a.db.Close() })

	a.clientAddr = clientaddr.New(cfg.TrustedProxies)
	throttle := auth.NewThrottle(auth.ThrottleConfig{
		Failures:   cfg.AuthFailureLimit,
		Window:     cfg.AuthFailureWindow,
		ClientAddr: a.clientAddr.FromContext,
		Now:        o.now,
		Logger:     logger,
		Redis:      redisLimits,
	})
	// Deadlocks and, on Galera, certification conflicts that InTx
	// absorbed by rerunning the transaction: a rising rate means hot rows
	// or writes to one row spread over several nodes.
	retries := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "aftersales_db_conflict_retries_total",
		Help: "Transactions rerun after a deadlock or a Galera certification conflict.",
	}, func() float64 { return float64(a.db.ConflictRetries()) })
	for _, c := range []prometheus.Collector{throttle, retries} {
		if err := a.registry.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	authn := auth.NewAuthenticator(a.db, o.tokens, logger, auth.WithThrottle(throttle))
	authn.CacheKeys(cfg.APIKeyCacheTTL)
	deps := service.Deps{
		DB:          a.db,
		KeysChanged: authn.ForgetKeys,
		Logger:      logger,
		SLAInterval: cfg.SLACheckInterval,
		ReplicaID:   replicaID(),
		Rules:       service.RulesFrom(cfg),

		ComplaintInterval:     cfg.ComplaintCheckInterval,
		QualificationInterval: cfg.QualificationCheckInterval,
		ReportInterval:        cfg.ReportRollupInterval,
		Campaigns: service.Campaigns{
			ConfirmAbove: cfg.CampaignConfirmAbove,
			Batch:        cfg.CampaignBatch,
			Interval:     cfg.CampaignInterval,
		},
		MaintenanceInterval: cfg.MaintenanceInterval,
		Feed: service.Feed{
			Retention:          cfg.EventRetention,
			SequenceInterval:   cfg.EventSequenceInterval,
			WebhookTimeout:     cfg.WebhookTimeout,
			WebhookRetryWindow: cfg.WebhookRetryWindow,
			AllowPrivate:       cfg.WebhookAllowPrivate,
		},
	}
	if cfg.EventsNATSURL != "" {
		pub, err := natspub.Connect(ctx, cfg.EventsNATSURL, natspub.Options{
			Stream: cfg.EventsNATSStream, SubjectPrefix: cfg.EventsNATSSubjectPrefix, Name: "aftersales " + deps.ReplicaID,
		})
		if err != nil {
			return nil, fmt.Errorf("events publisher: %w", err)
		}
		cleanup = append(cleanup, pub.Close)
		a.closers = append(a.closers, pub.Close)
		deps.Publisher = pub
	}
	for _, f := range o.deps {
		f(&deps)
	}
	a.services = service.New(deps)
	// Before anything listens: a desk that does not exist is a
	// configuration error, like a wrong certificate path.
	if err := a.services.CheckComplaintDesk(ctx); err != nil {
		return nil, err
	}
	for name, run := range a.services.Jobs() {
		a.jobs = append(a.jobs, Job{Name: name, Run: run})
	}

	a.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for gRPC: %w", err)
	}
	cleanup = append(cleanup, func() { _ = a.grpcLis.Close() })
	if a.bootstrapKey, a.bootstrapExpire, err = auth.Bootstrap(ctx, a.db, cfg.BootstrapKeyTTL); err != nil {
		return nil, fmt.Errorf("bootstrap admin key: %w", err)
	}
	// JSON calls reach the unary methods in process: see package inproc.
	a.gatewayConn = &inproc.Conn{Client: refuseInvalidUTF8, Peer: inproc.Addr("gateway")}
	a.grpcServer, a.health, err = newGRPCServer(cfg, logger, a.registry, o.now, tlsCfg.grpc, a.drain, authn.Authorize, a.clientAddr.FromContext, redisLimits, a.gatewayConn, func(s grpc.ServiceRegistrar) {
		a.services.Register(s)
		for _, register := range o.services {
			register(s)
		}
	})
	if err != nil {
		return nil, err
	}

	// The gateway's streams (WatchEvents) reach the gRPC server through
	// a Unix socket of its own, which skips the TCP/IP stack that
	// loopback would run for each message.
	a.gatewayLis, err = listenGateway()
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { _ = a.gatewayLis.Close() })
	a.gatewayStreams, err = dialSelf(a.gatewayLis.Addr(), tlsCfg.self)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { _ = a.gatewayStreams.Close() })
	a.gatewayConn.Streams = a.gatewayStreams
	handler, err := a.httpHandler(ctx)
	if err != nil {
		return nil, err
	}
	a.httpLis, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for HTTP: %w", err)
	}
	a.httpServer = &http.Server{
		Handler:   handler,
		TLSConfig: tlsCfg.http,
		// Bounds how long a slow client may take to send headers; bodies
		// and handlers are bounded by the size limit and call deadlines.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return a, nil
}

// replicaID names this process among the replicas sharing the database,
// for leases: the host name, for people reading the leases table, plus a
// random suffix because processes may share a host name (several on one
// machine, or containers on the host network).
func replicaID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return host + "-" + rand.Text()[:8]
}

// redisStartTimeout bounds the ping to Redis at start-up, which only
// decides what to log.
const redisStartTimeout = 2 * time.Second

// openRedis returns the Redis that shares the rate limits between the
// replicas (--redis-url), or nil without one. It fails only on a
// malformed URL.
//
// An unreachable Redis is a warning, not a reason to refuse to start:
// Redis only makes limits cluster-wide, and without it every call is
// still limited, per process, as with no --redis-url at all. Refusing
// would make a Redis outage stop every replica that restarts or scales
// out, a far worse failure than a caller getting N times its budget for
// a while; and Redis is used from the first call on as soon as it
// answers. For the same reason /readyz does not ask Redis.
func openRedis(ctx context.Context, cfg config.Config, logger *slog.Logger) (*limiter.Redis, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	r, err := limiter.NewRedis(limiter.RedisOptions{
		URL:     cfg.RedisURL,
		Prefix:  cfg.RedisKeyPrefix,
		Timeout: cfg.RedisTimeout,
		Logger:  logger,
	})
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, redisStartTimeout)
	defer cancel()
	// Check logs a failure itself.
	if r.Check(pingCtx) == nil {
		logger.InfoContext(ctx, "rate limits shared through Redis", slog.String("redis_addr", r.Addr()), slog.String("key_prefix", cfg.RedisKeyPrefix))
	}
	return r, nil
}

// OpenStore opens the database of cfg and applies pending migrations, or
// with --migrate-on-start=false checks that none is pending. The commands that work on the database directly
// use it, so that they treat the schema as the server would.
func OpenStore(ctx context.Context, cfg config.Config, logger *slog.Logger) (*store.DB, error) {
	return openStore(ctx, cfg, logger, time.Now)
}

// openStore is OpenStore with a clock.
func openStore(ctx context.Context, cfg config.Config, logger *slog.Logger, now func() time.Time) (*store.DB, error) {
	db, err := store.Open(ctx, store.Options{
		URL:          cfg.DatabaseURL,
		DataDir:      cfg.DataDir,
		MaxOpenConns: cfg.DBMaxConns,
		Logger:       logger,
		Now:          now,
	})
	if err != nil {
		// The store's errors keep their cause out of the message (they can
		// reach clients); the operator starting the server needs it.
		var se *store.Error
		if errors.As(err, &se) && se.Cause() != nil {
			return nil, fmt.Errorf("open database: %w: %v", err, se.Cause())
		}
		return nil, fmt.Errorf("open database: %w", err)
	}
	if !cfg.MigrateOnStart {
		if err := checkMigrated(ctx, db, logger); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open database: %w", err)
		}
		return db, nil
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return db, nil
}

// Migrate applies the database migrations and returns; it is the migrate
// command.
func Migrate(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	// Whatever --migrate-on-start says: one environment (a Kubernetes
	// ConfigMap, say) serves the migration job and the replicas.
	cfg.MigrateOnStart = true
	db, err := openStore(ctx, cfg, logger, time.Now)
	if err != nil {
		return err
	}
	logger.InfoContext(ctx, "database migrated")
	return db.Close()
}

// RebuildReports is the rebuild-reports command: it empties the report
// facts and rollups and resets the rollup loop's watermarks in one
// transaction; the running servers' loop then recounts everything.
func RebuildReports(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	db, err := openStore(ctx, cfg, logger, time.Now)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := service.New(service.Deps{DB: db, Logger: logger, Rules: service.RulesFrom(cfg)}).RebuildReports(ctx); err != nil {
		return fmt.Errorf("rebuild reports: %w", err)
	}
	logger.InfoContext(ctx, "report rollups emptied; the servers' rollup loop recounts them")
	return nil
}

// BootstrapKey returns the admin API key issued at start-up because the
// database had no keys, or "". It exists only in memory: print it once,
// with BootstrapNotice.
func (a *App) BootstrapKey() string { return a.bootstrapKey }

// BootstrapNotice returns what to tell the operator about the bootstrap
// key, the key included, or "" when none was issued.
func (a *App) BootstrapNotice() string {
	if a.bootstrapKey == "" {
		return ""
	}
	return fmt.Sprintf(`
No API keys existed, so an admin key was created. It is shown only now:

  %s

It expires at %s, after %s (--bootstrap-key-ttl).
Use it now, as "authorization: Bearer <key>", to create a proper admin key
for yourself (POST /v1/apiKeys, or ApiKeyService.CreateApiKey), then
staff, partners and their keys; then revoke this one. Once it has
expired, "aftersales keys create --role ADMIN" issues an admin key on the
database directly.

`, a.bootstrapKey, a.bootstrapExpire.UTC().Format(time.RFC3339), a.cfg.BootstrapKeyTTL)
}

// GRPCAddr returns the address the gRPC server listens on.
func (a *App) GRPCAddr() string { return a.grpcLis.Addr().String() }

// HTTPAddr returns the address the HTTP server listens on.
func (a *App) HTTPAddr() string { return a.httpLis.Addr().String() }

// DB returns the database, for tests that need to look behind the API.
func (a *App) DB() *store.DB { return a.db }

// Services returns the service implementations, for tests and tools that
// trigger their background work directly (for example CheckSLA).
func (a *App) Services() *service.Services { return a.services }

// Run serves until ctx is done or a server fails, then shuts down
// gracefully within the configured shutdown timeout and closes the
// database. It returns nil after a clean shutdown on ctx.
func (a *App) Run(ctx context.Context) error {
	serveErr := make(chan error, 3)
	go func() { serveErr <- a.grpcServer.Serve(a.grpcLis) }()
	go func() { serveErr <- a.grpcServer.Serve(a.gatewayLis) }()
	go func() {
		if a.httpServer.TLSConfig != nil {
			// The certificate is in TLSConfig already.
			serveErr <- a.httpServer.ServeTLS(a.httpLis, "", "")
			return
		}
		serveErr <- a.httpServer.Serve(a.httpLis)
	}()

	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := runJobs(jobsCtx, a.logger, a.jobs)

	a.logger.InfoContext(ctx, "serving", slog.String("grpc_addr", a.GRPCAddr()), slog.String("http_addr", a.HTTPAddr()),
		slog.Bool("tls", a.cfg.TLS()), slog.Bool("client_certificates", a.cfg.TLS() && a.cfg.TLSClientCA != ""))

	var runErr error
	select {
	case <-ctx.Done():
		a.logger.InfoContext(ctx, "shutting down", slog.Any("cause", context.Cause(ctx)))
	case err := <-serveErr:
		// Either server stopping on its own is fatal: run the same
		// shutdown so the other one and the database close cleanly.
		if err == nil {
			err = errors.New("stopped unexpectedly")
		}
		runErr = fmt.Errorf("server failed: %w", err)
		a.logger.ErrorContext(ctx, "server failed, shutting down", slog.Any("error", err))
	}
	return errors.Join(runErr, a.shutdown(context.WithoutCancel(ctx), stopJobs, jobsDone))
}

// shutdown stops everything in the order that lets in-flight work finish
// and loses nothing acknowledged:
//
//  1. gRPC health turns NOT_SERVING and the drain gate closes: /readyz
//     answers 503, every new call, gRPC or JSON, is refused with
//     UNAVAILABLE (SHUTTING_DOWN; 503 over JSON), which clients retry
//     on another replica, and watch streams end the same way. Both
//     listeners stay open meanwhile, so a caller gets that answer rather
//     than a refused connection; HTTP responses carry Connection: close.
//  2. The background jobs stop, while the calls in flight finish.
//  3. Then HTTP (whose calls passed the same gate and are done), gRPC
//     (GracefulStop, which now has nothing left to wait for), and the
//     database last: every call that got an OK committed before it.
//
// After ShutdownTimeout the calls still running are cut off (the clients
// get UNAVAILABLE, and their transactions roll back).
func (a *App) shutdown(ctx context.Context, stopJobs context.CancelFunc, jobsDone <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error

	a.health.Shutdown()
	idle := a.drain.Start()

	stopJobs()
	select {
	case <-jobsDone:
	case <-ctx.Done():
		a.logger.WarnContext(ctx, "background jobs did not stop within the shutdown timeout")
	}
	select {
	case <-idle:
	case <-ctx.Done():
	}

	if err := a.httpServer.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shut down HTTP server: %w", err))
		_ = a.httpServer.Close()
	}
	_ = a.gatewayStreams.Close()

	stopped := make(chan struct{})
	go func() {
		a.grpcServer.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("shut down gRPC server: %w; cutting off in-flight calls", ctx.Err()))
		// Stop closes the connections and cancels the calls' contexts.
		// It does not wait for handlers that ignore their context, and
		// neither do we: the GracefulStop goroutine ends with them.
		a.grpcServer.Stop()
	}

	for _, c := range a.closers {
		c()
	}
	if err := a.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		a.logger.ErrorContext(ctx, "shutdown was not clean", slog.Any("error", err))
		return err
	}
	a.logger.InfoContext(ctx, "shut down")
	return nil
}
