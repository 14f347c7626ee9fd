package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/limiter/limitertest"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// The replicas' rate limit in these tests: a burst of five, then one call
// every 1000 s, so that no token comes back while a test runs.
const (
	replicaBurst = 5
	replicaRate  = 0.001
	replicaRefil = time.Duration(float64(time.Second) / replicaRate)
)

// startReplicas starts two apps on one database, as two replicas behind
// a load balancer, with the rate limit above and mutate applied to both.
// The first one issued the bootstrap key.
func startReplicas(t *testing.T, dbURL string, mutate func(*config.Config)) (a, b *testApp) {
	t.Helper()
	cfg := func(c *config.Config) {
		c.DatabaseURL = dbURL
		c.RateLimit = replicaRate
		c.RateBurst = replicaBurst
		mutate(c)
	}
	a = start(t, cfg)
	require.NotEmpty(t, a.BootstrapKey())
	b = start(t, cfg)
	require.Empty(t, b.BootstrapKey(), "one database: the key exists already")
	return a, b
}

// listStaff makes one call as credential through ta.
func listStaff(ta *testApp, credential string) error {
	_, err := aftersalesv1.NewStaffServiceClient(ta.conn).ListStaff(as(credential), &aftersalesv1.ListStaffRequest{})
	return err
}

// requireRateLimited checks that err, of a call through replica, is the
// rate limit's refusal with a RetryInfo of at most maxDelay, and returns
// that delay.
func requireRateLimited(t *testing.T, err error, maxDelay time.Duration, replica string) time.Duration {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.ResourceExhausted, st.Code(), "replica %s: %v", replica, err)
	require.Equal(t, aftersalesv1.ErrorReason_RATE_LIMITED, apierr.Reason(err))
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			delay := r.GetRetryDelay().AsDuration()
			require.Positive(t, delay)
			require.LessOrEqual(t, delay, maxDelay)
			return delay
		}
	}
	require.Fail(t, "no RetryInfo", "replica %s", replica)
	return 0
}

// TestRateLimitAcrossReplicas: with --redis-url, two replicas share each
// caller's budget: five calls in all, spread over both, and the sixth is
// refused on either, over gRPC and JSON, with the same RetryInfo as one
// process gives. Without Redis, each replica has a budget of its own.
func TestRateLimitAcrossReplicas(t *testing.T) {
	redisURL := limitertest.RedisURL(t)
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			prefix := limitertest.Prefix(t, redisURL)
			a, b := startReplicas(t, storetest.URL(t, dialect), func(c *config.Config) {
				c.RedisURL = redisURL
				c.RedisKeyPrefix = prefix
			})
			admin := a.BootstrapKey()

			// The admin's five: a key for another caller, then calls on
			// both replicas in turn.
			other, err := aftersalesv1.NewApiKeyServiceClient(a.conn).CreateApiKey(as(admin), &aftersalesv1.CreateApiKeyRequest{
				ApiKey: &aftersalesv1.ApiKey{DisplayName: "other", ServiceRole: aftersalesv1.Staff_AGENT},
			})
			require.NoError(t, err)
			for i, ta := range []*testApp{b, a, b, a} {
				require.NoError(t, listStaff(ta, admin), "call %d of %d", i+2, replicaBurst)
			}

			// The sixth, on either replica.
			delay := requireRateLimited(t, listStaff(b, admin), replicaRefil, "b")
			require.Greater(t, delay, replicaRefil-time.Minute, "one token takes 1/rate, on Redis's clock")
			requireRateLimited(t, listStaff(a, admin), replicaRefil, "a")
			code, body := b.request(t, http.MethodGet, "/v1/staff", "", http.Header{"Authorization": {bearer(admin)}})
			require.Equal(t, http.StatusTooManyRequests, code, body)

			// Another caller has its own budget, on both.
			require.NoError(t, listStaff(b, other.GetSecret()))
			require.NoError(t, listStaff(a, other.GetSecret()))

			for _, ta := range []*testApp{a, b} {
				_, metrics := ta.get(t, "/metrics")
				require.Contains(t, metrics, `aftersales_redis_fallbacks_total{buckets="calls"} 0`, "Redis answered every call")
				require.Len(t, ta.logLines(t, "rate limits shared through Redis"), 1)
			}
		})
	}

	t.Run("without redis", func(t *testing.T) {
		a, b := startReplicas(t, storetest.URL(t, "sqlite"), func(*config.Config) {})
		admin := a.BootstrapKey()
		for _, ta := range []*testApp{a, b} {
			for i := range replicaBurst {
				require.NoError(t, listStaff(ta, admin), "call %d", i+1)
			}
			requireRateLimited(t, listStaff(ta, admin), replicaRefil, ta.GRPCAddr())
			_, metrics := ta.get(t, "/metrics")
			require.NotContains(t, metrics, "aftersales_redis_fallbacks_total")
		}
	})
}

// TestRateLimitRedisDown: with --redis-url pointing where nothing
// listens, the replicas start (with a warning), are ready, and limit each
// call per process: each replica allows the whole burst, the next call
// gets the usual RESOURCE_EXHAUSTED, and no call gets any other error.
// Every decision is counted as a fallback, and the outage is logged once,
// not once per call.
func TestRateLimitRedisDown(t *testing.T) {
	a, b := startReplicas(t, storetest.URL(t, "sqlite"), func(c *config.Config) {
		c.RedisURL = limitertest.ClosedURL(t)
		c.RedisKeyPrefix = "test:"
	})
	admin := a.BootstrapKey()
	for _, ta := range []*testApp{a, b} {
		code, body := ta.get(t, "/readyz")
		require.Equal(t, http.StatusOK, code, "readiness does not depend on Redis: %s", body)
		require.Equal(t, healthpb.HealthCheckResponse_SERVING, ta.health(t))

		for i := range replicaBurst {
			require.NoError(t, listStaff(ta, admin), "call %d", i+1)
		}
		requireRateLimited(t, listStaff(ta, admin), replicaRefil, ta.GRPCAddr())

		_, metrics := ta.get(t, "/metrics")
		require.Contains(t, metrics, `aftersales_redis_fallbacks_total{buckets="calls"} 6`)
		warnings := ta.logLines(t, "Redis unavailable: rate limits are per process until it answers")
		require.Len(t, warnings, 1)
		require.Equal(t, "WARN", warnings[0]["level"])
		require.Empty(t, ta.logLines(t, "rate limits shared through Redis"))
	}
}

// TestAuthThrottleAcrossReplicas: with --redis-url the failed
// authentications of one address count on every replica together: three
// failures spread over two replicas throttle the address on both, while
// another address keeps its allowance. A credential a replica has seen
// working still passes there.
func TestAuthThrottleAcrossReplicas(t *testing.T) {
	redisURL := limitertest.RedisURL(t)
	prefix := limitertest.Prefix(t, redisURL)
	// An hour's window: no attempt comes back while the test runs, on
	// Redis's clock.
	const window = time.Hour
	shared := func(c *config.Config) {
		c.AuthFailureWindow = window
		c.RedisURL = redisURL
		c.RedisKeyPrefix = prefix
	}
	a := startThrottled(t, shared)
	b := startThrottled(t, shared)

	require.Equal(t, codes.Unauthenticated, viaGRPC(t, a, attackerAddr, "", badKey(0)).code)
	require.Equal(t, codes.Unauthenticated, viaJSON(t, b, attackerAddr, "", badKey(1)).code)
	require.Equal(t, codes.Unauthenticated, viaGRPC(t, a, attackerAddr, "", badKey(2)).code)

	got := viaGRPC(t, b, attackerAddr, "", badKey(3))
	require.Equal(t, codes.ResourceExhausted, got.code, "throttled on b by failures made mostly on a")
	require.LessOrEqual(t, got.retry, window/throttleFailures)
	require.Greater(t, got.retry, window/throttleFailures-time.Minute)
	require.Equal(t, codes.ResourceExhausted, viaJSON(t, a, attackerAddr, "", badKey(4)).code)
	require.Equal(t, codes.Unauthenticated, viaGRPC(t, b, otherAddr, "", badKey(0)).code, "another address has its own allowance")

	// b's admin key, once seen working on b, passes there from the
	// throttled address too.
	require.Equal(t, codes.OK, viaGRPC(t, b, otherAddr, "", b.BootstrapKey()).code)
	require.Equal(t, codes.OK, viaGRPC(t, b, attackerAddr, "", b.BootstrapKey()).code)

	// The replica whose failure emptied the bucket warns.
	require.Len(t, a.logLines(t, "authentication failures throttled"), 1)
	require.Empty(t, b.logLines(t, "authentication failures throttled"))
	_, metrics := b.get(t, "/metrics")
	require.Contains(t, metrics, "aftersales_auth_throttled_total 1")
	require.Contains(t, metrics, `aftersales_redis_fallbacks_total{buckets="auth_failures"} 0`)
}

// TestRedisURLMalformed: a --redis-url that is not one is a configuration
// error, like a wrong certificate path: the server does not start, and
// the error does not repeat the URL, which may hold a password.
func TestRedisURLMalformed(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.RedisURL = "redis://user:s3cret@host:port/0"
	_, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "--redis-url")
	require.NotContains(t, err.Error(), "s3cret")
}
