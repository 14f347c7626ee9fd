// Package config holds the server's settings and reads them from
// command-line flags and AFTERSALES_* environment variables.
//
// Every setting has one flag and one environment variable whose name is
// derived from the flag: --grpc-addr is AFTERSALES_GRPC_ADDR. The
// environment variable replaces the built-in default and the flag replaces
// both, so a container image can be configured by environment while a
// developer still overrides one value on the command line.
//
// Commands that need options of their own (keys, dev-token) take them as
// flags after the command name; those are not settings and have no
// environment variables.
//
// It uses the standard library's flag package on purpose: the server has
// a few dozen flat settings and a handful of commands, which flag handles
// fully, and every dependency is one more thing to audit and keep updated.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
)

// EnvPrefix starts the name of every environment variable read by Load.
const EnvPrefix = "AFTERSALES_"

// The commands the server binary runs.
const (
	// CommandServe serves the APIs until the process is told to stop.
	CommandServe = "serve"
	// CommandMigrate applies the database migrations and exits.
	CommandMigrate = "migrate"
	// CommandKeys manages API keys directly in the database, on the
	// operator's machine: see KeysCommand.
	CommandKeys = "keys"
	// CommandDevToken prints a customer token for development: see
	// DevTokenCommand.
	CommandDevToken = "dev-token"
	// CommandRebuildReports empties the report rollups so that the
	// servers' rollup loop recounts them from the source tables.
	CommandRebuildReports = "rebuild-reports"
)

// The subcommands of CommandKeys.
const (
	// KeysCreate issues a key and prints it, once.
	KeysCreate = "create"
	// KeysList lists the keys.
	KeysList = "list"
	// KeysRevoke revokes a key.
	KeysRevoke = "revoke"
)

// commands are the commands Load accepts, in the order Usage lists them.
var commands = []string{CommandServe, CommandMigrate, CommandKeys, CommandDevToken, CommandRebuildReports}

// The log formats.
const (
	LogFormatJSON = "json"
	LogFormatText = "text"
)

// Config is the server's configuration. Load fills it; tests may also build
// one by hand, starting from Default.
type Config struct {
	// Command is CommandServe, CommandMigrate, CommandKeys,
	// CommandDevToken or CommandRebuildReports.
	Command string
	// Keys are the options of CommandKeys.
	Keys KeysCommand
	// DevToken are the options of CommandDevToken.
	DevToken DevTokenCommand

	// GRPCAddr is the gRPC listen address.
	GRPCAddr string
	// GRPCMaxConnectionAge is how long a client's gRPC connection may
	// last before the server asks the client to reconnect; 0 leaves
	// connections open until either side closes them.
	GRPCMaxConnectionAge time.Duration
	// HTTPAddr is the listen address of the JSON gateway and the
	// operational endpoints (/healthz, /readyz, /metrics, /openapi.json).
	HTTPAddr string

	// DatabaseURL selects the database; empty means embedded SQLite in
	// DataDir. See store.Options.URL for the accepted forms.
	DatabaseURL string
	// DataDir holds the embedded SQLite database.
	DataDir string
	// DBMaxConns caps open database connections; 0 keeps the store's
	// default for the database kind.
	DBMaxConns int
	// MigrateOnStart applies pending migrations when a command other than
	// CommandMigrate opens the database. When false they refuse to start
	// while a migration is pending: a deployment migrates once, with
	// CommandMigrate, before it starts or replaces the replicas.
	MigrateOnStart bool

	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogFormat is LogFormatJSON or LogFormatText.
	LogFormat string

	// ShutdownTimeout bounds the graceful shutdown; after it in-flight
	// calls are cut off.
	ShutdownTimeout time.Duration
	// SLACheckInterval is how often the background loop looks for SLA
	// breaches.
	SLACheckInterval time.Duration
	// DefaultDeadline is the deadline given to a call whose client sent
	// none; 0 leaves such calls without one.
	DefaultDeadline time.Duration
	// MaxRequestBytes caps the size of one request: a gRPC message or an
	// HTTP body.
	MaxRequestBytes int
	// MaxInFlight bounds the unary calls one process works on at once; 0
	// bounds nothing. AdmissionWait is how long a call over the bound
	// waits for room before it is refused with UNAVAILABLE (OVERLOADED).
	MaxInFlight   int
	AdmissionWait time.Duration

	// Reflection registers the gRPC reflection service, so tools like
	// grpcurl work without the .proto files.
	Reflection bool
	// Pprof serves net/http/pprof under /debug/pprof/ on the HTTP address.
	Pprof bool

	// RateLimit is the sustained number of calls per second each
	// principal may make, per process, or in all with RedisURL; 0
	// disables rate limiting.
	RateLimit float64
	// RateBurst is how many calls a principal may make at once after
	// being idle: the size of its token bucket.
	RateBurst int
	// APIKeyCacheTTL is how long a replica reuses an API key it read;
	// revocations made through other replicas take effect within it.
	APIKeyCacheTTL time.Duration

	// AuthFailureLimit is how many failed authentications one client
	// address may make within AuthFailureWindow before its further
	// attempts are refused unchecked; 0 disables the throttle.
	AuthFailureLimit int
	// AuthFailureWindow is the window of AuthFailureLimit.
	AuthFailureWindow time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client address; from other peers the header is ignored.
	TrustedProxies Prefixes

	// RedisURL, when set, keeps the rate limits' and the failed
	// authentications' buckets in that Redis, shared by every replica
	// using it; empty keeps them per process.
	RedisURL string
	// RedisKeyPrefix starts the names of the Redis keys, so that
	// deployments can share one Redis.
	RedisKeyPrefix string
	// RedisTimeout bounds each call to Redis; a call that fails or takes
	// longer is limited by this process alone.
	RedisTimeout time.Duration

	// BootstrapKeyTTL is how long the admin key issued on a first start
	// (no keys in the database) works.
	BootstrapKeyTTL time.Duration

	// TLS is on when TLSCert and TLSKey are both set; see TLS.

	// TLSCert is the PEM file of the server certificate, optionally
	// followed by its intermediates.
	TLSCert string
	// TLSKey is the PEM file of TLSCert's private key.
	TLSKey string
	// TLSClientCA is the PEM file of the CA certificates that sign partner
	// client certificates. When set, the gRPC server verifies a client
	// certificate if the client sends one; clients without one still
	// authenticate with keys and tokens.
	TLSClientCA string

	// Customer tokens (JWTs). They are accepted when JWTIssuer,
	// JWTAudience and one of JWTHMACSecret and JWTKeyFile are set, and
	// refused otherwise; see CustomerTokens.

	// JWTIssuer is the required iss claim of customer tokens.
	JWTIssuer string
	// JWTAudience is the value the aud claim of customer tokens must hold.
	JWTAudience string
	// JWTHMACSecret verifies HS256 customer tokens; at least 32 bytes.
	// Prefer the environment variable: a flag shows in process listings.
	JWTHMACSecret string
	// JWTKeyFile is a PEM or JWKS file of the public keys that verify
	// customer tokens (RS256/ES256).
	JWTKeyFile string
	// JWTSubjectClaim names the claim holding the customer's external id.
	JWTSubjectClaim string

	// ComplaintDeadlines are the acknowledgement and resolution deadlines
	// of each complaint severity.
	ComplaintDeadlines ComplaintDeadlines
	// ComplaintCheckInterval is how often the background loop looks for
	// overdue complaints.
	ComplaintCheckInterval time.Duration
	// ComplaintDesk is who a complaint is escalated to when the line above
	// it has nobody (no handler, receiving staff member or ticket owner
	// with a manager): "staff/{id}", one person; any other non-empty value
	// a team, its active members; empty, the active managers. The server
	// refuses to start when the database has staff but the desk has no
	// active member; see service.Services.CheckComplaintDesk.
	ComplaintDesk string

	// FollowUpDelay is how long after a ticket is resolved its automatic
	// follow-up may start; FollowUpWindow is how long after that it is due.
	FollowUpDelay  time.Duration
	FollowUpWindow time.Duration
	// FollowUpComplaintAtOrBelow is the satisfaction (1-5) at or below
	// which a follow-up opens a complaint.
	FollowUpComplaintAtOrBelow int
	// FollowUpCloseAtOrAbove is the satisfaction at or above which a
	// follow-up whose issue is resolved closes the ticket.
	FollowUpCloseAtOrAbove int

	// RetrainingPeriod is how long a staff member who failed an assessment
	// has to complete retraining.
	RetrainingPeriod time.Duration
	// QualificationCheckInterval is how often the background loop looks
	// for certifications that expired.
	QualificationCheckInterval time.Duration

	// ReportRollupInterval is how often the background loop brings the
	// report rollups up to date.
	ReportRollupInterval time.Duration
	// ReportRollupSettle is how long after a change was stamped the
	// rollups count it: a transaction that commits later than that after
	// stamping its rows is missed until the row changes again. Shorter
	// only where transactions are known to be short (tests, demos).
	ReportRollupSettle time.Duration

	// CampaignConfirmAbove is the target size above which LaunchCampaign
	// needs the previewed count confirmed.
	CampaignConfirmAbove int
	// CampaignBatch is how many products one step of a launch reaches, in
	// one transaction.
	CampaignBatch int
	// CampaignInterval is how often the launch worker reaches the next
	// batch of each launching campaign: it paces launches.
	CampaignInterval time.Duration
	// MaintenanceInterval is how often the maintenance loop opens the
	// visits that have come due.
	MaintenanceInterval time.Duration

	// QuoteDiscountApproval is the discount, in percent of a quote's
	// subtotal, above which the quote needs a manager's approval.
	QuoteDiscountApproval int

	// EventRetention is how long the change feed keeps events.
	EventRetention time.Duration
	// EventSequenceInterval is how often committed events are given their
	// feed positions; it bounds the feed's and the webhooks' latency.
	EventSequenceInterval time.Duration
	// EventsNATSURL, when set, publishes every event to NATS JetStream.
	EventsNATSURL string
	// EventsNATSStream and EventsNATSSubjectPrefix name the JetStream
	// stream and the subjects events are published on.
	EventsNATSStream        string
	EventsNATSSubjectPrefix string
	// WebhookTimeout bounds one webhook delivery.
	WebhookTimeout time.Duration
	// WebhookRetryWindow is how long a failing webhook is retried before
	// it is disabled.
	WebhookRetryWindow time.Duration
	// WebhookAllowPrivate lets webhooks call loopback, private and
	// link-local addresses and plain http URLs.
	WebhookAllowPrivate bool
}

// ComplaintDeadline is how long a complaint of one severity may wait for
// acknowledgement and for resolution, from receipt.
type ComplaintDeadline struct {
	Acknowledge time.Duration
	Resolve     time.Duration
}

// ComplaintDeadlines are the deadlines of each severity. As a flag value
// it reads "CRITICAL=1h/24h,HIGH=24h/72h,...": every severity must appear.
type ComplaintDeadlines map[aftersalesv1.Complaint_Severity]ComplaintDeadline

// DefaultComplaintDeadlines are API.md's: acknowledgement within 1 h for
// CRITICAL and 24 h otherwise; resolution within 24 h, 3, 7 and 15 days.
func DefaultComplaintDeadlines() ComplaintDeadlines {
	return ComplaintDeadlines{
		aftersalesv1.Complaint_CRITICAL: {Acknowledge: time.Hour, Resolve: 24 * time.Hour},
		aftersalesv1.Complaint_HIGH:     {Acknowledge: 24 * time.Hour, Resolve: 3 * 24 * time.Hour},
		aftersalesv1.Complaint_MEDIUM:   {Acknowledge: 24 * time.Hour, Resolve: 7 * 24 * time.Hour},
		aftersalesv1.Complaint_LOW:      {Acknowledge: 24 * time.Hour, Resolve: 15 * 24 * time.Hour},
	}
}

// severities are the complaint severities in the order String lists them.
var severities = []aftersalesv1.Complaint_Severity{aftersalesv1.Complaint_CRITICAL, aftersalesv1.Complaint_HIGH, aftersalesv1.Complaint_MEDIUM, aftersalesv1.Complaint_LOW}

// String formats the deadlines as the flag reads them.
func (d ComplaintDeadlines) String() string {
	var parts []string
	for _, s := range severities {
		if v, ok := d[s]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s/%s", s, shortDuration(v.Acknowledge), shortDuration(v.Resolve)))
		}
	}
	return strings.Join(parts, ",")
}

// shortDuration formats whole hours as "24h" rather than "24h0m0s".
func shortDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// MarshalText implements encoding.TextMarshaler, for flag.TextVar.
func (d ComplaintDeadlines) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "SEVERITY=ack/resolve,..." with every severity
// present and each acknowledgement no later than its resolution.
func (d *ComplaintDeadlines) UnmarshalText(text []byte) error {
	out := ComplaintDeadlines{}
	for _, part := range strings.Split(string(text), ",") {
		name, durs, ok := strings.Cut(strings.TrimSpace(part), "=")
		ack, res, ok2 := strings.Cut(durs, "/")
		if !ok || !ok2 {
			return fmt.Errorf("%q is not SEVERITY=ack/resolve", part)
		}
		sev, known := aftersalesv1.Complaint_Severity_value[strings.ToUpper(name)]
		if !known || sev == 0 {
			return fmt.Errorf("unknown severity %q", name)
		}
		a, err := time.ParseDuration(ack)
		if err != nil {
			return err
		}
		r, err := time.ParseDuration(res)
		if err != nil {
			return err
		}
		if a <= 0 || r < a {
			return fmt.Errorf("%s: acknowledgement must be positive and no later than resolution", name)
		}
		out[aftersalesv1.Complaint_Severity(sev)] = ComplaintDeadline{Acknowledge: a, Resolve: r}
	}
	for _, s := range severities {
		if _, ok := out[s]; !ok {
			return fmt.Errorf("missing severity %s", s)
		}
	}
	*d = out
	return nil
}

// Prefixes are network prefixes. As a flag value they read
// "10.0.0.0/8,192.0.2.7,2001:db8::/32": a bare address stands for itself
// alone.
type Prefixes []netip.Prefix

// MarshalText implements encoding.TextMarshaler, for flag.TextVar.
func (p Prefixes) MarshalText() ([]byte, error) {
	parts := make([]string, len(p))
	for i, prefix := range p {
		parts[i] = prefix.String()
	}
	return []byte(strings.Join(parts, ",")), nil
}

// UnmarshalText parses a comma-separated list of CIDRs and addresses.
func (p *Prefixes) UnmarshalText(text []byte) error {
	var out Prefixes
	for part := range strings.SplitSeq(string(text), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if addr, err := netip.ParseAddr(part); err == nil {
			// Clients are compared as plain IPv4 addresses, never as
			// IPv4-mapped IPv6 ones.
			addr = addr.Unmap()
			out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		prefix, err := netip.ParsePrefix(part)
		if err != nil {
			return fmt.Errorf("%q is neither a CIDR nor an IP address", part)
		}
		if prefix.Addr().Is4In6() {
			return fmt.Errorf("%q: write IPv4 networks as IPv4", part)
		}
		// 10.1.2.3/8 stands for the network it is in.
		out = append(out, prefix.Masked())
	}
	*p = out
	return nil
}

// KeysCommand is what "aftersales keys" does. It works on the database
// directly, so an operator can create the first keys, or recover after
// losing every admin key, without a running server.
type KeysCommand struct {
	// Action is KeysCreate, KeysList or KeysRevoke.
	Action string
	// Key is the key KeysRevoke revokes, "apiKeys/{id}".
	Key string

	// The options of KeysCreate. The key is bound to exactly one of Staff
	// ("staff/{id}"), Partner ("partners/{id}") and Role (a service
	// account).
	Staff   string
	Partner string
	Role    aftersalesv1.Staff_Role
	// DisplayName says what the key is for.
	DisplayName string
	// Expires is how long the key works; 0 means until revoked.
	Expires time.Duration
	// CanDelegate lets the key act on behalf of staff members.
	CanDelegate bool
}

// DevTokenCommand is what "aftersales dev-token" does: mint a customer
// token with JWTHMACSecret, for trying the customer flow locally.
type DevTokenCommand struct {
	// Customer is the customer the token stands for, "customers/{id}".
	Customer string
	// TTL is the token's lifetime.
	TTL time.Duration
}

// CustomerTokens reports whether customer tokens are configured: an
// issuer, an audience, and an HMAC secret or a key file. Validate refuses
// a partial configuration, so a typo cannot silently turn them off.
func (c Config) CustomerTokens() bool {
	return c.JWTIssuer != "" && c.JWTAudience != "" && (c.JWTHMACSecret != "" || c.JWTKeyFile != "")
}

// TLS reports whether the servers use TLS: a certificate and its key are
// configured. Validate refuses one without the other.
func (c Config) TLS() bool {
	return c.TLSCert != "" && c.TLSKey != ""
}

// Default returns the built-in defaults: what `go run ./server` uses.
func Default() Config {
	return Config{
		Command:          CommandServe,
		GRPCAddr:         ":9090",
		HTTPAddr:         ":8080",
		DataDir:          "./data",
		MigrateOnStart:   true,
		LogLevel:         slog.LevelInfo,
		LogFormat:        LogFormatJSON,
		ShutdownTimeout:  15 * time.Second,
		SLACheckInterval: 30 * time.Second,
		DefaultDeadline:  30 * time.Second,
		MaxRequestBytes:  4 << 20,
		// A little more than the MySQL pool's 50 connections: most calls
		// hold one connection for most of their time, so more calls than
		// that in flight only wait for a connection while they take CPU
		// from the ones holding one. Two seconds of waiting is the most a
		// person at a desk should wait before the client retries.
		MaxInFlight:   64,
		AdmissionWait: 2 * time.Second,
		Reflection:    true,
		// 50 calls a second per caller is generous for people and
		// ordinary integrations (a busy agent's desk makes a few calls a
		// second, a page load a burst of a dozen or so) and stops a client
		// stuck in a loop from taking the database down for everyone. The
		// limit is per process, so N replicas allow N times as much,
		// unless they share it through --redis-url. Bulk integrations
		// raise it, and --rate-limit=0 turns it off.
		RateLimit:      50,
		RateBurst:      100,
		APIKeyCacheTTL: 2 * time.Second,
		// Ten failures a minute is far more than a person mistyping or a
		// deployment rolling out a rotated key produces, and caps an
		// attacker at one guess every six seconds per address.
		AuthFailureLimit:  10,
		AuthFailureWindow: time.Minute,
		RedisKeyPrefix:    "aftersales:",
		RedisTimeout:      50 * time.Millisecond,
		// A day is enough to create the real admin key right after the
		// first start, and short enough that the key, printed to stderr
		// (which often ends up in a log store), is soon worthless. Should
		// it expire unused, "aftersales keys create --role ADMIN" issues
		// one on the database directly.
		BootstrapKeyTTL: 24 * time.Hour,
		JWTSubjectClaim: "sub",
		DevToken:        DevTokenCommand{TTL: time.Hour},

		ComplaintDeadlines:     DefaultComplaintDeadlines(),
		ComplaintCheckInterval: 30 * time.Second,
		// Due three days after resolution (API.md §4), and not on the day
		// of the repair, when there is nothing to ask yet.
		FollowUpDelay:              24 * time.Hour,
		FollowUpWindow:             48 * time.Hour,
		FollowUpComplaintAtOrBelow: 2,
		FollowUpCloseAtOrAbove:     3,
		RetrainingPeriod:           30 * 24 * time.Hour,
		QualificationCheckInterval: time.Minute,
		// 10,000 is where a launch stops being a district's worth of
		// units and becomes a programme someone must mean; 500 products
		// per transaction keeps each batch well under a second. One batch
		// per campaign every 250 ms paces a launch at up to 2,000
		// products a second, leaving the database to the calls between.
		CampaignConfirmAbove:    10000,
		CampaignBatch:           500,
		CampaignInterval:        250 * time.Millisecond,
		MaintenanceInterval:     time.Minute,
		QuoteDiscountApproval:   10,
		ReportRollupInterval:    10 * time.Second,
		ReportRollupSettle:      time.Minute,
		EventRetention:          7 * 24 * time.Hour,
		EventSequenceInterval:   100 * time.Millisecond,
		WebhookTimeout:          10 * time.Second,
		WebhookRetryWindow:      24 * time.Hour,
		EventsNATSStream:        "AFTERSALES_EVENTS",
		EventsNATSSubjectPrefix: "aftersales.events",

		// Clients that balance over DNS (round_robin over a headless
		// Service) only look the name up again when a connection
		// closes: without an age, a replica added by scaling up would
		// get no calls from clients already connected. Five minutes
		// bounds that at the cost of one reconnection per client.
		GRPCMaxConnectionAge: 5 * time.Minute,
	}
}

// flagSet binds every setting to a field of c, with c's current values as
// the defaults. It is the single list of settings: Load, Settings and
// Markdown all read it, so the documentation cannot drift from the code.
func flagSet(c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("aftersales", flag.ContinueOnError)
	// Load reports errors itself and Usage prints the help, so the flag
	// package must not print anything on its own.
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.GRPCAddr, "grpc-addr", c.GRPCAddr, "gRPC listen address")
	fs.DurationVar(&c.GRPCMaxConnectionAge, "grpc-max-connection-age", c.GRPCMaxConnectionAge, "how long a client's gRPC connection lasts before the server asks it to reconnect (HTTP/2 GOAWAY, ±10%; calls and streams in flight finish on the old connection), so that clients balancing over DNS (round_robin) look the name up again and find replicas added since; 0: connections last until closed")
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "HTTP listen address: JSON API, /healthz, /readyz, /metrics, /openapi.json")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "database URL, mysql://user:pass@host:port/db or sqlite:path.db; empty uses embedded SQLite in --data-dir")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory of the embedded SQLite database (used when --database-url is empty)")
	fs.BoolVar(&c.MigrateOnStart, "migrate-on-start", c.MigrateOnStart, "apply pending database migrations at start-up (serve, keys, dev-token, rebuild-reports); false: refuse to start while any is pending, for deployments that run \"aftersales migrate\" once before starting the replicas (a Kubernetes Job), so replicas never run DDL and their database user needs no DDL privileges. The migrate command always migrates")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", c.DBMaxConns, "maximum open database connections; 0 uses the default (50 for MySQL, max(4, GOMAXPROCS) for SQLite)")
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "minimum log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: json or text")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long a graceful shutdown may take before in-flight calls are cut off")
	fs.DurationVar(&c.SLACheckInterval, "sla-check-interval", c.SLACheckInterval, "how often the background loop checks tickets for SLA breaches")
	fs.DurationVar(&c.DefaultDeadline, "default-deadline", c.DefaultDeadline, "deadline of a call whose client set none; 0 disables")
	fs.IntVar(&c.MaxRequestBytes, "max-request-bytes", c.MaxRequestBytes, "maximum size of a request in bytes: gRPC message or HTTP body")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", c.MaxInFlight, "calls (gRPC or JSON; not streams or health checks) this process works on at once; one over it waits up to --admission-wait for room, first come first served, then fails with UNAVAILABLE (HTTP 503) and a retry delay; 0 admits every call")
	fs.DurationVar(&c.AdmissionWait, "admission-wait", c.AdmissionWait, "how long a call waits for room when --max-in-flight calls are in flight; 0 refuses it at once")
	fs.BoolVar(&c.Reflection, "reflection", c.Reflection, "serve gRPC server reflection")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof, "serve net/http/pprof under /debug/pprof/ on the HTTP address")
	fs.Float64Var(&c.RateLimit, "rate-limit", c.RateLimit, "sustained calls per second each caller (API key, staff member, partner or customer) may make to this process, or to all replicas together with --redis-url; calls over it fail with RESOURCE_EXHAUSTED (HTTP 429) and a retry delay; 0 disables")
	fs.IntVar(&c.RateBurst, "rate-burst", c.RateBurst, "calls a caller may make at once after being idle, before --rate-limit applies")
	fs.DurationVar(&c.APIKeyCacheTTL, "api-key-cache-ttl", c.APIKeyCacheTTL, "how long this process reuses an API key it read, with its staff member's or partner's role and active flag, instead of reading them for every call; a revocation, deactivation or role change made through another replica takes effect here within it (through this one, at once); 0 reads them for every call")
	fs.IntVar(&c.AuthFailureLimit, "auth-failure-limit", c.AuthFailureLimit, "failed authentications (unknown, revoked or expired key, bad token or client certificate) one client address may make within --auth-failure-window, to this process or, with --redis-url, to all replicas together; beyond it, its calls with credentials this process has not seen working are refused unchecked with RESOURCE_EXHAUSTED (HTTP 429) and a retry delay; valid callers are never delayed; 0 disables")
	fs.DurationVar(&c.AuthFailureWindow, "auth-failure-window", c.AuthFailureWindow, "window of --auth-failure-limit: an address that used up its failures gets another attempt every window/limit, and all of them back after a window without failures")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "Redis that makes --rate-limit and --auth-failure-limit cluster-wide: every replica given the same Redis (and --redis-key-prefix) shares one budget per caller and per address. redis://[user:password@]host:6379/0, rediss:// for TLS, or unix:///path; prefer the environment variable when it holds a password. While Redis fails or is slower than --redis-timeout each call is limited by this process alone (counted in aftersales_redis_fallbacks_total, logged once a minute) and the server keeps serving; it also starts when Redis is down, and /readyz does not depend on it. Empty: limits are per process")
	fs.StringVar(&c.RedisKeyPrefix, "redis-key-prefix", c.RedisKeyPrefix, "start of the names of the Redis keys of --redis-url (they are rate:{prefix}calls:{caller} and rate:{prefix}auth_failures:{address}), so that several deployments can share one Redis")
	fs.DurationVar(&c.RedisTimeout, "redis-timeout", c.RedisTimeout, "how long one rate-limit decision may wait for Redis, waiting for a connection included; after it the call is limited by this process alone, and calls skip Redis for a second")
	fs.TextVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated CIDRs or addresses of reverse proxies whose X-Forwarded-For (HTTP header or gRPC metadata) names the client address, for --auth-failure-limit; from any other peer the header is ignored")
	fs.DurationVar(&c.BootstrapKeyTTL, "bootstrap-key-ttl", c.BootstrapKeyTTL, "how long the admin key printed on the first start (empty database) works; use it to create your own admin key")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "PEM file of the server certificate (and intermediates); with --tls-key, gRPC and HTTP are served over TLS. It must name the server in a DNS or IP subject alternative name, which the JSON gateway verifies when it calls the gRPC server")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM file of the private key of --tls-cert")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", c.TLSClientCA, "PEM file of the CAs signing partner client certificates; the gRPC server then verifies a client certificate if one is sent, and one whose URI SAN is aftersales:partners/{id} authenticates that active partner. Needs --tls-cert and --tls-key")
	fs.StringVar(&c.JWTIssuer, "jwt-issuer", c.JWTIssuer, "required iss claim of customer tokens; customer tokens are accepted only when issuer, audience and a secret or key file are set")
	fs.StringVar(&c.JWTAudience, "jwt-audience", c.JWTAudience, "value the aud claim of customer tokens must contain")
	fs.StringVar(&c.JWTHMACSecret, "jwt-hmac-secret", c.JWTHMACSecret, "shared secret (at least 32 bytes) verifying HS256 customer tokens; prefer the environment variable, flags show in process listings")
	fs.StringVar(&c.JWTKeyFile, "jwt-key-file", c.JWTKeyFile, "PEM or JWKS file with the public keys verifying customer tokens (RS256, ES256); instead of --jwt-hmac-secret")
	fs.StringVar(&c.JWTSubjectClaim, "jwt-subject-claim", c.JWTSubjectClaim, "claim of customer tokens holding the customer's external id")
	fs.TextVar(&c.ComplaintDeadlines, "complaint-deadlines", c.ComplaintDeadlines, "acknowledgement/resolution deadline of each complaint severity, from receipt")
	fs.DurationVar(&c.ComplaintCheckInterval, "complaint-check-interval", c.ComplaintCheckInterval, "how often the background loop escalates overdue complaints")
	fs.StringVar(&c.ComplaintDesk, "complaint-desk", c.ComplaintDesk, "complaints desk, the escalation target of last resort for a complaint whose handler, receiving staff member and ticket owner have no manager: staff/{id} (that person), or a team name (its active members, the least busy first); empty: the active managers (role MANAGER), the least busy first. Once the database has staff, the server does not start unless the desk has an active member")
	fs.DurationVar(&c.FollowUpDelay, "follow-up-delay", c.FollowUpDelay, "how long after a ticket is resolved its automatic follow-up may start")
	fs.DurationVar(&c.FollowUpWindow, "follow-up-window", c.FollowUpWindow, "how long after it may start a follow-up is due")
	fs.IntVar(&c.FollowUpComplaintAtOrBelow, "follow-up-complaint-at-or-below", c.FollowUpComplaintAtOrBelow, "survey satisfaction (1-5) at or below which a complaint is opened for a manager to review; 0 never opens one")
	fs.IntVar(&c.FollowUpCloseAtOrAbove, "follow-up-close-at-or-above", c.FollowUpCloseAtOrAbove, "survey satisfaction (1-5) at or above which a completed follow-up whose issue is resolved closes the ticket")
	fs.DurationVar(&c.RetrainingPeriod, "retraining-period", c.RetrainingPeriod, "how long a staff member who failed an assessment has to complete retraining")
	fs.DurationVar(&c.QualificationCheckInterval, "qualification-check-interval", c.QualificationCheckInterval, "how often the background loop looks for certifications that expired")
	fs.DurationVar(&c.ReportRollupInterval, "report-rollup-interval", c.ReportRollupInterval, "how often the background loop brings the report rollups up to date")
	fs.DurationVar(&c.ReportRollupSettle, "report-rollup-settle", c.ReportRollupSettle, "how long after a change the report rollups count it, so that a transaction still committing when the loop passes is not missed; shorten only where transactions are short (tests, demos)")
	fs.IntVar(&c.CampaignConfirmAbove, "campaign-confirm-above", c.CampaignConfirmAbove, "products a campaign may reach before LaunchCampaign needs the previewed count confirmed (confirmed_target_count)")
	fs.IntVar(&c.CampaignBatch, "campaign-batch", c.CampaignBatch, "products one step of a campaign launch reaches, in one transaction")
	fs.DurationVar(&c.CampaignInterval, "campaign-interval", c.CampaignInterval, "how often the campaign launch worker reaches the next batch of each launching campaign: a launch goes at up to --campaign-batch products per interval")
	fs.DurationVar(&c.MaintenanceInterval, "maintenance-interval", c.MaintenanceInterval, "how often the maintenance loop opens the visits that have come due")
	fs.IntVar(&c.QuoteDiscountApproval, "quote-discount-approval", c.QuoteDiscountApproval, "discount, in percent of a quote's subtotal, above which the quote (QuoteTicket) needs a manager's approval before the customer sees it; 0: every discount needs one")
	fs.DurationVar(&c.EventRetention, "event-retention", c.EventRetention, "how long the change feed keeps events; a reader further behind is told where the feed continues")
	fs.DurationVar(&c.EventSequenceInterval, "event-sequence-interval", c.EventSequenceInterval, "how often committed events get their feed positions (bounds feed and webhook latency)")
	fs.StringVar(&c.EventsNATSURL, "events-nats-url", c.EventsNATSURL, "publish every change-feed event to NATS JetStream at this URL (nats://host:4222); empty: off")
	fs.StringVar(&c.EventsNATSStream, "events-nats-stream", c.EventsNATSStream, "the JetStream stream events are published to (created when missing)")
	fs.StringVar(&c.EventsNATSSubjectPrefix, "events-nats-subject-prefix", c.EventsNATSSubjectPrefix, "events are published on <prefix>.<event type>, e.g. aftersales.events.ticket.assigned")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", c.WebhookTimeout, "how long one webhook delivery may take")
	fs.DurationVar(&c.WebhookRetryWindow, "webhook-retry-window", c.WebhookRetryWindow, "how long a failing webhook is retried (exponential backoff with jitter) before it is disabled")
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", c.WebhookAllowPrivate, "let webhooks call loopback, private and link-local addresses and plain http URLs (tests, closed networks)")
	return fs
}

// commandFlags adds the options of command to fs, bound to c, with c's
// current values as the defaults. They have no environment variables:
// they say what to do, not how the server is set up.
func commandFlags(fs *flag.FlagSet, command string, c *Config) {
	switch command {
	case CommandKeys:
		k := &c.Keys
		fs.StringVar(&k.Staff, "staff", k.Staff, "create: bind the key to this staff member, staff/{id}; it acts with their role")
		fs.StringVar(&k.Partner, "partner", k.Partner, "create: bind the key to this partner shop, partners/{id}")
		fs.Func("role", "create: make a service account key acting with this role: ADMIN, MANAGER, AGENT, TECHNICIAN or TRAINER", func(v string) error {
			r, ok := aftersalesv1.Staff_Role_value[strings.ToUpper(v)]
			if !ok || r == int32(aftersalesv1.Staff_ROLE_UNSPECIFIED) {
				return errors.New("want ADMIN, MANAGER, AGENT, TECHNICIAN or TRAINER")
			}
			k.Role = aftersalesv1.Staff_Role(r)
			return nil
		})
		fs.StringVar(&k.DisplayName, "name", k.DisplayName, "create: what the key is for, for example \"call center seat 12\"")
		fs.DurationVar(&k.Expires, "expires", k.Expires, "create: how long the key works, for example 720h; 0 means until revoked")
		fs.BoolVar(&k.CanDelegate, "can-delegate", k.CanDelegate, "create: let the key act on behalf of staff members (x-aftersales-on-behalf-of)")
	case CommandDevToken:
		d := &c.DevToken
		fs.StringVar(&d.Customer, "customer", d.Customer, "the customer the token stands for, customers/{id}")
		fs.DurationVar(&d.TTL, "ttl", d.TTL, "how long the token is valid")
	}
}

// EnvName returns the environment variable of the flag named flagName.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load reads the configuration from args (the command line without the
// program name) and getenv (os.Getenv, or a map lookup in tests).
//
// args may name a command, serve (the default), migrate, keys or
// dev-token; settings may come before or after it, the command's own
// options after it. keys takes a subcommand (create, list or revoke) and
// revoke the key's name. It returns flag.ErrHelp when args ask for help;
// print Usage then.
func Load(args []string, getenv func(string) string) (Config, error) {
	c := Default()
	fs := flagSet(&c)

	var envErrs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErrs = append(envErrs, fmt.Errorf("invalid value %q for environment variable %s: %v", v, name, err))
		}
	})
	if err := errors.Join(envErrs...); err != nil {
		return Config{}, err
	}

	// Settings before the command; flag parsing stops at the first
	// non-flag argument, the command.
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	rest := fs.Args()
	if len(rest) > 0 {
		c.Command, rest = rest[0], rest[1:]
	}
	// After it, settings, the command's options and its operands, in any
	// order.
	commandFlags(fs, c.Command, &c)
	operands, err := parseInterspersed(fs, rest)
	if err != nil {
		return Config{}, err
	}
	if err := c.setOperands(operands); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseInterspersed parses args with fs, allowing flags between the
// operands, and returns the operands. Everything after "--" is an operand.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return operands, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(operands, rest...), nil
		}
		operands, args = append(operands, rest[0]), rest[1:]
	}
}

// setOperands stores the command's operands: the subcommand of keys and
// the key keys revoke names. Other commands take none.
func (c *Config) setOperands(operands []string) error {
	if !slices.Contains(commands, c.Command) {
		return nil // Validate reports the unknown command
	}
	if c.Command != CommandKeys {
		if len(operands) > 0 {
			return fmt.Errorf("unexpected argument %q", operands[0])
		}
		return nil
	}
	if len(operands) == 0 {
		return fmt.Errorf("keys: missing subcommand: want %s, %s or %s", KeysCreate, KeysList, KeysRevoke)
	}
	c.Keys.Action, operands = operands[0], operands[1:]
	if c.Keys.Action == KeysRevoke {
		if len(operands) == 0 {
			return errors.New("keys revoke: missing the key to revoke, apiKeys/{id}")
		}
		c.Keys.Key, operands = operands[0], operands[1:]
	}
	if len(operands) > 0 {
		return fmt.Errorf("unexpected argument %q", operands[0])
	}
	return nil
}

// Validate reports every setting that is out of range.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.Command {
	case CommandServe, CommandMigrate, CommandRebuildReports:
	case CommandKeys:
		errs = append(errs, c.Keys.validate())
	case CommandDevToken:
		errs = append(errs, c.validateDevToken())
	default:
		bad("unknown command %q: want %s", c.Command, strings.Join(commands, ", "))
	}
	if c.GRPCAddr == "" {
		bad("--grpc-addr must not be empty")
	}
	if c.HTTPAddr == "" {
		bad("--http-addr must not be empty")
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		bad("--data-dir must not be empty when --database-url is empty")
	}
	if c.GRPCMaxConnectionAge < 0 {
		bad("--grpc-max-connection-age must not be negative, got %s", c.GRPCMaxConnectionAge)
	}
	if c.DBMaxConns < 0 {
		bad("--db-max-conns must not be negative, got %d", c.DBMaxConns)
	}
	if c.LogFormat != LogFormatJSON && c.LogFormat != LogFormatText {
		bad("--log-format must be %s or %s, got %q", LogFormatJSON, LogFormatText, c.LogFormat)
	}
	if c.ShutdownTimeout <= 0 {
		bad("--shutdown-timeout must be positive, got %s", c.ShutdownTimeout)
	}
	if c.SLACheckInterval <= 0 {
		bad("--sla-check-interval must be positive, got %s", c.SLACheckInterval)
	}
	if c.DefaultDeadline < 0 {
		bad("--default-deadline must not be negative, got %s", c.DefaultDeadline)
	}
	if c.ComplaintCheckInterval <= 0 {
		bad("--complaint-check-interval must be positive, got %s", c.ComplaintCheckInterval)
	}
	if err := c.validateComplaintDesk(); err != nil {
		errs = append(errs, err)
	}
	if c.CampaignConfirmAbove < 0 {
		bad("--campaign-confirm-above must not be negative, got %d", c.CampaignConfirmAbove)
	}
	if c.CampaignBatch < 1 || c.CampaignBatch > 10000 {
		bad("--campaign-batch must be between 1 and 10000, got %d", c.CampaignBatch)
	}
	if c.CampaignInterval <= 0 {
		bad("--campaign-interval must be positive, got %s", c.CampaignInterval)
	}
	if c.MaintenanceInterval <= 0 {
		bad("--maintenance-interval must be positive, got %s", c.MaintenanceInterval)
	}
	if c.QuoteDiscountApproval < 0 || c.QuoteDiscountApproval > 100 {
		bad("--quote-discount-approval must be between 0 and 100 (percent), got %d", c.QuoteDiscountApproval)
	}
	if c.QualificationCheckInterval <= 0 {
		bad("--qualification-check-interval must be positive, got %s", c.QualificationCheckInterval)
	}
	if c.ReportRollupInterval <= 0 {
		bad("--report-rollup-interval must be positive, got %s", c.ReportRollupInterval)
	}
	if c.ReportRollupSettle <= 0 {
		bad("--report-rollup-settle must be positive, got %s", c.ReportRollupSettle)
	}
	if c.EventRetention < time.Hour {
		bad("--event-retention must be at least 1h, got %s", c.EventRetention)
	}
	if c.EventSequenceInterval <= 0 || c.WebhookTimeout <= 0 {
		bad("--event-sequence-interval and --webhook-timeout must be positive, got %s and %s", c.EventSequenceInterval, c.WebhookTimeout)
	}
	if c.WebhookRetryWindow < time.Minute {
		bad("--webhook-retry-window must be at least 1m, got %s", c.WebhookRetryWindow)
	}
	if c.FollowUpDelay < 0 || c.FollowUpWindow <= 0 {
		bad("--follow-up-delay must not be negative and --follow-up-window must be positive, got %s and %s", c.FollowUpDelay, c.FollowUpWindow)
	}
	if c.FollowUpComplaintAtOrBelow < 0 || c.FollowUpComplaintAtOrBelow > 5 || c.FollowUpCloseAtOrAbove < 1 || c.FollowUpCloseAtOrAbove > 5 ||
		c.FollowUpComplaintAtOrBelow >= c.FollowUpCloseAtOrAbove {
		bad("follow-up thresholds must satisfy 0 <= --follow-up-complaint-at-or-below < --follow-up-close-at-or-above <= 5, got %d and %d",
			c.FollowUpComplaintAtOrBelow, c.FollowUpCloseAtOrAbove)
	}
	if c.RetrainingPeriod <= 0 {
		bad("--retraining-period must be positive, got %s", c.RetrainingPeriod)
	}
	if c.MaxRequestBytes <= 0 {
		bad("--max-request-bytes must be positive, got %d", c.MaxRequestBytes)
	}
	if c.MaxInFlight < 0 {
		bad("--max-in-flight must not be negative, got %d", c.MaxInFlight)
	}
	if c.AdmissionWait < 0 {
		bad("--admission-wait must not be negative, got %s", c.AdmissionWait)
	}
	// NaN compares false with everything, so "< 0" alone would let it
	// through and it would silently turn the limiter off.
	if math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) || c.RateLimit < 0 {
		bad("--rate-limit must be a non-negative number, got %v", c.RateLimit)
	}
	if c.RateLimit > 0 && c.RateBurst < 1 {
		bad("--rate-burst must be at least 1 when --rate-limit is set, got %d", c.RateBurst)
	}
	if c.APIKeyCacheTTL < 0 || c.APIKeyCacheTTL > time.Minute {
		// A revocation must not wait long on another replica.
		bad("--api-key-cache-ttl must be between 0 and 1m, got %s", c.APIKeyCacheTTL)
	}
	if c.AuthFailureLimit < 0 {
		bad("--auth-failure-limit must not be negative, got %d", c.AuthFailureLimit)
	}
	if c.AuthFailureLimit > 0 && c.AuthFailureWindow <= 0 {
		bad("--auth-failure-window must be positive when --auth-failure-limit is set, got %s", c.AuthFailureWindow)
	}
	if c.BootstrapKeyTTL <= 0 {
		bad("--bootstrap-key-ttl must be positive, got %s", c.BootstrapKeyTTL)
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
		// Not the URL itself: it may hold a password.
		bad("--redis-url must start with redis://, rediss:// or unix://")
	}
	if c.RedisTimeout <= 0 || c.RedisTimeout > 10*time.Second {
		// Every call may wait this long for its limit while Redis hangs.
		bad("--redis-timeout must be between 0 and 10s, got %s", c.RedisTimeout)
	}
	errs = append(errs, c.validateJWT(), c.validateTLS())
	return errors.Join(errs...)
}

// validateComplaintDesk checks the form of --complaint-desk; whether
// the desk exists is the server's to check, against the database.
func (c Config) validateComplaintDesk() error {
	d := c.ComplaintDesk
	switch {
	case d == "":
		return nil
	case strings.HasPrefix(d, resname.Staff+"/"):
		if _, ok := resname.ID(d, resname.Staff); !ok {
			return fmt.Errorf("--complaint-desk must be staff/{id} or a team name, got %q", d)
		}
	case len(d) > 100:
		// No team can match: staff.team holds at most 100 characters.
		return fmt.Errorf("--complaint-desk: a team name has at most 100 characters, got %d", len(d))
	}
	return nil
}

// validateTLS refuses a partial TLS configuration: a certificate without
// its key, or a client CA without TLS, would otherwise quietly serve
// plaintext.
func (c Config) validateTLS() error {
	var errs []error
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key must be set together"))
	}
	if c.TLSClientCA != "" && !c.TLS() {
		errs = append(errs, errors.New("--tls-client-ca needs --tls-cert and --tls-key"))
	}
	return errors.Join(errs...)
}

// validateJWT refuses a partial customer-token configuration: one that
// names an issuer but no key, say, would otherwise quietly turn customer
// tokens off.
func (c Config) validateJWT() error {
	if c.JWTIssuer == "" && c.JWTAudience == "" && c.JWTHMACSecret == "" && c.JWTKeyFile == "" {
		return nil
	}
	var errs []error
	if c.JWTIssuer == "" {
		errs = append(errs, errors.New("--jwt-issuer must be set with the other --jwt-* settings"))
	}
	if c.JWTAudience == "" {
		errs = append(errs, errors.New("--jwt-audience must be set with the other --jwt-* settings"))
	}
	switch {
	case c.JWTHMACSecret == "" && c.JWTKeyFile == "":
		errs = append(errs, errors.New("customer tokens need --jwt-hmac-secret or --jwt-key-file"))
	case c.JWTHMACSecret != "" && c.JWTKeyFile != "":
		errs = append(errs, errors.New("set either --jwt-hmac-secret or --jwt-key-file, not both"))
	}
	if c.JWTSubjectClaim == "" {
		errs = append(errs, errors.New("--jwt-subject-claim must not be empty"))
	}
	return errors.Join(errs...)
}

// validate checks the options of the keys command.
func (k KeysCommand) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	createOnly := k.Staff != "" || k.Partner != "" || k.Role != aftersalesv1.Staff_ROLE_UNSPECIFIED ||
		k.DisplayName != "" || k.Expires != 0 || k.CanDelegate
	switch k.Action {
	case KeysCreate:
		n := 0
		for _, set := range []bool{k.Staff != "", k.Partner != "", k.Role != aftersalesv1.Staff_ROLE_UNSPECIFIED} {
			if set {
				n++
			}
		}
		if n != 1 {
			bad("keys create: give exactly one of --staff, --partner and --role")
		}
		if _, ok := resname.ID(k.Staff, resname.Staff); k.Staff != "" && !ok {
			bad("keys create: --staff must be staff/{id}, got %q", k.Staff)
		}
		if _, ok := resname.ID(k.Partner, resname.Partners); k.Partner != "" && !ok {
			bad("keys create: --partner must be partners/{id}, got %q", k.Partner)
		}
		if k.Expires < 0 {
			bad("keys create: --expires must not be negative, got %s", k.Expires)
		}
	case KeysList, KeysRevoke:
		if createOnly {
			bad("keys %s: --staff, --partner, --role, --name, --expires and --can-delegate are options of keys create", k.Action)
		}
		if _, ok := resname.ID(k.Key, "apiKeys"); k.Action == KeysRevoke && !ok {
			bad("keys revoke: the key must be apiKeys/{id}, got %q", k.Key)
		}
	default:
		bad("keys: unknown subcommand %q: want %s, %s or %s", k.Action, KeysCreate, KeysList, KeysRevoke)
	}
	return errors.Join(errs...)
}

// validateDevToken checks the options of the dev-token command.
func (c Config) validateDevToken() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, ok := resname.ID(c.DevToken.Customer, resname.Customers); !ok {
		bad("dev-token: --customer must be customers/{id}, got %q", c.DevToken.Customer)
	}
	if c.DevToken.TTL <= 0 {
		bad("dev-token: --ttl must be positive, got %s", c.DevToken.TTL)
	}
	if c.JWTHMACSecret == "" {
		// A server verifying with a key file accepts only tokens signed
		// with the issuer's private key, which this server never holds.
		bad("dev-token: signs with the server's --jwt-hmac-secret (or AFTERSALES_JWT_HMAC_SECRET), with --jwt-issuer and --jwt-audience; it cannot mint tokens for a server using --jwt-key-file")
	}
	return errors.Join(errs...)
}
