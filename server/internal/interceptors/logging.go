package interceptors

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// logLine collects what inner interceptors learn about a call for its log
// line. Logging runs outside authentication (so that a rejected caller
// is still logged), so the principal interceptor leaves the
// caller here for the line written on the way out.
type logLine struct {
	principal principal.Principal
}

type logLineKey struct{}

func logLineFrom(ctx context.Context) *logLine {
	l, _ := ctx.Value(logLineKey{}).(*logLine)
	return l
}

func loggingUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		line := &logLine{}
		resp, err := handler(context.WithValue(ctx, logLineKey{}, line), req)
		size := -1
		if m, ok := req.(proto.Message); ok {
			size = proto.Size(m)
		}
		logCall(ctx, logger, info.FullMethod, time.Since(start), line, size, err)
		return resp, err
	}
}

func loggingStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		line := &logLine{}
		ctx := context.WithValue(ss.Context(), logLineKey{}, line)
		err := handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
		logCall(ss.Context(), logger, info.FullMethod, time.Since(start), line, -1, err)
		return err
	}
}

// logCall writes the one line of a finished call. size is the request
// size in bytes, or -1 for streams.
func logCall(ctx context.Context, logger *slog.Logger, method string, d time.Duration, line *logLine, size int, err error) {
	st := status.Convert(err)
	level := levelFor(method, st.Code())
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", st.Code().String()),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("principal", line.principal.String()),
		slog.String("via", line.principal.Via),
	}
	if size >= 0 {
		attrs = append(attrs, slog.Int("request_bytes", size))
	}
	if ids := metadata.ValueFromIncomingContext(ctx, RequestIDMetadataKey); len(ids) > 0 {
		attrs = append(attrs, slog.String("request_id", ids[0]))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", st.Message()))
		if r := apierr.Reason(err); r != aftersalesv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			attrs = append(attrs, slog.String("reason", r.String()))
		}
	}
	logger.LogAttrs(ctx, level, "grpc call", attrs...)
}

// levelFor picks the level of a call's line: Error for server bugs, Warn
// for server-side trouble that is not a bug, Info for the rest including
// client errors, which are routine. Successful health checks come every few
// seconds from probes and would drown the log, so they are Debug.
func levelFor(method string, code codes.Code) slog.Level {
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return slog.LevelError
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return slog.LevelWarn
	case codes.OK:
		if strings.HasPrefix(method, "/grpc.health.v1.Health/") {
			return slog.LevelDebug
		}
	}
	return slog.LevelInfo
}
