package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// IdempotencyKey is a row of the idempotency_keys table.
type IdempotencyKey struct {
	Method      string `gorm:"primaryKey;size:128"`
	RequestID   string `gorm:"primaryKey;size:64"`
	RequestHash []byte `gorm:"not null"`
	// Response is the marshaled response proto.
	Response   []byte
	Resource   string    `gorm:"size:255;not null"`
	CreateTime time.Time `gorm:"not null;index:idx_idempotency_keys_create_time"`
}

// TableName implements GORM's tabler.
func (IdempotencyKey) TableName() string { return "idempotency_keys" }

// Idempotency is the stored outcome of an idempotent request; see
// (*DB).SaveIdempotent and (*DB).Replay.
type Idempotency struct {
	// Response is the marshaled response stored by the first execution.
	Response []byte
	// Resource is the resource name stored by the first execution.
	Resource string
}

// SaveIdempotent records the outcome of (method, requestID) in the
// transaction that did the request's work, after the work, so the work
// and its record commit together or not at all. The record is appended
// (Append): it is inserted with the transaction's other appended rows
// just before COMMIT, and a duplicate key is InTx's error.
//
//	err := db.InTx(ctx, func(tx *gorm.DB) error {
//		// ... do the work with tx, fill resp ...
//		return db.SaveIdempotent(tx, method, requestID, hash, name, response)
//	})
//	if err != nil {
//		prior, perr := db.Replay(ctx, method, requestID, hash)
//		// perr: ErrIdempotencyMismatch, or the lookup failed;
//		// prior != nil: the request ran before, answer prior.Response
//	}
//
// One INSERT, rather than a claim at the start and the response at the
// end: a write per call saved. The key is the primary key, so the work
// commits once however many duplicates run at once. A duplicate that
// reaches the insert while the first is open blocks on the key (MySQL's
// row lock, SQLite's single writer) until the first ends: if it
// committed, the duplicate's insert fails with ErrAlreadyExists, its
// work rolls back, and Replay finds the first one's response; if it
// rolled back, the duplicate's insert succeeds and its work stands. The
// price is that a retry does its work before finding it was done;
// retries are rare and the work is rolled back, so nothing is written
// twice.
//
// reqHash is the SHA-256 of the canonical request (excluding request_id)
// and must be sha256.Size bytes.
func (d *DB) SaveIdempotent(tx *gorm.DB, method, requestID string, reqHash []byte, resource string, response []byte) error {
	if len(reqHash) != sha256.Size {
		return fmt.Errorf("%w: request hash must be %d bytes", ErrInternal, sha256.Size)
	}
	if response == nil {
		response = []byte{} // an empty proto message, distinct from NULL
	}
	return Append(tx, &IdempotencyKey{
		Method:      method,
		RequestID:   requestID,
		RequestHash: reqHash,
		Response:    response,
		Resource:    resource,
		CreateTime:  d.now(),
	})
}

// Replay returns the committed outcome of (method, requestID), or nil
// when the request has not run (or its run rolled back). The same id with
// a different request is ErrIdempotencyMismatch. Call it outside the
// failed transaction: a fresh read sees what committed since.
func (d *DB) Replay(ctx context.Context, method, requestID string, reqHash []byte) (*Idempotency, error) {
	var row IdempotencyKey
	err := Translate(d.gorm.WithContext(ctx).Where("method = ? AND request_id = ?", method, requestID).Take(&row).Error)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case !bytes.Equal(row.RequestHash, reqHash):
		return nil, ErrIdempotencyMismatch
	}
	return &Idempotency{Response: row.Response, Resource: row.Resource}, nil
}

// PurgeIdempotencyKeys deletes keys created before olderThan and returns
// how many were deleted. It deletes in small batches, each its own
// statement, so it never holds locks for long or builds a huge
// transaction (distributed engines cap transaction size).
func (d *DB) PurgeIdempotencyKeys(ctx context.Context, olderThan time.Time) (int64, error) {
	const batch = 1000
	db := d.gorm.WithContext(ctx)
	var total int64
	for {
		var res *gorm.DB
		if d.dialect == DialectMySQL {
			res = db.Exec("DELETE FROM idempotency_keys WHERE create_time < ? LIMIT ?", olderThan.UTC(), batch)
		} else {
			// SQLite is built without DELETE ... LIMIT.
			res = db.Exec(`DELETE FROM idempotency_keys WHERE rowid IN (
				SELECT rowid FROM idempotency_keys WHERE create_time < ? LIMIT ?)`, olderThan.UTC(), batch)
		}
		if res.Error != nil {
			return total, Translate(res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < batch {
			return total, nil
		}
	}
}
