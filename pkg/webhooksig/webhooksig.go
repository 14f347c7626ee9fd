// Package webhooksig signs and verifies webhook deliveries, the same way on
// the server that sends them and on the receivers that check them.
//
// A delivery carries its signature in the Aftersales-Signature header:
//
//	Aftersales-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// t is the time of signing in Unix seconds and v1 the lower-case hex
// HMAC-SHA256, keyed with the subscription's secret, of t, a dot and the
// request body. Signing the timestamp with the body lets a receiver refuse
// a captured delivery replayed later; the dot keeps the timestamp and the
// body apart.
//
// A header may hold several v1 signatures, one per secret while a secret is
// being rotated; one matching is enough. Keys other than t and v1 are
// ignored, so that a later scheme can be added beside v1 without breaking
// receivers.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Header is the HTTP header carrying the signature of a delivery.
const Header = "Aftersales-Signature"

// EventIDHeader is the HTTP header carrying the id of the delivered event.
// A retried delivery carries the same id, so receivers use it to process
// each event once.
const EventIDHeader = "Aftersales-Event-Id"

// EventTypeHeader is the HTTP header carrying the type of the delivered
// event, such as "ticket.updated", so a receiver can route a delivery
// without decoding its body first.
const EventTypeHeader = "Aftersales-Event-Type"

// The errors Verify returns, possibly wrapped with details; test for them
// with errors.Is.
var (
	// ErrNoSecret means Verify was called with an empty secret. Anyone
	// can compute an HMAC with an empty key, so accepting it would let
	// anyone forge a delivery; it is usually an unset configuration value.
	ErrNoSecret = errors.New("webhooksig: empty secret")
	// ErrMissingHeader means the request had no signature header.
	ErrMissingHeader = errors.New("webhooksig: missing signature header")
	// ErrInvalidHeader means the signature header is malformed.
	ErrInvalidHeader = errors.New("webhooksig: invalid signature header")
	// ErrTooOld means the signature's timestamp is further from now than
	// the tolerance, in the past or in the future.
	ErrTooOld = errors.New("webhooksig: timestamp outside tolerance")
	// ErrMismatch means no signature in the header matches the body and
	// secret.
	ErrMismatch = errors.New("webhooksig: signature mismatch")
)

// Sign returns the signature header value for body sent at t:
// "t=<Unix seconds>,v1=<hex HMAC-SHA256(secret, "<Unix seconds>.<body>")>".
// The time is truncated to the second.
func Sign(secret string, t time.Time, body []byte) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// Verify checks that header, the value of the signature header, signs body
// with secret, and that its timestamp is within tolerance of now, in either
// direction. A tolerance of zero or less skips the time check; without it a
// captured delivery can be replayed forever, so use it only in tests.
//
// The signature is checked before the time, so ErrTooOld means a genuine
// delivery that is late or early, typically a clock being off or a replay.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return ErrNoSecret
	}
	if header == "" {
		return ErrMissingHeader
	}
	ts, sigs, err := parse(header)
	if err != nil {
		return err
	}
	want := mac(secret, ts, body)
	// hmac.Equal takes the same time wherever the first differing byte
	// is, so a forger cannot find the signature byte by byte.
	if !slices.ContainsFunc(sigs, func(sig []byte) bool { return hmac.Equal(sig, want) }) {
		return ErrMismatch
	}
	if tolerance > 0 {
		// Sub saturates instead of overflowing for absurd timestamps, and
		// Abs of the most negative Duration is the largest one, so this
		// cannot wrap around into the tolerance.
		if skew := now.Sub(time.Unix(ts, 0)).Abs(); skew > tolerance {
			return fmt.Errorf("%w: signed %s from now, tolerance %s", ErrTooOld, skew.Truncate(time.Second), tolerance)
		}
	}
	return nil
}

// parse splits a signature header into its timestamp and v1 signatures.
func parse(header string) (ts int64, sigs [][]byte, err error) {
	seenT := false
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue // tolerate a trailing comma
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return 0, nil, fmt.Errorf("%w: %q is not a key=value pair", ErrInvalidHeader, part)
		}
		switch k {
		case "t":
			// Two timestamps would leave it unclear which one was signed.
			if seenT {
				return 0, nil, fmt.Errorf("%w: more than one t", ErrInvalidHeader)
			}
			seenT = true
			ts, err = strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, nil, fmt.Errorf("%w: t is not an integer", ErrInvalidHeader)
			}
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return 0, nil, fmt.Errorf("%w: v1 is not %d hex digits", ErrInvalidHeader, 2*sha256.Size)
			}
			sigs = append(sigs, sig)
		}
	}
	if !seenT {
		return 0, nil, fmt.Errorf("%w: no t", ErrInvalidHeader)
	}
	if len(sigs) == 0 {
		return 0, nil, fmt.Errorf("%w: no v1", ErrInvalidHeader)
	}
	return ts, sigs, nil
}

// mac returns HMAC-SHA256(secret, "<ts>.<body>").
func mac(secret string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	var buf [24]byte
	h.Write(strconv.AppendInt(buf[:0], ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
