package interceptors_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/interceptors"
)

// TestChainRateLimit checks where Options.RateLimiter sits in the chain:
// after the principal interceptor, so buckets are per caller and rejected
// callers spend nothing, and before the handler.
func TestChainRateLimit(t *testing.T) {
	clock := newManualClock()
	var calls []string
	f := start(t, func(o *interceptors.Options) {
		o.Authorize = testAuthorize(&calls)
		o.RateLimiter = interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 1, Burst: 1}, clock.Now)
	})
	as := func(caller string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), callerKey, caller)
	}

	got, err := f.do(as("partners/p1"), "whoami")
	require.NoError(t, err)
	require.Equal(t, "partners/p1", got)

	// "panic" would crash the handler: a rejected call never reaches it.
	_, err = f.do(as("partners/p1"), "panic")
	st := status.Convert(err)
	require.Equal(t, codes.ResourceExhausted, st.Code())
	require.Equal(t, aftersalesv1.ErrorReason_RATE_LIMITED, apierr.Reason(err))
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	require.NotNil(t, retry)
	require.Equal(t, time.Second, retry.GetRetryDelay().AsDuration())

	// Logged and counted like any other failed call, naming the caller.
	var line map[string]any
	for _, l := range f.logs.lines(t) {
		if l["msg"] == "grpc call" && l["code"] == "ResourceExhausted" {
			line = l
		}
	}
	require.NotNil(t, line)
	require.Equal(t, "partners/p1", line["principal"])
	require.Equal(t, "RATE_LIMITED", line["reason"])
	require.Equal(t, 1.0, f.handled(t, "Do", codes.ResourceExhausted))

	// Another caller has a bucket of its own.
	got, err = f.do(as("partners/p2"), "whoami")
	require.NoError(t, err)
	require.Equal(t, "partners/p2", got)

	// Callers the principal interceptor turns away are answered by it,
	// however often they try, and take no tokens.
	for range 3 {
		_, err = f.do(as("staff/denied"), "whoami")
		require.Equal(t, codes.PermissionDenied, status.Code(err))
	}

	clock.Advance(time.Second)
	got, err = f.do(as("partners/p1"), "whoami")
	require.NoError(t, err, "the bucket refilled")
	require.Equal(t, "partners/p1", got)
}

// TestChainRateLimitDisabled: a limiter without a rate is left out of the
// chain.
func TestChainRateLimitDisabled(t *testing.T) {
	var calls []string
	f := start(t, func(o *interceptors.Options) {
		o.Authorize = testAuthorize(&calls)
		o.RateLimiter = interceptors.NewRateLimiter(interceptors.RateLimit{}, nil)
	})
	ctx := metadata.AppendToOutgoingContext(context.Background(), callerKey, "partners/p1")
	for range 100 {
		_, err := f.do(ctx, "whoami")
		require.NoError(t, err)
	}
}
