package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Lease is a row of the leases table.
type Lease struct {
	Name      string    `gorm:"primaryKey;size:64"`
	Holder    string    `gorm:"size:128;not null"`
	ExpiresAt time.Time `gorm:"not null"`
}

// TableName implements GORM's tabler.
func (Lease) TableName() string { return "leases" }

// AcquireLease acquires or renews the lease called name for holder until
// now+ttl and reports whether holder now holds it. Among replicas calling
// it concurrently with distinct holder ids, at most one holds a lease at
// any time: it succeeds only if the lease is free, expired, or already
// held by the same holder.
//
// Expiry is judged with each replica's injected clock (Options.Now), not
// the database clock, so both dialects behave the same and tests can
// control time. This assumes replica clocks are synchronised (NTP) to
// well within ttl: a holder must stop acting as leader before its own
// now+ttl minus the worst expected skew, and should renew every ttl/3 or
// so to survive a missed renewal.
func (d *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("%w: lease ttl must be positive", ErrInternal)
	}
	if name == "" || holder == "" {
		return false, fmt.Errorf("%w: lease name and holder are required", ErrInternal)
	}
	now := d.now()
	expires := now.Add(ttl)
	db := d.gorm.WithContext(ctx)

	// Renew our own lease or take over an expired one. A single UPDATE
	// is atomic on both dialects: MySQL re-evaluates the WHERE clause on
	// the latest committed row under its row lock, SQLite has one writer.
	// RowsAffected counts matched rows (clientFoundRows on MySQL), so a
	// renewal with an unchanged expiry still counts.
	res := db.Model(&Lease{}).
		Where("name = ? AND (holder = ? OR expires_at <= ?)", name, holder, now).
		Updates(map[string]any{"holder": holder, "expires_at": expires})
	if res.Error != nil {
		return false, Translate(res.Error)
	}
	if res.RowsAffected > 0 {
		return true, nil
	}

	// No row matched: either the lease never existed or someone else
	// holds it. Creating it decides between the two; if a concurrent
	// replica created it first, its insert wins and ours is a duplicate.
	err := Translate(db.Create(&Lease{Name: name, Holder: holder, ExpiresAt: expires}).Error)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrAlreadyExists):
		return false, nil
	default:
		return false, err
	}
}

// ReleaseLease gives up the lease if holder holds it, so another replica
// can take over without waiting for expiry. Releasing a lease held by
// someone else, or not at all, is a no-op.
func (d *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	return Translate(d.gorm.WithContext(ctx).
		Where("name = ? AND holder = ?", name, holder).
		Delete(&Lease{}).Error)
}
