package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/server/internal/store"
)

// AssertSchemaMatchesModels checks that the migrated schema of db agrees
// with GORM models: for each model its table exists, the table's columns
// are exactly the model's database fields, the primary key consists of
// the model's primary fields, and every index and uniqueIndex declared in
// the model's tags exists with the same columns and uniqueness. Run it
// for every dialect so the per-dialect migration files can drift neither
// from the models nor from each other.
func AssertSchemaMatchesModels(t testing.TB, db *store.DB, models ...any) {
	t.Helper()
	g := db.Gorm(context.Background())
	for _, model := range models {
		stmt := &gorm.Statement{DB: g}
		require.NoError(t, stmt.Parse(model), "parse model %T", model)
		sch := stmt.Schema
		table := sch.Table
		migrator := g.Migrator()
		if !assert.True(t, migrator.HasTable(model), "table %s for %T is missing", table, model) {
			continue
		}

		want := slices.Clone(sch.DBNames)
		columnTypes, err := migrator.ColumnTypes(model)
		require.NoError(t, err, "columns of %s", table)
		var got, gotPK []string
		for _, c := range columnTypes {
			got = append(got, c.Name())
			if pk, ok := c.PrimaryKey(); ok && pk {
				gotPK = append(gotPK, c.Name())
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		assert.Equal(t, want, got, "columns of table %s vs fields of %T", table, model)
		wantPK := slices.Clone(sch.PrimaryFieldDBNames)
		slices.Sort(wantPK)
		slices.Sort(gotPK)
		assert.Equal(t, wantPK, gotPK, "primary key of table %s vs %T", table, model)

		indexes, err := migrator.GetIndexes(model)
		require.NoError(t, err, "indexes of %s", table)
		byName := map[string]gorm.Index{}
		for _, idx := range indexes {
			byName[idx.Name()] = idx
		}
		for _, idx := range sch.ParseIndexes() {
			got, ok := byName[idx.Name]
			if !assert.True(t, ok, "index %s declared on %T is missing from table %s", idx.Name, model, table) {
				continue
			}
			var wantCols []string
			for _, f := range idx.Fields {
				wantCols = append(wantCols, f.DBName)
			}
			assert.Equal(t, wantCols, got.Columns(), "columns of index %s on %s", idx.Name, table)
			wantUnique := strings.EqualFold(idx.Class, "UNIQUE")
			if unique, ok := got.Unique(); ok {
				assert.Equal(t, wantUnique, unique, "uniqueness of index %s on %s", idx.Name, table)
			}
		}
	}
}
