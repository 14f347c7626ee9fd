package interceptors

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// safeError returns what the client may see of a handler's error.
//
// A status error passes unchanged. A wrapped status error is unwrapped:
// grpc-go would otherwise send the whole wrapped text as the message, and
// the text added by wrapping is for logs. A context error becomes
// CANCELLED or DEADLINE_EXCEEDED, which is what it means. Anything else is
// a handler that forgot to map an error: it is logged and replaced by
// INTERNAL, because its text may hold SQL or driver details.
func safeError(ctx context.Context, logger *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if se, ok := err.(interface{ GRPCStatus() *status.Status }); ok && se.GRPCStatus() != nil {
		return err
	}
	var wrapped interface{ GRPCStatus() *status.Status }
	if errors.As(err, &wrapped) && wrapped.GRPCStatus() != nil {
		return wrapped.GRPCStatus().Err()
	}
	// Only the context error's own text: the wrapping may describe the query.
	for _, ctxErr := range []error{context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, ctxErr) {
			return status.FromContextError(ctxErr).Err()
		}
	}
	method, _ := grpc.Method(ctx)
	attrs := []any{slog.String("method", method), slog.Any("error", err)}
	// Store errors keep the driver error out of Error() and offer it
	// through Cause() for exactly this log line.
	var withCause interface{ Cause() error }
	if errors.As(err, &withCause) && withCause.Cause() != nil {
		attrs = append(attrs, slog.Any("cause", withCause.Cause()))
	}
	logger.ErrorContext(ctx, "handler returned an error that is not a gRPC status", attrs...)
	return internalError()
}

func safetyNetUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, panicked(ctx, logger, p)
			}
		}()
		resp, err = handler(ctx, req)
		return resp, safeError(ctx, logger, err)
	}
}

func safetyNetStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = panicked(ss.Context(), logger, p)
			}
		}()
		return safeError(ss.Context(), logger, handler(srv, ss))
	}
}
