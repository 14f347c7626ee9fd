package main

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"

	"github.com/google/uuid"
)

// idEncoding is the server's id alphabet (server/internal/ids): base32hex
// without padding, lower-cased, so ids sort like the UUIDv7 bytes.
var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// newID returns an id exactly like the server's ids.New: a UUIDv7 in 26
// lower-case base32hex characters.
func newID() string {
	u := uuid.Must(uuid.NewV7())
	return strings.ToLower(idEncoding.EncodeToString(u[:]))
}

// idAt returns a server-shaped id whose UUIDv7 time is t, for seeded rows:
// like the server's, their ids then sort in creation order, so the
// clustered index holds them where the server would have put them.
func idAt(t time.Time) string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	ms := uint64(t.UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(u[0:6], ts[2:8])
	u[6] = 0x70 | (u[6] & 0x0f) // version 7
	u[8] = 0x80 | (u[8] & 0x3f) // RFC 4122 variant
	return strings.ToLower(idEncoding.EncodeToString(u[:]))
}
