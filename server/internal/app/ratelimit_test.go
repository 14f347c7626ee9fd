package app_test

import (
	"encoding/json"
	"net/http"
	"sync"
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
)

// manualClock is a clock the test moves by hand, read by the app's
// goroutines.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRateLimit checks the limiter as wired into the app: per principal,
// RESOURCE_EXHAUSTED (RATE_LIMITED) with a RetryInfo over gRPC, 429 with
// Retry-After over JSON, on the clock of WithNow.
func TestRateLimit(t *testing.T) {
	clock := &manualClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	ta := start(t, func(c *config.Config) {
		c.RateLimit = 1
		c.RateBurst = 2
	}, app.WithNow(clock.Now))
	staff := aftersalesv1.NewStaffServiceClient(ta.conn)

	// The admin's burst: two calls, one of which makes a second principal.
	other, err := aftersalesv1.NewApiKeyServiceClient(ta.conn).CreateApiKey(ta.admin(), &aftersalesv1.CreateApiKeyRequest{
		ApiKey: &aftersalesv1.ApiKey{DisplayName: "other", ServiceRole: aftersalesv1.Staff_AGENT},
	})
	require.NoError(t, err)
	_, err = staff.ListStaff(ta.admin(), &aftersalesv1.ListStaffRequest{})
	require.NoError(t, err)

	_, err = staff.ListStaff(ta.admin(), &aftersalesv1.ListStaffRequest{})
	st := status.Convert(err)
	require.Equal(t, codes.ResourceExhausted, st.Code(), err)
	require.Equal(t, aftersalesv1.ErrorReason_RATE_LIMITED, apierr.Reason(err))
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	require.NotNil(t, retry, "the error says when to retry")
	require.Equal(t, time.Second, retry.GetRetryDelay().AsDuration(), "one call per second")

	// Over JSON the same bucket, and the delay (750ms by now) also as a
	// Retry-After header in whole seconds, rounded up.
	clock.Advance(250 * time.Millisecond)
	req, err := http.NewRequest(http.MethodGet, ta.baseURL+"/v1/staff", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", bearer(ta.BootstrapKey()))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	var body struct {
		Details []map[string]any `json:"details"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	var reason, delay any
	for _, d := range body.Details {
		if d["reason"] != nil {
			reason = d["reason"]
		}
		if d["retryDelay"] != nil {
			delay = d["retryDelay"]
		}
	}
	require.Equal(t, "RATE_LIMITED", reason)
	require.Equal(t, "0.750s", delay)

	// Another principal has its own budget, over gRPC and JSON alike.
	_, err = staff.ListStaff(as(other.GetSecret()), &aftersalesv1.ListStaffRequest{})
	require.NoError(t, err)
	code, body2 := ta.request(t, http.MethodGet, "/v1/staff", "", http.Header{"Authorization": {bearer(other.GetSecret())}})
	require.Equal(t, http.StatusOK, code, body2)

	// Health checks are never limited.
	for range 3 {
		require.Equal(t, healthpb.HealthCheckResponse_SERVING, ta.health(t))
	}

	// Once the delay has passed, the admin may call again.
	clock.Advance(750 * time.Millisecond)
	_, err = staff.ListStaff(ta.admin(), &aftersalesv1.ListStaffRequest{})
	require.NoError(t, err)

	code, metrics := ta.get(t, "/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, metrics, `grpc_server_handled_total{grpc_code="ResourceExhausted",grpc_method="ListStaff",grpc_service="aftersales.v1.StaffService",grpc_type="unary"} 2`)
}

// TestRateLimitOff: without --rate-limit nothing is limited.
func TestRateLimitOff(t *testing.T) {
	clock := &manualClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	ta := start(t, func(c *config.Config) { c.RateLimit = 0 }, app.WithNow(clock.Now))
	staff := aftersalesv1.NewStaffServiceClient(ta.conn)
	for range 3 * config.Default().RateBurst {
		_, err := staff.ListStaff(ta.admin(), &aftersalesv1.ListStaffRequest{})
		require.NoError(t, err)
	}
}

// TestRateLimitAnonymousByAddress: callers without credentials (the public
// price list) each get their own budget by client address, also through
// the JSON gateway, where every call reaches the gRPC server from
// loopback; behind a trusted proxy by X-Forwarded-For.
func TestRateLimitAnonymousByAddress(t *testing.T) {
	tp := startThrottled(t, func(c *config.Config) { c.RateLimit, c.RateBurst = 1, 1 })
	lookup := func(from, xff string) int {
		req, err := http.NewRequest(http.MethodGet, tp.baseURL+"/v1/fees:lookup?model=WM-8000", nil)
		require.NoError(t, err)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := tp.httpFrom(from).Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		return resp.StatusCode
	}
	// No price list is published: a 400 (NO_FEE_SCHEDULE) is a call let
	// through; 429 is the limit.
	require.Equal(t, http.StatusBadRequest, lookup("127.0.0.21", ""))
	require.Equal(t, http.StatusTooManyRequests, lookup("127.0.0.21", ""), "the same client, over its budget")
	require.Equal(t, http.StatusBadRequest, lookup("127.0.0.22", ""), "another client has its own budget")
	require.Equal(t, http.StatusBadRequest, lookup(proxyAddr, "203.0.113.7"))
	require.Equal(t, http.StatusBadRequest, lookup(proxyAddr, "203.0.113.8"), "clients behind a trusted proxy apart")
	require.Equal(t, http.StatusTooManyRequests, lookup(proxyAddr, "203.0.113.7"))
}
