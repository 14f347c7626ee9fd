// Package apierr builds and reads the API's errors: a gRPC status carrying
// a google.rpc.ErrorInfo whose reason is an aftersales.v1.ErrorReason, plus
// BadRequest or PreconditionFailure details where they apply (AIP-193).
// Server and client share it so both sides agree on the shape.
package apierr

import (
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// Domain is the ErrorInfo domain of every error this API returns.
const Domain = "aftersales.v1"

// Violation is one invalid request field.
type Violation struct {
	// Field is the path of the field, for example "ticket.title".
	Field string
	// Description says what is wrong, for an API user.
	Description string
}

// New returns a status error with code, message and an ErrorInfo carrying
// reason, followed by any extra details.
func New(code codes.Code, reason aftersalesv1.ErrorReason, msg string, details ...protoadapt.MessageV1) error {
	st := status.New(code, msg)
	all := append([]protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason.String(), Domain: Domain}}, details...)
	withDetails, err := st.WithDetails(all...)
	if err != nil {
		// Only fails for unmarshalable details, which would be a bug here;
		// the bare status still has the right code.
		return st.Err()
	}
	return withDetails.Err()
}

// Newf is New with a formatted message and no extra details.
func Newf(code codes.Code, reason aftersalesv1.ErrorReason, format string, args ...any) error {
	return New(code, reason, fmt.Sprintf(format, args...))
}

// Invalid returns INVALID_ARGUMENT with reason and a BadRequest listing the
// violations. The message repeats the first violation so that a human
// reading only the message still learns what to fix.
func Invalid(reason aftersalesv1.ErrorReason, vs ...Violation) error {
	br := &errdetails.BadRequest{}
	for _, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
	}
	msg := "invalid request"
	if len(vs) > 0 {
		msg = fmt.Sprintf("invalid %s: %s", vs[0].Field, vs[0].Description)
		if len(vs) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(vs)-1)
		}
	}
	return New(codes.InvalidArgument, reason, msg, br)
}

// InvalidField is Invalid for a single FIELD_VIOLATION.
func InvalidField(field, description string) error {
	return Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, Violation{Field: field, Description: description})
}

// Precondition returns FAILED_PRECONDITION with reason and a
// PreconditionFailure whose violation has the given type, subject and
// description, for example ("STATE", "tickets/abc", "ticket is CLOSED;
// allowed from RESOLVED").
func Precondition(reason aftersalesv1.ErrorReason, typ, subject, description string) error {
	pf := &errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
		Type: typ, Subject: subject, Description: description,
	}}}
	return New(codes.FailedPrecondition, reason, description, pf)
}

// Reason returns the ErrorReason of err, or ERROR_REASON_UNSPECIFIED when
// err carries none.
func Reason(err error) aftersalesv1.ErrorReason {
	info := Info(err)
	if info == nil || info.GetDomain() != Domain {
		return aftersalesv1.ErrorReason_ERROR_REASON_UNSPECIFIED
	}
	return aftersalesv1.ErrorReason(aftersalesv1.ErrorReason_value[info.GetReason()])
}

// Info returns the ErrorInfo detail of err, or nil.
func Info(err error) *errdetails.ErrorInfo {
	for _, d := range statusOf(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// FieldViolations returns the BadRequest violations of err, if any.
func FieldViolations(err error) []Violation {
	var out []Violation
	for _, d := range statusOf(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, Violation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return out
}

// PreconditionViolations returns the PreconditionFailure violations of err.
func PreconditionViolations(err error) []*errdetails.PreconditionFailure_Violation {
	var out []*errdetails.PreconditionFailure_Violation
	for _, d := range statusOf(err).Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok {
			out = append(out, pf.GetViolations()...)
		}
	}
	return out
}

func statusOf(err error) *status.Status {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus()
	}
	return status.Convert(err)
}
