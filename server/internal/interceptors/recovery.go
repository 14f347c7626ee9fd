package interceptors

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
)

// internalError is what a client gets for a server bug. The message is
// fixed so that nothing about the cause leaks; the log has the details.
func internalError() error {
	return apierr.New(codes.Internal, aftersalesv1.ErrorReason_INTERNAL_ERROR, "internal error")
}

// panicked logs a recovered panic with the stack of the panicking
// goroutine and returns the error for the client. It must be called from
// the deferred function that recovered, or the stack is the wrong one.
func panicked(ctx context.Context, logger *slog.Logger, p any) error {
	method, _ := grpc.Method(ctx)
	logger.ErrorContext(ctx, "panic in gRPC call",
		slog.String("method", method),
		slog.Any("panic", p),
		slog.String("stack", string(debug.Stack())),
	)
	return internalError()
}

func recoveryOption(logger *slog.Logger) recovery.Option {
	return recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		return panicked(ctx, logger, p)
	})
}

func recoveryUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return recovery.UnaryServerInterceptor(recoveryOption(logger))
}

func recoveryStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return recovery.StreamServerInterceptor(recoveryOption(logger))
}
