// Package etag computes and compares AIP-154 etags for versioned resources.
//
// A resource's etag is derived from its name and its version counter, which
// is incremented on every change. The derivation is deterministic, so every
// process computes the same etag without coordination, and hashed, so clients
// treat it as opaque instead of doing arithmetic on the counter.
//
// An empty etag in a request means "no precondition". Deciding that is the
// caller's job: call Match only for a non-empty etag.
package etag

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// size is the etag length in hex characters: 64 bits, ample to tell the
// versions of one resource apart.
const size = 16

// Of returns the strong etag for version of the resource called name: the
// first 16 hex characters of SHA-256(name, NUL, decimal version). The NUL
// keeps ("a1", 2) and ("a", 12) apart.
func Of(name string, version int64) string {
	var buf [size]byte
	return string(of(buf[:0], name, version))
}

// Match reports whether etag, as sent by a client, is the current etag of
// the resource. It tolerates the decorations HTTP clients and proxies add: a
// weak "W/" prefix and surrounding double quotes. A weak etag is compared as
// if strong because Of never issues weak ones, so the prefix can only have
// been added in transit.
func Match(etag, name string, version int64) bool {
	etag = strings.TrimPrefix(etag, "W/")
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		etag = etag[1 : len(etag)-1]
	}
	if len(etag) != size {
		return false
	}
	var buf [size]byte
	return string(of(buf[:0], name, version)) == etag
}

// of appends the etag to dst. Hashing from a stack buffer keeps Of at one
// allocation and Match at none for typical resource names.
func of(dst []byte, name string, version int64) []byte {
	var in [128]byte
	b := append(in[:0], name...)
	b = append(b, 0)
	b = strconv.AppendInt(b, version, 10)
	sum := sha256.Sum256(b)
	return hex.AppendEncode(dst, sum[:size/2])
}
