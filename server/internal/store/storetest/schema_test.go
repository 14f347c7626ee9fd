package storetest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// recorder captures assertion failures instead of failing the test, to
// check that AssertSchemaMatchesModels detects drift.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// leaseWithExtraField has a field the table lacks.
type leaseWithExtraField struct {
	store.Lease
	Owner string
}

func (leaseWithExtraField) TableName() string { return "leases" }

// leaseMissingField lacks the expires_at column.
type leaseMissingField struct {
	Name   string `gorm:"primaryKey"`
	Holder string
}

func (leaseMissingField) TableName() string { return "leases" }

// leaseWithIndex declares an index the migration does not create.
type leaseWithIndex struct {
	Name      string    `gorm:"primaryKey"`
	Holder    string    `gorm:"index:idx_leases_holder"`
	ExpiresAt time.Time `gorm:"uniqueIndex"`
}

func (leaseWithIndex) TableName() string { return "leases" }

// keyWithWrongPK declares a primary key that differs from the table's.
type keyWithWrongPK struct {
	store.IdempotencyKey
	RequestID string `gorm:"size:64"`
}

func (keyWithWrongPK) TableName() string { return "idempotency_keys" }

type notMigrated struct {
	ID string `gorm:"primaryKey"`
}

func TestAssertSchemaMatchesModelsDetectsDrift(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)

			ok := &recorder{TB: t}
			storetest.AssertSchemaMatchesModels(ok, db, &store.Lease{}, &store.IdempotencyKey{})
			require.Empty(t, ok.failures)

			for _, model := range []any{
				&leaseWithExtraField{}, &leaseMissingField{}, &leaseWithIndex{}, &keyWithWrongPK{}, &notMigrated{},
			} {
				r := &recorder{TB: t}
				storetest.AssertSchemaMatchesModels(r, db, model)
				require.NotEmpty(t, r.failures, "%T", model)
			}
		})
	}
}
