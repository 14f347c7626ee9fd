// Package auth decides who a caller is and what they may do: API keys and
// customer tokens (authentication), and the method × role policy table
// (authorization). The interceptors call it for every request, gRPC and
// JSON alike.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/store"
)

// KeyPrefix starts every API key, so a leaked key is easy to spot in logs,
// repositories and secret scanners.
const KeyPrefix = "ask_"

// idLen is the length of ids.New's ids, the middle part of a key.
const idLen = 26

// secretEncoding encodes the 32 random bytes of a key's secret.
var secretEncoding = base64.RawURLEncoding

// ParseKey splits "ask_<id>_<secret>" into id and secret.
func ParseKey(key string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, KeyPrefix)
	if !found || len(rest) != idLen+1+43 || rest[idLen] != '_' {
		return "", "", false
	}
	return rest[:idLen], rest[idLen+1:], true
}

// hashSecret is what is stored of a key. The secret is 256 random bits,
// so a plain SHA-256 is as hard to reverse as any slow hash and keeps
// verification on every call cheap.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// KeySpec is the identity and limits of a new key. Exactly one of
// StaffID, PartnerID and ServiceRole is set.
type KeySpec struct {
	DisplayName string
	StaffID     string
	PartnerID   string
	ServiceRole aftersalesv1.Staff_Role
	CanDelegate bool
	ExpireTime  *time.Time
}

// ErrBadSpec reports a KeySpec that does not name exactly one identity.
var ErrBadSpec = errors.New("auth: a key is bound to exactly one of a staff member, a partner or a service role")

// IssueKey creates a key inside tx and returns its record and the full
// key, which exists only in this return value.
func IssueKey(tx *gorm.DB, now time.Time, spec KeySpec) (*store.ApiKey, string, error) {
	n := 0
	for _, set := range []bool{spec.StaffID != "", spec.PartnerID != "", spec.ServiceRole != aftersalesv1.Staff_ROLE_UNSPECIFIED} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, "", ErrBadSpec
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	id, secret := ids.New(), secretEncoding.EncodeToString(raw)
	full := KeyPrefix + id + "_" + secret
	row := &store.ApiKey{
		ID:          id,
		DisplayName: spec.DisplayName,
		SecretHash:  hashSecret(secret),
		// The id part: enough to tell keys apart, and public anyway (it
		// is the key's name); never any of the secret.
		KeyPrefix:   full[:len(KeyPrefix)+idLen],
		StaffID:     spec.StaffID,
		PartnerID:   spec.PartnerID,
		ServiceRole: int32(spec.ServiceRole),
		CanDelegate: spec.CanDelegate,
		ExpireTime:  spec.ExpireTime,
		CreateTime:  now,
	}
	if err := store.Translate(tx.Create(row).Error); err != nil {
		return nil, "", err
	}
	return row, full, nil
}

// Bootstrap issues one admin service key, valid for ttl, when the
// database has no keys at all, so that a fresh install can create the
// real ones. It returns the key and when it expires, or "" when keys
// exist. The key expires because it is printed (to a terminal, or a
// container's log) and is meant for the first minutes of an install, not
// for running it. Safe with several replicas starting at once: only the
// transaction that finds the table empty issues a key (the check and the
// insert share one transaction, on MySQL the count locks the range, and
// on Galera a common marker row decides between nodes).
func Bootstrap(ctx context.Context, db *store.DB, ttl time.Duration) (key string, expireTime time.Time, err error) {
	err = db.InTx(ctx, func(tx *gorm.DB) error {
		key, expireTime = "", time.Time{} // InTx may rerun this
		var n int64
		q := tx.Model(&store.ApiKey{})
		if db.Dialect() == store.DialectMySQL {
			q = q.Clauses(lockingClause())
		}
		if err := store.Translate(q.Count(&n).Error); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		now := db.Now()
		// On Galera the range lock above holds only on this node: two
		// replicas on two nodes would both find the table empty. Both
		// also write this one row, so certification lets only one of
		// them commit; the other is rerun and finds the key.
		marker := store.Lease{Name: "bootstrap-key", Holder: "bootstrap", ExpiresAt: now}
		if err := store.Translate(tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&marker).Error); err != nil {
			return err
		}
		expire := now.Add(ttl)
		_, full, err := IssueKey(tx, now, KeySpec{DisplayName: "bootstrap admin", ServiceRole: aftersalesv1.Staff_ADMIN, ExpireTime: &expire})
		key, expireTime = full, expire
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		// Another replica bootstrapping at the same moment won the race
		// (MySQL picks one of the two as a deadlock victim).
		return "", time.Time{}, nil
	}
	if err != nil || key == "" {
		return "", time.Time{}, err
	}
	return key, expireTime, nil
}
