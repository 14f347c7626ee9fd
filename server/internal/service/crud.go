package service

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/server/internal/store"
)

// versioned is a row under optimistic concurrency: its etag derives from
// its version, and every change touches it.
type versioned interface {
	CurrentVersion() int64
	Touch(now time.Time)
}

// getRow reads the row with id through q, which carries the caller's
// scope. A missing or out-of-scope row is NOT_FOUND naming the requested
// resource: the two look the same to the caller.
func getRow[M any](ctx context.Context, b *base, q *gorm.DB, id, name string) (*M, error) {
	var row M
	if err := store.Translate(q.Where("id = ?", id).Take(&row).Error); err != nil {
		if isNotFound(err) {
			return nil, notFound(name)
		}
		return nil, b.toStatus(ctx, err)
	}
	return &row, nil
}

// updateRow is the shape of every standard Update (AIP-134): in one
// transaction, lock the row within the caller's scope, check the etag,
// apply the change, touch the row, save it, and audit before → after.
func updateRow[M any, PM interface {
	*M
	versioned
}, R proto.Message](ctx context.Context, b *base, scope func(*gorm.DB) *gorm.DB, id, name, sentEtag string,
	toProto func(*M) R, apply func(tx *gorm.DB, row *M) error,
) (R, error) {
	var out R
	err := b.db.InTx(ctx, func(tx *gorm.DB) error {
		var row M
		if err := lockRow(scope(tx), &row, id); err != nil {
			return err
		}
		if err := checkEtag(sentEtag, name, PM(&row).CurrentVersion()); err != nil {
			return err
		}
		before := toProto(&row)
		if err := apply(tx, &row); err != nil {
			return err
		}
		PM(&row).Touch(b.now())
		if err := store.Translate(tx.Save(&row).Error); err != nil {
			return err
		}
		out = toProto(&row)
		return b.audit(ctx, tx, name, before, out)
	})
	var zero R
	switch {
	case isNotFound(err):
		return zero, notFound(name)
	case err != nil:
		return zero, b.toStatus(ctx, err)
	}
	return out, nil
}

// unscoped is the scope of tables every caller allowed by the policy may
// see whole (SLA policies).
func unscoped(q *gorm.DB) *gorm.DB { return q }
