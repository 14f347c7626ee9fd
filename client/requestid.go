package client

import (
	"context"
	"sync"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// requestIDFields caches, per message type, the descriptor of its
// top-level string field request_id, or a nil descriptor when it has none,
// so that reflection runs once per type rather than on every call.
var requestIDFields sync.Map // protoreflect.FullName → protoreflect.FieldDescriptor

// requestIDField returns md's request_id field, or nil.
func requestIDField(md protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	if v, ok := requestIDFields.Load(md.FullName()); ok {
		fd, _ := v.(protoreflect.FieldDescriptor) // nil when cached as absent
		return fd
	}
	fd := md.Fields().ByName("request_id")
	if fd != nil && (fd.Kind() != protoreflect.StringKind || fd.Cardinality() == protoreflect.Repeated) {
		fd = nil
	}
	requestIDFields.Store(md.FullName(), fd)
	return fd
}

// fillRequestID gives a mutating request (one with a request_id field) a
// new random request_id when the caller left it empty.
//
// It runs once per call, above gRPC's retry logic, so every retry attempt
// of the call resends the same id and the server returns the first
// attempt's result instead of acting twice. The id is set on the caller's
// message, which lets the caller log it or reuse the message to retry by
// hand; the flip side is that reusing a request message for a different
// operation must clear request_id first, and that one message must not be
// sent from several goroutines at once while its request_id is empty.
func fillRequestID(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if m, ok := req.(proto.Message); ok {
		setRequestID(m.ProtoReflect())
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func setRequestID(m protoreflect.Message) {
	if !m.IsValid() { // a nil message; let the server reject it
		return
	}
	fd := requestIDField(m.Descriptor())
	if fd == nil || m.Get(fd).String() != "" {
		return
	}
	// UUIDv7 is time-ordered, which keeps the server's idempotency index
	// compact. It fails only if crypto/rand does, which since Go 1.24
	// aborts the program before returning.
	id := uuid.Must(uuid.NewV7())
	m.Set(fd, protoreflect.ValueOfString(id.String()))
}
