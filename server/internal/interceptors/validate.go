package interceptors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
)

// validator checks requests against their protovalidate rules.
type validator struct {
	v      protovalidate.Validator
	opts   []protovalidate.ValidationOption
	logger *slog.Logger
}

func newValidator(v protovalidate.Validator, now func() time.Time, logger *slog.Logger) *validator {
	if v == nil {
		v = protovalidate.GlobalValidator
	}
	val := &validator{v: v, logger: logger}
	if now != nil {
		// Rules such as timestamp.lt_now must see the same clock as the
		// handlers, or tests with a fake clock would disagree with them.
		val.opts = append(val.opts, protovalidate.WithNowFunc(func() *timestamppb.Timestamp {
			return timestamppb.New(now())
		}))
	}
	return val
}

// check returns nil for a valid message, INVALID_ARGUMENT FIELD_VIOLATION
// with one violation per broken rule for an invalid one, and INTERNAL for
// rules that cannot be evaluated (a bug in the .proto files).
func (val *validator) check(ctx context.Context, m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		val.logger.ErrorContext(ctx, "cannot validate a request that is not a protobuf message", slog.String("type", fmt.Sprintf("%T", m)))
		return internalError()
	}
	err := val.v.Validate(msg, val.opts...)
	if err == nil {
		return nil
	}
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		val.logger.ErrorContext(ctx, "cannot evaluate validation rules",
			slog.String("message", string(msg.ProtoReflect().Descriptor().FullName())),
			slog.Any("error", err))
		return internalError()
	}
	vs := make([]apierr.Violation, 0, len(verr.Violations))
	for _, v := range verr.Violations {
		desc := v.Proto.GetMessage()
		if desc == "" {
			// Custom CEL rules may leave the message out; the rule id is
			// the next best thing.
			desc = "violates rule " + v.Proto.GetRuleId()
		}
		vs = append(vs, apierr.Violation{Field: protovalidate.FieldPathString(v.Proto.GetField()), Description: desc})
	}
	return apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
}

func (val *validator) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := val.check(ctx, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (val *validator) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &validatingStream{ServerStream: ss, val: val})
}

// validatingStream checks each message the client sends.
type validatingStream struct {
	grpc.ServerStream
	val *validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.val.check(s.Context(), m)
}
