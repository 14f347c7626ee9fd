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
	// Response is the marshaled response proto; NULL until Complete.
	Response   []byte
	Resource   string    `gorm:"size:255;not null"`
	CreateTime time.Time `gorm:"not null;index:idx_idempotency_keys_create_time"`
}

// TableName implements GORM's tabler.
func (IdempotencyKey) TableName() string { return "idempotency_keys" }

// Idempotency is the state of one idempotent request inside a write
// transaction; see (*DB).Idempotent.
type Idempotency struct {
	// Replayed reports that the request already succeeded earlier: the
	// caller must skip the work and return Response (and Resource)
	// instead.
	Replayed bool
	// Response is the marshaled response stored by the first execution.
	Response []byte
	// Resource is the resource name stored by the first execution.
	Resource string

	tx        *gorm.DB
	method    string
	requestID string
}

// Idempotent claims (method, requestID) at the start of a write
// transaction. Use it as the first statement inside InTx:
//
//	err := db.InTx(ctx, func(tx *gorm.DB) error {
//		idem, err := db.Idempotent(ctx, tx, method, req.GetRequestId(), hash)
//		if err != nil {
//			return err
//		}
//		if idem.Replayed {
//			return proto.Unmarshal(idem.Response, resp)
//		}
//		// ... do the work with tx, fill resp ...
//		b, err := proto.Marshal(resp)
//		if err != nil {
//			return err
//		}
//		return idem.Complete(ctx, name, b)
//	})
//
// reqHash is the SHA-256 of the canonical request (excluding request_id)
// and must be sha256.Size bytes. An empty requestID disables idempotency:
// the request is never a replay and Complete does nothing.
//
// Concurrency: the claim is an INSERT of the primary key. A concurrent
// duplicate blocks on that key (MySQL row lock; SQLite's single writer)
// until the first transaction ends. If it committed, the duplicate
// becomes a replay of the stored response; if it rolled back, the
// duplicate's insert succeeds and it does the work itself. So for any
// number of concurrent duplicates exactly one executes.
//
// Errors: ErrIdempotencyMismatch if requestID was used with a different
// hash; ErrConflict if the first execution's row is not visible to this
// transaction (possible on snapshot-at-BEGIN engines such as TiDB) or a
// deadlock was detected, in which case retrying the request replays it.
func (d *DB) Idempotent(ctx context.Context, tx *gorm.DB, method, requestID string, reqHash []byte) (*Idempotency, error) {
	if requestID == "" {
		return &Idempotency{}, nil
	}
	if len(reqHash) != sha256.Size {
		return nil, fmt.Errorf("%w: request hash must be %d bytes", ErrInternal, sha256.Size)
	}
	tx = tx.WithContext(ctx)
	idem := &Idempotency{tx: tx, method: method, requestID: requestID}

	err := Translate(tx.Create(&IdempotencyKey{
		Method:      method,
		RequestID:   requestID,
		RequestHash: reqHash,
		CreateTime:  d.now(),
	}).Error)
	if err == nil {
		return idem, nil
	}
	if !errors.Is(err, ErrAlreadyExists) {
		return nil, err
	}

	// The key exists and its transaction has committed (a duplicate
	// error is only raised once the owner commits). Read it inside our
	// transaction: that needs no second connection (which could starve
	// the pool under load), and on MySQL/MariaDB the snapshot of a
	// REPEATABLE READ transaction starts at its first plain read, which
	// is this one, so the committed row is visible. The read is not
	// locking: the failed insert already holds a shared lock on the key,
	// and upgrading it would deadlock against the other duplicates.
	var row IdempotencyKey
	err = Translate(tx.Where("method = ? AND request_id = ?", method, requestID).Take(&row).Error)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, &Error{kind: ErrConflict, reason: "concurrent request with the same id", cause: err}
	case err != nil:
		return nil, err
	case !bytes.Equal(row.RequestHash, reqHash):
		return nil, ErrIdempotencyMismatch
	}
	idem.Replayed = true
	idem.Response = row.Response
	idem.Resource = row.Resource
	return idem, nil
}

// Complete stores the response of a request claimed by Idempotent, in the
// same transaction, so the claim and the result commit together. It must
// not be called on a replayed request.
func (i *Idempotency) Complete(ctx context.Context, resource string, response []byte) error {
	if i.Replayed {
		return fmt.Errorf("%w: Complete called on a replayed request", ErrInternal)
	}
	if i.tx == nil { // idempotency disabled (no request id)
		return nil
	}
	if response == nil {
		response = []byte{} // an empty proto message, distinct from NULL
	}
	res := i.tx.WithContext(ctx).Model(&IdempotencyKey{}).
		Where("method = ? AND request_id = ?", i.method, i.requestID).
		Updates(map[string]any{"response": response, "resource": resource})
	if res.Error != nil {
		return Translate(res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("%w: idempotency key vanished before Complete", ErrInternal)
	}
	return nil
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
