// Package pagetoken implements AIP-158 page tokens for keyset pagination.
//
// A token records where the previous page ended (the last row's create time
// and ID) together with a fingerprint of the query that produced it, so a
// token cannot silently be reused with a different parent, filter or
// ordering. Tokens are opaque, compact and URL-safe. They carry a checksum to
// detect corruption, but no secret: they are not a security boundary, and a
// client that crafts a token can only choose where its own listing resumes.
//
// The package is shared by servers and clients, so it reports plain errors
// (ErrInvalid, ErrMismatch, ErrNegativeSize) and leaves the mapping to gRPC
// status codes to the caller.
package pagetoken

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Errors returned by Decode and Size. Decode wraps ErrInvalid with detail, so
// compare with errors.Is.
var (
	// ErrInvalid means the token is malformed, truncated, corrupted or was
	// produced by an incompatible version of this package.
	ErrInvalid = errors.New("pagetoken: invalid page token")
	// ErrMismatch means the token is well formed but was issued for a
	// different query (parent, filter, order_by or extra parameters).
	ErrMismatch = errors.New("pagetoken: page token does not match the request parameters")
	// ErrNegativeSize means a negative page_size was requested.
	ErrNegativeSize = errors.New("pagetoken: page size must not be negative")
)

const (
	// MaxLen is the longest token Decode accepts, in bytes. It bounds the work
	// done on client input; real tokens are far shorter.
	MaxLen = 512

	// DefaultSize and MaxSize are the conventional arguments to Size.
	DefaultSize = 50
	MaxSize     = 1000
)

const (
	version = 1
	fpLen   = 8 // query fingerprint: collisions between two queries are what it guards against
	sumLen  = 4 // checksum: only needs to catch accidental corruption
	// minLen is a token with a zero-length ID and one-byte varints.
	minLen = 1 + fpLen + 1 + 1 + 1 + sumLen
)

// The accepted time range is that of RFC 3339 (years 0001 to 9999). Rejecting
// anything else keeps crafted tokens from producing times a database or a
// formatter cannot represent.
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

var enc = base64.RawURLEncoding.Strict()

// Query identifies the listing a token belongs to. Two requests may share
// tokens only if all fields are equal, so callers should put normalized forms
// here: Filter should be filter.Canonical of the parsed filter and OrderBy
// filter.CanonicalOrderBy of the parsed ordering, so that mere whitespace
// differences do not invalidate a token. Extra holds any other request
// parameter that changes the result set (for example show_deleted); callers
// combine several into one string themselves.
//
// page_size is deliberately absent: AIP-158 lets clients change the page size
// between pages.
type Query struct {
	Parent  string
	Filter  string
	OrderBy string
	Extra   string
}

// Position is a keyset position: the sort key of the last row of a page.
type Position struct {
	// CreateTime is the last row's create time. It is stored with nanosecond
	// precision and decoded in UTC.
	CreateTime time.Time
	// ID is the last row's ID, the tie-breaker for equal create times.
	ID string
}

// IsZero reports whether p is the zero Position, which Decode returns for an
// empty token and which means "start from the beginning".
func (p Position) IsZero() bool {
	return p.CreateTime.IsZero() && p.ID == ""
}

// Encode returns the token for resuming query q after pos.
//
// Layout before base64: version byte, query fingerprint, create time seconds
// (zig-zag varint), nanoseconds (uvarint), ID length (uvarint) and bytes, and
// a truncated SHA-256 checksum of everything before it.
func Encode(q Query, pos Position) string {
	fp := fingerprint(q)
	t := pos.CreateTime
	// Stack buffers keep typical tokens to a single allocation, the result.
	var buf, out [MaxLen]byte
	b := append(buf[:0], version)
	b = append(b, fp[:]...)
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(len(pos.ID)))
	b = append(b, pos.ID...)
	sum := sha256.Sum256(b)
	b = append(b, sum[:sumLen]...)
	return string(enc.AppendEncode(out[:0], b))
}

// Decode returns the position stored in token, checking that it was issued
// for q. An empty token yields the zero Position and no error. A token that
// cannot be decoded yields an error wrapping ErrInvalid; one issued for a
// different query yields ErrMismatch.
//
// Decode accepts exactly the strings Encode produces: non-canonical encodings
// of the same bytes are rejected, so a token has a single spelling.
func Decode(token string, q Query) (Position, error) {
	if token == "" {
		return Position{}, nil
	}
	if len(token) > MaxLen {
		return Position{}, invalid("too long")
	}
	// The base64 decoder skips '\r' and '\n'; reject them so that every
	// accepted token is exactly what Encode would produce.
	for i := 0; i < len(token); i++ {
		if token[i] == '\r' || token[i] == '\n' {
			return Position{}, invalid("not base64url")
		}
	}
	var buf [MaxLen]byte // decoded length is at most 3/4 of MaxLen
	n, err := enc.Decode(buf[:], []byte(token))
	if err != nil {
		return Position{}, invalid("not base64url")
	}
	b := buf[:n]
	if len(b) < minLen {
		return Position{}, invalid("truncated")
	}
	if b[0] != version {
		return Position{}, invalid("unknown version")
	}
	body, sum := b[:len(b)-sumLen], b[len(b)-sumLen:]
	want := sha256.Sum256(body)
	if string(sum) != string(want[:sumLen]) {
		return Position{}, invalid("checksum mismatch")
	}
	fp := fingerprint(q)
	if string(body[1:1+fpLen]) != string(fp[:]) {
		return Position{}, ErrMismatch
	}

	p := body[1+fpLen:]
	sec, n := binary.Varint(p)
	if !minimal(p, n) || sec < minUnix || sec > maxUnix {
		return Position{}, invalid("bad create time")
	}
	p = p[n:]
	nsec, n := binary.Uvarint(p)
	if !minimal(p, n) || nsec >= 1e9 {
		return Position{}, invalid("bad create time")
	}
	p = p[n:]
	idLen, n := binary.Uvarint(p)
	if !minimal(p, n) || idLen != uint64(len(p)-n) {
		return Position{}, invalid("bad id")
	}
	id := string(p[n:])
	// IDs come from the database as text; anything else can only be a
	// crafted token and would fail later, less clearly.
	if !utf8.ValidString(id) {
		return Position{}, invalid("bad id")
	}
	return Position{CreateTime: time.Unix(sec, int64(nsec)).UTC(), ID: id}, nil
}

// Size resolves a requested page_size per AIP-158: 0 means def, values above
// maxSize are clamped to maxSize (def is clamped too), and negative values
// are rejected with ErrNegativeSize. Usually called as
// Size(req.GetPageSize(), DefaultSize, MaxSize).
func Size(requested, def, maxSize int32) (int, error) {
	switch {
	case requested < 0:
		return 0, ErrNegativeSize
	case requested == 0:
		requested = def
	}
	return int(min(requested, maxSize)), nil
}

// fingerprint hashes q with length prefixes, so that moving bytes between
// fields ("a"+"bc" versus "ab"+"c") changes the result.
func fingerprint(q Query) [fpLen]byte {
	var buf [256]byte // typical queries fit, so hashing does not allocate
	b := buf[:0]
	for _, s := range [...]string{"pagetoken/v1", q.Parent, q.Filter, q.OrderBy, q.Extra} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	sum := sha256.Sum256(b)
	return [fpLen]byte(sum[:fpLen])
}

// minimal reports whether the varint that binary.Varint or binary.Uvarint
// read from p, using n bytes, was read successfully and in its shortest form.
// A longer form ends in a zero byte.
func minimal(p []byte, n int) bool {
	return n > 0 && (n == 1 || p[n-1] != 0)
}

func invalid(detail string) error {
	return fmt.Errorf("%w: %s", ErrInvalid, detail)
}
