// Package webhook verifies the webhook deliveries the aftersales server
// sends to a partner shop's endpoint.
//
// Every delivery is a POST whose JSON body is the event, with these
// headers:
//
//   - Aftersales-Signature (Header): the signature, checked by Verify;
//   - Aftersales-Event-Id (EventIDHeader): the event's id, the same on
//     every retry of the delivery;
//   - Aftersales-Event-Type (EventTypeHeader): the event's type, such as
//     "ticket.updated".
//
// Call Verify on the raw body, before decoding it: re-encoding decoded
// JSON does not give back the signed bytes. Answer with a 2xx status once
// the event is safely recorded; anything else, or no answer within the
// server's timeout, makes the server retry later with backoff. Deliveries
// are therefore at least once, and may arrive out of order: use the event
// id to process each event once.
package webhook

import (
	"time"

	"github.com/aftersales/aftersales/pkg/webhooksig"
)

// The headers of a delivery.
const (
	// Header carries the delivery's signature.
	Header = webhooksig.Header
	// EventIDHeader carries the event's id, the same on every retry.
	EventIDHeader = webhooksig.EventIDHeader
	// EventTypeHeader carries the event's type, such as "ticket.updated".
	EventTypeHeader = webhooksig.EventTypeHeader
)

// The errors Verify returns, possibly wrapped with details; test for them
// with errors.Is. They are the errors of package pkg/webhooksig, repeated
// here so that a receiver needs to import only this package.
var (
	// ErrNoSecret means Verify was called with an empty secret, usually
	// an unset configuration value.
	ErrNoSecret = webhooksig.ErrNoSecret
	// ErrMissingHeader means the request had no signature header.
	ErrMissingHeader = webhooksig.ErrMissingHeader
	// ErrInvalidHeader means the signature header is malformed.
	ErrInvalidHeader = webhooksig.ErrInvalidHeader
	// ErrTooOld means the signature's timestamp is further from now than
	// the tolerance: a replayed delivery, or a clock that is off.
	ErrTooOld = webhooksig.ErrTooOld
	// ErrMismatch means the signature does not match the body and secret:
	// a forged or altered delivery, or the wrong secret.
	ErrMismatch = webhooksig.ErrMismatch
)

// Verify checks that header, the value of the Aftersales-Signature header,
// is a signature of body with secret, made within tolerance of the current
// time. The header may carry several signatures, as while a secret is
// being rotated; one matching is enough.
//
// A tolerance of a few minutes (5 is usual) refuses captured deliveries
// replayed later while allowing for clocks that differ a little. Each
// retry of a delivery is signed afresh, so the tolerance applies to the
// attempt, not to the event. A tolerance of zero or less skips the time
// check.
func Verify(secret, header string, body []byte, tolerance time.Duration) error {
	return webhooksig.Verify(secret, header, body, tolerance, time.Now())
}
