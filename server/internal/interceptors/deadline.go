package interceptors

import (
	"context"
	"time"

	"google.golang.org/grpc"
)

// deadlineUnary gives a call without a deadline the default one, so that a
// client that forgot to set one cannot hold a database connection forever.
func deadlineUnary(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); ok || d <= 0 {
			return handler(ctx, req)
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return handler(ctx, req)
	}
}
