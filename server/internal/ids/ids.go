// Package ids makes the server-assigned resource ids.
package ids

import (
	"encoding/base32"
	"strings"

	"github.com/google/uuid"
)

// idEncoding is base32hex in lower case: URL-safe, and it keeps the byte
// order, so time-ordered ids stay ordered as strings.
var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// New returns a new resource id: a UUIDv7 (48-bit millisecond time plus
// 74 random bits) in 26 characters. Random bits make ids unguessable; the
// time prefix keeps InnoDB's clustered index append-mostly.
func New() string {
	u := uuid.Must(uuid.NewV7())
	return strings.ToLower(idEncoding.EncodeToString(u[:]))
}
