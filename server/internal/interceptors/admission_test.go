package interceptors_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/interceptors"
)

// held coordinates the test service's "hold" calls: each signals entered
// when the handler runs and returns once release is closed.
var held struct {
	entered chan struct{}
	release chan struct{}
}

func TestAdmission(t *testing.T) {
	held.entered = make(chan struct{}, 8)
	held.release = make(chan struct{})
	f := start(t, func(o *interceptors.Options) {
		o.Admission = interceptors.NewAdmission(2, 200*time.Millisecond)
	})
	ctx := context.Background()

	// Two calls fill the gate.
	results := make(chan error, 4)
	for range 2 {
		go func() {
			_, err := f.do(ctx, "hold")
			results <- err
		}()
		<-held.entered
	}

	// A third waits its turn, finds none within the wait, and is refused
	// without reaching the handler ("panic" would become INTERNAL).
	began := time.Now()
	_, err := f.do(ctx, "panic")
	waited := time.Since(began)
	st := status.Convert(err)
	require.Equal(t, codes.Unavailable, st.Code(), "%v", err)
	require.Equal(t, aftersalesv1.ErrorReason_OVERLOADED, apierr.Reason(err))
	require.GreaterOrEqual(t, waited, 200*time.Millisecond, "it waited for room first")
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	require.NotNil(t, retry, "the refusal says when to retry")
	require.Positive(t, retry.GetRetryDelay().AsDuration())
	require.Equal(t, 1.0, f.handled(t, "Do", codes.Unavailable), "counted like any call")

	// A caller whose own deadline ends the wait is told so, not that the
	// server is overloaded.
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = f.do(dctx, "x")
	cancel()
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)

	// A call waiting when room frees up gets it, first come first served.
	go func() {
		_, err := f.do(ctx, "queued")
		results <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it queue at the gate
	close(held.release)
	for range 3 {
		require.NoError(t, <-results)
	}

	// With room again, calls go through.
	got, err := f.do(ctx, "ok")
	require.NoError(t, err)
	require.Equal(t, "ok", got)
}

// TestAdmissionExemptsHealth: a full gate still answers health checks, so
// probes see the server as alive rather than as failing.
func TestAdmissionExemptsHealth(t *testing.T) {
	held.entered = make(chan struct{}, 8)
	held.release = make(chan struct{})
	f := start(t, func(o *interceptors.Options) {
		o.Admission = interceptors.NewAdmission(1, 0)
	})
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := f.do(ctx, "hold")
		done <- err
	}()
	<-held.entered
	defer func() {
		close(held.release)
		require.NoError(t, <-done)
	}()

	_, err := f.do(ctx, "x")
	require.Equal(t, codes.Unavailable, status.Code(err), "no wait: refused at once")

	resp, err := healthpb.NewHealthClient(f.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
}
