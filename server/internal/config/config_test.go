package config_test

import (
	"bytes"
	"flag"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/config"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(nil, env(nil))
	require.NoError(t, err)
	require.Equal(t, config.Default(), c)
	require.Equal(t, config.CommandServe, c.Command)
	require.Equal(t, ":9090", c.GRPCAddr)
	require.Equal(t, ":8080", c.HTTPAddr)
	require.Equal(t, "", c.DatabaseURL)
	require.Equal(t, "./data", c.DataDir)
	require.Equal(t, 15*time.Second, c.ShutdownTimeout)
	require.Equal(t, 30*time.Second, c.SLACheckInterval)
	require.Equal(t, 30*time.Second, c.DefaultDeadline)
	require.Equal(t, 4<<20, c.MaxRequestBytes)
	require.True(t, c.Reflection)
	require.False(t, c.Pprof)
	require.True(t, c.MigrateOnStart)
	require.Equal(t, 5*time.Minute, c.GRPCMaxConnectionAge)
}

// TestLoadMigrateOnStart: the replicas of a deployment that migrates with
// a job turn it off by environment, and the job's "migrate" command, run
// with the same environment, still parses (app.Migrate migrates anyway).
func TestLoadMigrateOnStart(t *testing.T) {
	getenv := env(map[string]string{"AFTERSALES_MIGRATE_ON_START": "false"})
	c, err := config.Load(nil, getenv)
	require.NoError(t, err)
	require.False(t, c.MigrateOnStart)

	c, err = config.Load([]string{"migrate"}, getenv)
	require.NoError(t, err)
	require.Equal(t, config.CommandMigrate, c.Command)

	c, err = config.Load([]string{"--migrate-on-start=true"}, getenv)
	require.NoError(t, err)
	require.True(t, c.MigrateOnStart)

	_, err = config.Load(nil, env(map[string]string{"AFTERSALES_MIGRATE_ON_START": "later"}))
	require.ErrorContains(t, err, "AFTERSALES_MIGRATE_ON_START")
}

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c config.Config)
	}{
		{
			name: "env replaces default",
			env:  map[string]string{"AFTERSALES_GRPC_ADDR": "127.0.0.1:1", "AFTERSALES_SHUTDOWN_TIMEOUT": "3s", "AFTERSALES_REFLECTION": "false"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, "127.0.0.1:1", c.GRPCAddr)
				require.Equal(t, 3*time.Second, c.ShutdownTimeout)
				require.False(t, c.Reflection)
			},
		},
		{
			name: "flag replaces env",
			args: []string{"--grpc-addr=127.0.0.1:2", "--shutdown-timeout", "4s", "--reflection=true"},
			env:  map[string]string{"AFTERSALES_GRPC_ADDR": "127.0.0.1:1", "AFTERSALES_SHUTDOWN_TIMEOUT": "3s", "AFTERSALES_REFLECTION": "false"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, "127.0.0.1:2", c.GRPCAddr)
				require.Equal(t, 4*time.Second, c.ShutdownTimeout)
				require.True(t, c.Reflection)
			},
		},
		{
			name: "env and flag for different settings combine",
			args: []string{"-log-format", "text"},
			env:  map[string]string{"AFTERSALES_LOG_LEVEL": "debug", "AFTERSALES_DATABASE_URL": "mysql://u:p@db:3306/x"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, config.LogFormatText, c.LogFormat)
				require.Equal(t, slog.LevelDebug, c.LogLevel)
				require.Equal(t, "mysql://u:p@db:3306/x", c.DatabaseURL)
			},
		},
		{
			name: "every setting from env",
			env: map[string]string{
				"AFTERSALES_HTTP_ADDR":          ":1",
				"AFTERSALES_DATA_DIR":           "/var/lib/x",
				"AFTERSALES_DB_MAX_CONNS":       "7",
				"AFTERSALES_SLA_CHECK_INTERVAL": "1m",
				"AFTERSALES_DEFAULT_DEADLINE":   "0",
				"AFTERSALES_MAX_REQUEST_BYTES":  "1024",
				"AFTERSALES_PPROF":              "1",
			},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, ":1", c.HTTPAddr)
				require.Equal(t, "/var/lib/x", c.DataDir)
				require.Equal(t, 7, c.DBMaxConns)
				require.Equal(t, time.Minute, c.SLACheckInterval)
				require.Equal(t, time.Duration(0), c.DefaultDeadline)
				require.Equal(t, 1024, c.MaxRequestBytes)
				require.True(t, c.Pprof)
			},
		},
		{
			name: "command first",
			args: []string{"migrate", "--data-dir", "d"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, config.CommandMigrate, c.Command)
				require.Equal(t, "d", c.DataDir)
			},
		},
		{
			name: "rebuild-reports",
			args: []string{"rebuild-reports", "--database-url", "mysql://root@127.0.0.1:3306/aftersales"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, config.CommandRebuildReports, c.Command)
				require.Equal(t, "mysql://root@127.0.0.1:3306/aftersales", c.DatabaseURL)
			},
		},
		{
			name: "command after flags",
			args: []string{"--data-dir", "d", "migrate", "--log-level=warn"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, config.CommandMigrate, c.Command)
				require.Equal(t, "d", c.DataDir)
				require.Equal(t, slog.LevelWarn, c.LogLevel)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(tt.args, env(tt.env))
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "bad duration flag", args: []string{"--shutdown-timeout=soon"}, wantErr: `invalid value "soon" for flag -shutdown-timeout`},
		{name: "bad duration env", env: map[string]string{"AFTERSALES_SLA_CHECK_INTERVAL": "30"}, wantErr: `invalid value "30" for environment variable AFTERSALES_SLA_CHECK_INTERVAL`},
		{name: "bad bool env", env: map[string]string{"AFTERSALES_PPROF": "maybe"}, wantErr: "AFTERSALES_PPROF"},
		{name: "bad int flag", args: []string{"--max-request-bytes=4MiB"}, wantErr: "-max-request-bytes"},
		{name: "bad log level", args: []string{"--log-level=loud"}, wantErr: "-log-level"},
		{name: "bad log format", args: []string{"--log-format=xml"}, wantErr: "--log-format must be json or text"},
		{name: "zero shutdown timeout", args: []string{"--shutdown-timeout=0s"}, wantErr: "--shutdown-timeout must be positive"},
		{name: "negative deadline", env: map[string]string{"AFTERSALES_DEFAULT_DEADLINE": "-1s"}, wantErr: "--default-deadline must not be negative"},
		{name: "zero max request", args: []string{"--max-request-bytes=0"}, wantErr: "--max-request-bytes must be positive"},
		{name: "negative pool", args: []string{"--db-max-conns=-1"}, wantErr: "--db-max-conns must not be negative"},
		{name: "negative connection age", args: []string{"--grpc-max-connection-age=-1s"}, wantErr: "--grpc-max-connection-age must not be negative"},
		{name: "empty grpc addr", args: []string{"--grpc-addr="}, wantErr: "--grpc-addr must not be empty"},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "unknown command", args: []string{"dance"}, wantErr: `unknown command "dance"`},
		{name: "unknown command with arguments", args: []string{"dance", "now"}, wantErr: `unknown command "dance": want serve, migrate, keys, dev-token`},
		{name: "extra argument", args: []string{"migrate", "now"}, wantErr: `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.args, env(tt.env))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestLoadHelp(t *testing.T) {
	_, err := config.Load([]string{"-h"}, env(nil))
	require.ErrorIs(t, err, flag.ErrHelp)

	var b bytes.Buffer
	config.Usage(&b)
	require.Contains(t, b.String(), "--grpc-addr")
	require.Contains(t, b.String(), "AFTERSALES_GRPC_ADDR")
}

func TestMarkdownListsEverySetting(t *testing.T) {
	// Named explicitly so that a setting dropped from the code fails here
	// instead of silently vanishing from both the table and the test.
	want := []string{
		"grpc-addr", "http-addr", "database-url", "data-dir", "db-max-conns", "migrate-on-start", "grpc-max-connection-age",
		"log-level", "log-format", "shutdown-timeout", "sla-check-interval",
		"default-deadline", "max-request-bytes", "max-in-flight", "admission-wait", "reflection", "pprof",
		"rate-limit", "rate-burst", "api-key-cache-ttl", "auth-failure-limit", "auth-failure-window", "trusted-proxies",
		"redis-url", "redis-key-prefix", "redis-timeout",
		"bootstrap-key-ttl", "tls-cert", "tls-key", "tls-client-ca",
		"jwt-issuer", "jwt-audience", "jwt-hmac-secret", "jwt-key-file", "jwt-subject-claim",
		"complaint-deadlines", "complaint-check-interval", "complaint-desk", "follow-up-delay", "follow-up-window",
		"follow-up-complaint-at-or-below", "follow-up-close-at-or-above", "retraining-period",
		"qualification-check-interval", "report-rollup-interval", "report-rollup-settle",
		"campaign-confirm-above", "campaign-batch", "campaign-interval", "maintenance-interval", "quote-discount-approval",
		"event-retention", "event-sequence-interval", "events-nats-url", "events-nats-stream", "events-nats-subject-prefix",
		"webhook-timeout", "webhook-retry-window", "webhook-allow-private",
	}
	var names []string
	for _, s := range config.Settings() {
		names = append(names, s.Flag)
	}
	require.ElementsMatch(t, want, names)

	md := config.Markdown()
	lines := strings.Split(strings.TrimSpace(md), "\n")
	require.Len(t, lines, len(want)+2, "header, separator and one row per setting")
	for _, s := range config.Settings() {
		require.Contains(t, md, "`--"+s.Flag+"`")
		require.Contains(t, md, "`"+config.EnvName(s.Flag)+"`")
		require.Contains(t, md, s.Description)
	}
	require.Contains(t, md, "| `--grpc-addr` | `AFTERSALES_GRPC_ADDR` | `:9090` |")
	require.Contains(t, md, "| `--shutdown-timeout` | `AFTERSALES_SHUTDOWN_TIMEOUT` | `15s` |")
	require.Contains(t, md, "| `--migrate-on-start` | `AFTERSALES_MIGRATE_ON_START` | `true` |")
	require.Contains(t, md, "| `--grpc-max-connection-age` | `AFTERSALES_GRPC_MAX_CONNECTION_AGE` | `5m0s` |")
	require.Contains(t, md, "| `--rate-limit` | `AFTERSALES_RATE_LIMIT` | `50` | sustained calls per second each caller")
	require.Contains(t, md, "| `--rate-burst` | `AFTERSALES_RATE_BURST` | `100` |")
	require.Contains(t, md, "| `--auth-failure-limit` | `AFTERSALES_AUTH_FAILURE_LIMIT` | `10` |")
	require.Contains(t, md, "| `--auth-failure-window` | `AFTERSALES_AUTH_FAILURE_WINDOW` | `1m0s` |")
	require.Contains(t, md, "| `--trusted-proxies` | `AFTERSALES_TRUSTED_PROXIES` | (empty) |")
	require.Contains(t, md, "| `--redis-url` | `AFTERSALES_REDIS_URL` | (empty) |")
	require.Contains(t, md, "| `--redis-key-prefix` | `AFTERSALES_REDIS_KEY_PREFIX` | `aftersales:` |")
	require.Contains(t, md, "| `--redis-timeout` | `AFTERSALES_REDIS_TIMEOUT` | `50ms` |")
	require.Contains(t, md, "| `--bootstrap-key-ttl` | `AFTERSALES_BOOTSTRAP_KEY_TTL` | `24h0m0s` |")
	require.Contains(t, md, "| `--tls-cert` | `AFTERSALES_TLS_CERT` | (empty) |")
	require.Contains(t, md, "| `--tls-key` | `AFTERSALES_TLS_KEY` | (empty) |")
	require.Contains(t, md, "| `--tls-client-ca` | `AFTERSALES_TLS_CLIENT_CA` | (empty) |")
	require.Contains(t, md, "aftersales:partners/{id}", "the table says how a certificate names its partner")
	require.Contains(t, md, "| `--complaint-deadlines` | `AFTERSALES_COMPLAINT_DEADLINES` | `CRITICAL=1h/24h,HIGH=24h/72h,MEDIUM=24h/168h,LOW=24h/360h` |")
}

func TestLoadComplaintDeadlines(t *testing.T) {
	c, err := config.Load([]string{"--complaint-deadlines=CRITICAL=30m/12h,HIGH=2h/48h,MEDIUM=24h/168h,LOW=24h/360h"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, config.ComplaintDeadline{Acknowledge: 30 * time.Minute, Resolve: 12 * time.Hour}, c.ComplaintDeadlines[aftersalesv1.Complaint_CRITICAL])
	require.Equal(t, 48*time.Hour, c.ComplaintDeadlines[aftersalesv1.Complaint_HIGH].Resolve)

	for _, bad := range []string{
		"CRITICAL=1h/24h", // severities missing
		"CRITICAL=1h,HIGH=24h/72h,MEDIUM=24h/168h,LOW=24h/360h", // no resolution
		"URGENT=1h/24h,HIGH=24h/72h,MEDIUM=24h/168h,LOW=24h/360h",
		"CRITICAL=48h/24h,HIGH=24h/72h,MEDIUM=24h/168h,LOW=24h/360h", // acknowledged after resolution
	} {
		_, err := config.Load([]string{"--complaint-deadlines=" + bad}, env(nil))
		require.Error(t, err, bad)
	}
	_, err = config.Load([]string{"--follow-up-complaint-at-or-below=3", "--follow-up-close-at-or-above=3"}, env(nil))
	require.ErrorContains(t, err, "follow-up thresholds")
}

func TestLoadRateLimit(t *testing.T) {
	c, err := config.Load(nil, env(nil))
	require.NoError(t, err)
	require.Equal(t, 50.0, c.RateLimit, "on by default")
	require.Equal(t, 100, c.RateBurst)

	c, err = config.Load([]string{"--rate-limit=1", "--rate-burst=2"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, 1.0, c.RateLimit)
	require.Equal(t, 2, c.RateBurst)

	c, err = config.Load(nil, env(map[string]string{"AFTERSALES_RATE_LIMIT": "0.5"}))
	require.NoError(t, err)
	require.Equal(t, 0.5, c.RateLimit, "fractions allow one call every few seconds")
	require.Equal(t, 100, c.RateBurst)

	_, err = config.Load([]string{"--rate-limit=0", "--rate-burst=0"}, env(nil))
	require.NoError(t, err, "the burst does not matter while the limit is off")

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--rate-limit=-1"}, "--rate-limit must be a non-negative number"},
		{[]string{"--rate-limit=NaN"}, "--rate-limit must be a non-negative number"},
		{[]string{"--rate-limit=+Inf"}, "--rate-limit must be a non-negative number"},
		{[]string{"--rate-limit=fast"}, "-rate-limit"},
		{[]string{"--rate-limit=10", "--rate-burst=0"}, "--rate-burst must be at least 1"},
	} {
		_, err := config.Load(tt.args, env(nil))
		require.ErrorContains(t, err, tt.wantErr, tt.args)
	}
}

func TestLoadRedis(t *testing.T) {
	c, err := config.Load(nil, env(nil))
	require.NoError(t, err)
	require.Empty(t, c.RedisURL, "limits are per process by default")
	require.Equal(t, "aftersales:", c.RedisKeyPrefix)
	require.Equal(t, 50*time.Millisecond, c.RedisTimeout)

	for _, url := range []string{"redis://127.0.0.1:6379/0", "rediss://user:secret@redis.internal:6380/2", "unix:///run/redis/redis.sock"} {
		c, err = config.Load([]string{"--redis-timeout=20ms", "--redis-key-prefix=staging:"}, env(map[string]string{"AFTERSALES_REDIS_URL": url}))
		require.NoError(t, err, url)
		require.Equal(t, url, c.RedisURL)
		require.Equal(t, "staging:", c.RedisKeyPrefix)
		require.Equal(t, 20*time.Millisecond, c.RedisTimeout)
	}

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--redis-url=127.0.0.1:6379"}, "--redis-url must start with redis://, rediss:// or unix://"},
		{[]string{"--redis-url=http://user:secret@redis:6379"}, "--redis-url must start with"},
		{[]string{"--redis-timeout=0s"}, "--redis-timeout must be between 0 and 10s"},
		{[]string{"--redis-timeout=1m"}, "--redis-timeout must be between 0 and 10s"},
	} {
		_, err := config.Load(tt.args, env(nil))
		require.ErrorContains(t, err, tt.wantErr, tt.args)
		require.NotContains(t, err.Error(), "secret", "the error does not repeat a password")
	}
}

func TestLoadAuthThrottle(t *testing.T) {
	c, err := config.Load(nil, env(nil))
	require.NoError(t, err)
	require.Equal(t, 10, c.AuthFailureLimit, "on by default")
	require.Equal(t, time.Minute, c.AuthFailureWindow)
	require.Empty(t, c.TrustedProxies, "no proxy is trusted by default")
	require.Equal(t, 24*time.Hour, c.BootstrapKeyTTL)

	c, err = config.Load([]string{"--auth-failure-limit=3", "--auth-failure-window=5m", "--bootstrap-key-ttl=1h"},
		env(map[string]string{"AFTERSALES_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7,2001:db8::/32,::ffff:198.51.100.1, 172.16.5.4/12"}))
	require.NoError(t, err)
	require.Equal(t, 3, c.AuthFailureLimit)
	require.Equal(t, 5*time.Minute, c.AuthFailureWindow)
	require.Equal(t, time.Hour, c.BootstrapKeyTTL)
	require.Equal(t, config.Prefixes{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("198.51.100.1/32"),
		netip.MustParsePrefix("172.16.0.0/12"),
	}, c.TrustedProxies, "a bare address is itself alone, a mapped IPv4 address is IPv4, a CIDR is its network")
	text, err := c.TrustedProxies.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "10.0.0.0/8,192.0.2.7/32,2001:db8::/32,198.51.100.1/32,172.16.0.0/12", string(text))

	c, err = config.Load([]string{"--auth-failure-limit=0", "--auth-failure-window=0s"}, env(nil))
	require.NoError(t, err, "the window does not matter while the throttle is off")
	require.Zero(t, c.AuthFailureLimit)

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--auth-failure-limit=-1"}, "--auth-failure-limit must not be negative"},
		{[]string{"--auth-failure-window=0s"}, "--auth-failure-window must be positive"},
		{[]string{"--trusted-proxies=10.0.0.0/33"}, `"10.0.0.0/33" is neither a CIDR nor an IP address`},
		{[]string{"--trusted-proxies=proxy.internal"}, "-trusted-proxies"},
		{[]string{"--trusted-proxies=::ffff:10.0.0.0/104"}, "write IPv4 networks as IPv4"},
		{[]string{"--bootstrap-key-ttl=0s"}, "--bootstrap-key-ttl must be positive"},
	} {
		_, err := config.Load(tt.args, env(nil))
		require.ErrorContains(t, err, tt.wantErr, tt.args)
	}
}

func TestLoadTLS(t *testing.T) {
	c, err := config.Load(nil, env(nil))
	require.NoError(t, err)
	require.False(t, c.TLS(), "plaintext by default")

	c, err = config.Load([]string{"--tls-cert=server.pem", "--tls-client-ca=partners.pem"},
		env(map[string]string{"AFTERSALES_TLS_KEY": "server.key"}))
	require.NoError(t, err)
	require.True(t, c.TLS())
	require.Equal(t, "server.pem", c.TLSCert)
	require.Equal(t, "server.key", c.TLSKey)
	require.Equal(t, "partners.pem", c.TLSClientCA)

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--tls-cert=server.pem"}, "--tls-cert and --tls-key must be set together"},
		{[]string{"--tls-key=server.key"}, "--tls-cert and --tls-key must be set together"},
		{[]string{"--tls-client-ca=partners.pem"}, "--tls-client-ca needs --tls-cert and --tls-key"},
	} {
		_, err := config.Load(tt.args, env(nil))
		require.ErrorContains(t, err, tt.wantErr, tt.args)
	}
}

func TestLoadCustomerTokens(t *testing.T) {
	c, err := config.Load(nil, env(nil))
	require.NoError(t, err)
	require.False(t, c.CustomerTokens(), "off by default")
	require.Equal(t, "sub", c.JWTSubjectClaim)

	c, err = config.Load([]string{"--jwt-issuer=https://id.example", "--jwt-audience=aftersales", "--jwt-subject-claim=uid"},
		env(map[string]string{"AFTERSALES_JWT_HMAC_SECRET": "s3cret"}))
	require.NoError(t, err)
	require.True(t, c.CustomerTokens())
	require.Equal(t, "https://id.example", c.JWTIssuer)
	require.Equal(t, "aftersales", c.JWTAudience)
	require.Equal(t, "s3cret", c.JWTHMACSecret)
	require.Equal(t, "uid", c.JWTSubjectClaim)

	c, err = config.Load([]string{"--jwt-issuer=i", "--jwt-audience=a", "--jwt-key-file=/etc/keys.json"}, env(nil))
	require.NoError(t, err)
	require.True(t, c.CustomerTokens())

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--jwt-issuer=i"}, "--jwt-audience must be set"},
		{[]string{"--jwt-issuer=i", "--jwt-audience=a"}, "need --jwt-hmac-secret or --jwt-key-file"},
		{[]string{"--jwt-hmac-secret=x"}, "--jwt-issuer must be set"},
		{[]string{"--jwt-issuer=i", "--jwt-audience=a", "--jwt-hmac-secret=x", "--jwt-key-file=k"}, "not both"},
		{[]string{"--jwt-issuer=i", "--jwt-audience=a", "--jwt-hmac-secret=x", "--jwt-subject-claim="}, "--jwt-subject-claim must not be empty"},
	} {
		_, err := config.Load(tt.args, env(nil))
		require.ErrorContains(t, err, tt.wantErr, tt.args)
	}
}

func TestLoadKeysCommand(t *testing.T) {
	c, err := config.Load([]string{"keys", "create", "--role", "admin", "--name", "ops", "--expires=720h", "--can-delegate", "--data-dir=d"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, config.CommandKeys, c.Command)
	require.Equal(t, config.KeysCommand{Action: config.KeysCreate, Role: aftersalesv1.Staff_ADMIN, DisplayName: "ops", Expires: 720 * time.Hour, CanDelegate: true}, c.Keys)
	require.Equal(t, "d", c.DataDir, "settings mix with the command's options")

	c, err = config.Load([]string{"--data-dir=d", "keys", "--staff=staff/s1", "create"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, config.KeysCommand{Action: config.KeysCreate, Staff: "staff/s1"}, c.Keys)

	c, err = config.Load([]string{"keys", "create", "--partner", "partners/p1"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, "partners/p1", c.Keys.Partner)

	c, err = config.Load([]string{"keys", "list"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, config.KeysList, c.Keys.Action)

	c, err = config.Load([]string{"keys", "revoke", "apiKeys/k1", "--log-level=warn"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, config.KeysCommand{Action: config.KeysRevoke, Key: "apiKeys/k1"}, c.Keys)
	require.Equal(t, slog.LevelWarn, c.LogLevel)

	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"keys"}, "missing subcommand"},
		{[]string{"keys", "rotate"}, `unknown subcommand "rotate"`},
		{[]string{"keys", "create"}, "exactly one of --staff, --partner and --role"},
		{[]string{"keys", "create", "--staff=staff/s", "--role=AGENT"}, "exactly one of"},
		{[]string{"keys", "create", "--role=ROLE_UNSPECIFIED"}, "want ADMIN, MANAGER"},
		{[]string{"keys", "create", "--role=boss"}, "want ADMIN, MANAGER"},
		{[]string{"keys", "create", "--staff=s1"}, "--staff must be staff/{id}"},
		{[]string{"keys", "create", "--partner=staff/s1"}, "--partner must be partners/{id}"},
		{[]string{"keys", "create", "--role=AGENT", "--expires=-1h"}, "--expires must not be negative"},
		{[]string{"keys", "create", "--role=AGENT", "extra"}, `unexpected argument "extra"`},
		{[]string{"keys", "list", "--role=AGENT"}, "options of keys create"},
		{[]string{"keys", "revoke"}, "missing the key to revoke"},
		{[]string{"keys", "revoke", "staff/s1"}, "must be apiKeys/{id}"},
		{[]string{"keys", "revoke", "apiKeys/a", "apiKeys/b"}, `unexpected argument "apiKeys/b"`},
		{[]string{"serve", "--staff=staff/s1"}, "flag provided but not defined: -staff"},
		{[]string{"--role=ADMIN", "keys", "create"}, "flag provided but not defined: -role"},
	} {
		_, err := config.Load(tt.args, env(nil))
		require.ErrorContains(t, err, tt.wantErr, tt.args)
	}
	// Options of commands are not settings: no environment variables.
	_, err = config.Load([]string{"keys", "create"}, env(map[string]string{"AFTERSALES_ROLE": "ADMIN"}))
	require.ErrorContains(t, err, "exactly one of")
}

func TestLoadDevTokenCommand(t *testing.T) {
	jwt := map[string]string{"AFTERSALES_JWT_ISSUER": "i", "AFTERSALES_JWT_AUDIENCE": "a", "AFTERSALES_JWT_HMAC_SECRET": "s"}
	c, err := config.Load([]string{"dev-token", "--customer", "customers/c1"}, env(jwt))
	require.NoError(t, err)
	require.Equal(t, config.CommandDevToken, c.Command)
	require.Equal(t, config.DevTokenCommand{Customer: "customers/c1", TTL: time.Hour}, c.DevToken)

	c, err = config.Load([]string{"dev-token", "--customer=customers/c1", "--ttl=10m"}, env(jwt))
	require.NoError(t, err)
	require.Equal(t, 10*time.Minute, c.DevToken.TTL)

	for _, tt := range []struct {
		args    []string
		env     map[string]string
		wantErr string
	}{
		{[]string{"dev-token"}, jwt, "--customer must be customers/{id}"},
		{[]string{"dev-token", "--customer=c1"}, jwt, "--customer must be customers/{id}"},
		{[]string{"dev-token", "--customer=customers/c1", "--ttl=0s"}, jwt, "--ttl must be positive"},
		{[]string{"dev-token", "--customer=customers/c1"}, nil, "signs with the server's --jwt-hmac-secret"},
		{[]string{"dev-token", "--customer=customers/c1", "--jwt-issuer=i", "--jwt-audience=a", "--jwt-key-file=k"}, nil, "cannot mint tokens for a server using --jwt-key-file"},
		{[]string{"dev-token", "--customer=customers/c1", "now"}, jwt, `unexpected argument "now"`},
	} {
		_, err := config.Load(tt.args, env(tt.env))
		require.ErrorContains(t, err, tt.wantErr, tt.args)
	}
}

func TestUsageListsCommands(t *testing.T) {
	var b bytes.Buffer
	config.Usage(&b)
	for _, want := range []string{"keys create", "keys list", "keys revoke apiKeys/ID", "dev-token --customer", "--can-delegate", "--ttl", "AFTERSALES_JWT_HMAC_SECRET"} {
		require.Contains(t, b.String(), want)
	}
}
