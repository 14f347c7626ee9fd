package interceptors

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sync/semaphore"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
)

// Admission bounds the unary calls a process works on at once. A call
// over the bound waits, first come first served, up to a maximum wait;
// one that still finds no room is refused with UNAVAILABLE (OVERLOADED)
// and a RetryInfo, having cost nothing but the wait.
//
// Without it a server past its capacity takes every call: hundreds of
// goroutines then share the CPUs, and the few that hold a database
// connection, in the middle of a transaction, wait for a CPU among all
// the others, so the pool's connections are held longer, every call
// waits longer for one, and the calls time out after the work was done.
// Queued at the gate instead, a waiting call holds no connection, takes
// no CPU and is not started once it could not finish in time.
//
// Streams (long-lived watches) and health checks are not counted.
type Admission struct {
	sem     *semaphore.Weighted
	maxWait time.Duration
}

// NewAdmission returns a gate for limit calls in flight that makes a call
// wait at most maxWait for room. A limit of 0 or less returns nil: no
// gate.
func NewAdmission(limit int, maxWait time.Duration) *Admission {
	if limit <= 0 {
		return nil
	}
	return &Admission{sem: semaphore.NewWeighted(int64(limit)), maxWait: maxWait}
}

// retryAfter is the delay an overloaded server asks for: long enough for
// a queue that was full for maxWait to move, short enough that a client
// backing off does not leave the server idle.
const retryAfter = 250 * time.Millisecond

var errOverloaded = apierr.New(codes.Unavailable, aftersalesv1.ErrorReason_OVERLOADED,
	"the server is at capacity; retry after a short delay with the same request_id",
	&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})

// acquire takes room for one call, waiting at most maxWait and never past
// ctx's deadline. The error is OVERLOADED when the wait ran out, and the
// context's error when the caller gave up or its deadline passed.
func (a *Admission) acquire(ctx context.Context) error {
	if a.sem.TryAcquire(1) {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, a.maxWait)
	defer cancel()
	err := a.sem.Acquire(wctx, 1)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		// The client's own deadline or cancellation: report that, not an
		// overload a retry would not help with.
		return ctxErr(ctx)
	}
	return errOverloaded
}

// ctxErr is the status a call whose context ended gets.
func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return apierr.New(codes.DeadlineExceeded, aftersalesv1.ErrorReason_OVERLOADED,
			"the deadline passed while the call waited for the server to have room")
	}
	return apierr.New(codes.Canceled, aftersalesv1.ErrorReason_OVERLOADED, "the call was cancelled while it waited for the server to have room")
}

func (a *Admission) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if exempt(info.FullMethod) {
			return handler(ctx, req)
		}
		if err := a.acquire(ctx); err != nil {
			return nil, err
		}
		defer a.sem.Release(1)
		return handler(ctx, req)
	}
}
