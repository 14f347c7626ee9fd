package service

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/complaintflow"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// toStatus turns any error from a handler's work into the API's error. It
// is the one place that knows how store and rule errors look to clients:
// errors that are already gRPC statuses pass through, store sentinels get
// their code and reason, and anything else is logged and becomes a bare
// INTERNAL_ERROR so no SQL or internal detail reaches the client.
func (b *base) toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var te *ticketflow.TransitionError
	var ce *complaintflow.TransitionError
	switch {
	case errors.As(err, &te):
		return apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", te.Current.String(), te.Error())
	case errors.As(err, &ce):
		return apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", ce.Current.String(), ce.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return apierr.Invalid(aftersalesv1.ErrorReason_REQUEST_ID_REUSED, apierr.Violation{Field: "request_id", Description: "was already used for a different request; a retry must resend the identical request"})
	case errors.Is(err, store.ErrNotFound):
		return apierr.New(codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND, "resource not found")
	case errors.Is(err, store.ErrAlreadyExists):
		return apierr.New(codes.AlreadyExists, aftersalesv1.ErrorReason_RESOURCE_EXISTS, "a resource with the same unique key already exists")
	case errors.Is(err, store.ErrConflict):
		return apierr.New(codes.Aborted, aftersalesv1.ErrorReason_CONCURRENT_MODIFICATION, "the resource was changed concurrently; retry")
	case errors.Is(err, store.ErrUnavailable):
		return apierr.New(codes.Unavailable, aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE, "the database is unavailable; retry later")
	}
	b.log.ErrorContext(ctx, "internal error", slog.Any("error", err))
	return apierr.New(codes.Internal, aftersalesv1.ErrorReason_INTERNAL_ERROR, "internal error")
}

// notFound is the NOT_FOUND answer for a named resource. The name is the
// caller's own input, so echoing it leaks nothing.
func notFound(name string) error {
	return apierr.Newf(codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND, "%s not found", name)
}

// badReference is the INVALID_ARGUMENT answer for a request field that
// names a resource that does not exist.
func badReference(field, name string) error {
	return apierr.Invalid(aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND, apierr.Violation{Field: field, Description: name + " does not exist"})
}

// accessDenied is the PERMISSION_DENIED answer for a field the caller's
// role may not set (API.md §5: customers set no assignee or fees; partners
// change no priority or SLA).
func accessDenied(field string) error {
	return apierr.Newf(codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED, "the caller may not set %s", field)
}

// etagMismatch is the ABORTED answer for a stale etag.
func etagMismatch(name string) error {
	return apierr.Newf(codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH, "etag does not match the current version of %s; read it again", name)
}
