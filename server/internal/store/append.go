package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Rows a transaction appends and never reads back — its audit record, its
// outbox event, its idempotency record, a new resource it returns as it
// built it — need not reach the database one statement at a time. Append
// queues them; InTx inserts the queue after fn returns. On MySQL the
// INSERTs and the COMMIT go in one multi-statement round trip: a
// CreateTicket's five rows and its commit took six round trips, now one.

// appendsKey keys the queue of the transaction in its context.
type appendsKey struct{}

// appends is a transaction's queue of rows to insert before it commits,
// and of functions to call once it has.
type appends struct {
	rows        []any
	afterCommit []func()
}

// Append queues rows (pointers to models) for insertion at the end of
// the transaction tx belongs to, in order. Use it only for rows nothing
// reads in the same transaction: a query of tx does not see them. An
// error inserting them (a duplicate key, say) is InTx's error. Outside
// InTx, or through a tx given another context, it inserts at once.
func Append(tx *gorm.DB, rows ...any) error {
	q, _ := tx.Statement.Context.Value(appendsKey{}).(*appends)
	if q == nil {
		for _, row := range rows {
			if err := Translate(tx.Create(row).Error); err != nil {
				return err
			}
		}
		return nil
	}
	q.rows = append(q.rows, rows...)
	return nil
}

// AfterCommit queues fn to run once the transaction tx belongs to has
// committed (never if it rolls back): for what must not happen before the
// change is visible to other connections, such as dropping a cache that
// would otherwise be filled again with the old rows. Outside InTx, or
// through a tx given another context, it runs fn at once.
func AfterCommit(tx *gorm.DB, fn func()) {
	q, _ := tx.Statement.Context.Value(appendsKey{}).(*appends)
	if q == nil {
		fn()
		return
	}
	q.afterCommit = append(q.afterCommit, fn)
}

// committed runs the functions queued to run after the commit.
func (q *appends) committed() {
	for _, fn := range q.afterCommit {
		fn()
	}
}

// withAppends gives ctx a queue for Append.
func withAppends(ctx context.Context) (context.Context, *appends) {
	q := &appends{}
	return context.WithValue(ctx, appendsKey{}, q), q
}

// flush inserts the queued rows inside tx (SQLite: the statements cost no
// round trip, as SQLite runs in process).
func (d *DB) flush(tx *gorm.DB, q *appends) error {
	for _, row := range q.rows {
		if err := Translate(tx.Create(row).Error); err != nil {
			return err
		}
	}
	return nil
}

// flushCommit inserts the queued rows and commits, in one multi-statement
// round trip on MySQL. MySQL stops at the first statement that fails, so
// COMMIT runs only when every INSERT succeeded; the caller rolls back
// otherwise.
//
// On Galera each INSERT and the COMMIT go in a round trip of their own.
// There a transaction can be rolled back at any moment by a write set
// from another node that touches the same rows (a "brute force" abort),
// and MariaDB 10.11 reports that abort only when the next command
// arrives. The next statement of the same multi-statement then runs
// outside any transaction and commits on its own before the error comes
// back; when that statement is the COMMIT, it reports success for a
// transaction that no longer exists. The failover test saw the first: a
// call's idempotency key committed without the change it recorded, the
// error a duplicate key (the node retried the INSERT,
// wsrep_retry_autocommit), and the call acknowledged from the key it
// found. With a command of its own per statement, the next one gets the
// deadlock error, which InTx retries. It costs a round trip per appended
// row, on Galera only. (Two nodes writing one row, galera-4 26.4: a
// packet of 50 INSERTs left a stray committed row in 4 of about 110
// aborted transactions, one INSERT per command in none of 260;
// "INSERT ...;COMMIT" was reported committed for 5 of 156 aborted
// transactions, a COMMIT of its own for none of 184.
// TestAppendAtomicOnConflicts fails on the one packet within its 300
// tries.)
func (d *DB) flushCommit(tx *gorm.DB, q *appends) error {
	// The rows' schemas first, so that the text and the arguments get
	// their room at once: grown as they were written, they took about
	// twice their size in allocations, a quarter of a CreateTicket's.
	schemas := make([]*schema.Schema, len(q.rows))
	size, n := len("COMMIT"), 0
	for i, row := range q.rows {
		s, err := schema.Parse(row, &insertSchemas, tx.NamingStrategy)
		if err != nil {
			return fmt.Errorf("%w: append %T: %v", ErrInternal, row, err)
		}
		schemas[i] = s
		size += insertSize(s) + 1
		n += len(s.Fields)
	}
	oneByOne := d.nodes.galera.Load()
	var sql strings.Builder
	sql.Grow(size)
	args := make([]any, 0, n)
	for i, row := range q.rows {
		var err error
		if args, err = insertSQL(tx, schemas[i], &sql, args, row); err != nil {
			return err
		}
		if oneByOne {
			if err := execRaw(tx, sql.String(), args); err != nil {
				return err
			}
			sql.Reset()
			args = args[:0]
			continue
		}
		sql.WriteByte(';')
	}
	sql.WriteString("COMMIT")
	return execRaw(tx, sql.String(), args)
}

// execRaw runs query on tx's connection. It goes straight to the
// connection: GORM's Exec would parse the text again for its own
// placeholders. It is logged like GORM's own statements, with
// placeholders and never values.
func execRaw(tx *gorm.DB, query string, args []any) error {
	ctx, begin := tx.Statement.Context, time.Now()
	res, err := tx.Statement.ConnPool.ExecContext(ctx, query, args...)
	tx.Logger.Trace(ctx, begin, func() (string, int64) {
		if err != nil {
			return query, 0
		}
		n, _ := res.RowsAffected()
		return query, n
	}, err)
	return Translate(err)
}

// ScanRow runs query (SQL both dialects accept, with ? placeholders) on
// tx's connection, inside its transaction if it has one, and scans the
// first row into dest; ok is false when there is none. It skips GORM's
// statement building and reflection, for a statement every call of a
// busy method runs (CreateTicket's lookup), and is logged as GORM logs
// its own, with placeholders and never values.
func ScanRow(tx *gorm.DB, query string, args []any, dest ...any) (ok bool, err error) {
	ctx, begin := tx.Statement.Context, time.Now()
	defer func() {
		tx.Logger.Trace(ctx, begin, func() (string, int64) {
			if ok {
				return query, 1
			}
			return query, 0
		}, err)
	}()
	rows, err := tx.Statement.ConnPool.QueryContext(ctx, query, args...)
	if err != nil {
		return false, Translate(err)
	}
	defer rows.Close()
	if !rows.Next() {
		return false, Translate(rows.Err())
	}
	if err := rows.Scan(dest...); err != nil {
		return false, Translate(err)
	}
	return true, Translate(rows.Close())
}

// insertSize is the length of s's INSERT with every column (insertSQL
// leaves some out).
func insertSize(s *schema.Schema) int {
	n := len("INSERT INTO `` () VALUES ()") + len(s.Table)
	for _, f := range s.Fields {
		n += len(f.DBName) + len("``,?,")
	}
	return n
}

// insertSchemas caches the models' parsed schemas for insertSQL: parsing
// through a gorm.Statement, as Create does, allocated a statement per row.
var insertSchemas sync.Map

// insertSQL renders row's INSERT into sql, with its values appended to
// args, as GORM's Create would for the columns it writes: a zero
// auto-increment key and zero values of columns with a database default
// are left to the database. s is row's schema.
func insertSQL(tx *gorm.DB, s *schema.Schema, sql *strings.Builder, args []any, row any) ([]any, error) {
	rv := reflect.Indirect(reflect.ValueOf(row))
	sql.WriteString("INSERT INTO `")
	sql.WriteString(s.Table)
	sql.WriteString("` (")
	n := 0
	for _, f := range s.Fields {
		if f.DBName == "" || !f.Creatable {
			continue
		}
		if f.Serializer != nil {
			return nil, fmt.Errorf("%w: append %T: field %s has a serializer", ErrInternal, row, f.Name)
		}
		v, zero := f.ValueOf(tx.Statement.Context, rv)
		if zero && (f.AutoIncrement || f.HasDefaultValue) {
			continue
		}
		if n > 0 {
			sql.WriteByte(',')
		}
		sql.WriteByte('`')
		sql.WriteString(f.DBName)
		sql.WriteByte('`')
		args = append(args, v)
		n++
	}
	sql.WriteString(") VALUES (")
	for i := range n {
		if i > 0 {
			sql.WriteByte(',')
		}
		sql.WriteByte('?')
	}
	sql.WriteByte(')')
	return args, nil
}
