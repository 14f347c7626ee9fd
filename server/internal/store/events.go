package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CursorPurged is the event cursor below which retention has deleted
// events: a reader positioned before it would miss some.
const CursorPurged = "purged"

// cursorSequenced holds the highest position SequenceEvents gave.
const cursorSequenced = "sequenced"

// SequenceEvents gives committed events without a feed position one,
// up to limit of them in id order, each greater than every position given
// before, and returns how many it numbered. Positions are assigned in the
// order events become visible, so a reader that remembers the last
// position it read never skips an event committed later with a smaller
// id. A resource's changes are written under its row lock, so their ids,
// and therefore their positions, follow the order of the changes.
//
// Runs serialise on the "sequenced" cursor row, which holds the highest
// position given, so replicas and callers that need the feed up to date
// (WatchEvents, CreateWebhook) may call it at once; the loop's lease only
// saves replicas the work.
func (d *DB) SequenceEvents(ctx context.Context, limit int) (int64, error) {
	var n int64
	err := d.inTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, func(tx *gorm.DB) error {
		n = 0 // InTx may rerun this
		var cur EventCursor
		q := tx
		if d.dialect == DialectMySQL {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		// The migration inserted the row.
		if err := q.Where("name = ?", cursorSequenced).Take(&cur).Error; err != nil {
			return err
		}
		var ids []int64
		if err := tx.Model(&Event{}).Where("seq IS NULL").Order("id").Limit(limit).Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		// seq = id + offset keeps id order in one statement; ids are
		// sparse (rolled back inserts), so are positions, which is fine.
		// Rows of the range still uncommitted are skipped (READ COMMITTED
		// reads past them on MySQL; SQLite has none) and numbered by a
		// later run, above this one's.
		lo, hi := ids[0], ids[len(ids)-1]
		offset := cur.Position + 1 - lo
		res := tx.Exec("UPDATE events SET seq = id + ? WHERE seq IS NULL AND id BETWEEN ? AND ?", offset, lo, hi)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return tx.Model(&EventCursor{}).Where("name = ?", cursorSequenced).Update("position", hi+offset).Error
	})
	return n, Translate(err)
}

// PurgeEvents deletes numbered events created before cutoff, at most
// limit of them from the oldest, and moves the purged cursor past them.
func (d *DB) PurgeEvents(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	var n int64
	err := d.InTx(ctx, func(tx *gorm.DB) error {
		n = 0 // InTx may rerun this
		var rows []Event
		if err := tx.Select("seq", "create_time").Where("seq IS NOT NULL").Order("seq").Limit(limit).Find(&rows).Error; err != nil {
			return err
		}
		var cut int64
		for _, r := range rows {
			if !r.CreateTime.Before(cutoff) {
				break
			}
			cut = *r.Seq
		}
		if cut == 0 {
			return nil
		}
		res := tx.Where("seq IS NOT NULL AND seq <= ?", cut).Delete(&Event{})
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return SetEventPosition(tx, CursorPurged, cut)
	})
	return n, Translate(err)
}

// EventPosition returns the named cursor's position, 0 when unset.
func (d *DB) EventPosition(ctx context.Context, name string) (int64, error) {
	p, err := eventPosition(d.gorm.WithContext(ctx), name)
	return p, Translate(err)
}

func eventPosition(q *gorm.DB, name string) (int64, error) {
	var c EventCursor
	err := q.Where("name = ?", name).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	return c.Position, err
}

// SetEventPosition sets the named cursor inside tx.
func SetEventPosition(tx *gorm.DB, name string, pos int64) error {
	return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, DoUpdates: clause.AssignmentColumns([]string{"position"})}).
		Create(&EventCursor{Name: name, Position: pos}).Error
}
