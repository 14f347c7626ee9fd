package interceptors

import (
	"context"
	"errors"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
)

// Drain is the gate of a graceful shutdown. Once Start is called, every
// new call is refused with UNAVAILABLE (SHUTTING_DOWN), which clients
// retry elsewhere, while the unary calls already past the gate finish;
// Start's channel says when they have. Long-lived streams (WatchEvents,
// health watches, reflection) are not waited for: their context is
// cancelled and they end with the same UNAVAILABLE, so a watcher resumes
// on another replica from its last event.
//
// grpc.Server.GracefulStop alone would not do: it closes the listener, so
// new clients get connection errors, and the JSON gateway's calls, which
// arrive over one long-lived connection, could not be told apart from the
// in-flight ones. The gate answers every call that reaches the server,
// gRPC or JSON (503), the same way.
//
// Health checks pass the gate, so that probes read NOT_SERVING rather
// than an error.
type Drain struct {
	mu       sync.Mutex
	draining bool
	inFlight int
	// idle is closed once draining and no unary call is in flight.
	idle chan struct{}
	// stop is closed by Start: it cancels the streams.
	stop chan struct{}
}

// NewDrain returns an open gate.
func NewDrain() *Drain {
	return &Drain{idle: make(chan struct{}), stop: make(chan struct{})}
}

// errShuttingDown is what a call refused or cut off by the drain gets.
var errShuttingDown = apierr.New(codes.Unavailable, aftersalesv1.ErrorReason_SHUTTING_DOWN,
	"the server is shutting down; retry with the same request_id")

// Start closes the gate and returns a channel closed when the unary calls
// in flight have finished. Calling it again returns the same channel.
func (d *Drain) Start() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.draining {
		d.draining = true
		close(d.stop)
		if d.inFlight == 0 {
			close(d.idle)
		}
	}
	return d.idle
}

// Draining reports whether Start was called.
func (d *Drain) Draining() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.draining
}

// enter counts a call in, or reports false when the gate is closed.
func (d *Drain) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.draining {
		return false
	}
	d.inFlight++
	return true
}

func (d *Drain) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inFlight--
	if d.draining && d.inFlight == 0 {
		close(d.idle)
	}
}

// exempt reports whether method passes the gate: the health service.
func exempt(method string) bool { return strings.HasPrefix(method, "/grpc.health.v1.Health/") }

func (d *Drain) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if exempt(info.FullMethod) {
			return handler(ctx, req)
		}
		if !d.enter() {
			return nil, errShuttingDown
		}
		defer d.leave()
		return handler(ctx, req)
	}
}

func (d *Drain) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if d.Draining() && !exempt(info.FullMethod) {
			return errShuttingDown
		}
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		go func() {
			select {
			case <-d.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
		// Ended by the drain rather than by the client or the handler:
		// say so, so the client knows to resume elsewhere.
		if ss.Context().Err() == nil && ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled) {
			return errShuttingDown
		}
		return err
	}
}
