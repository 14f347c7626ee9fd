package store_test

import (
	"io/fs"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestReportMonthsMigration: 00012 builds each grouping's month rows
// (group_kind + 100, at the month's first day) from the day rows counted
// before it, and 00023 the year rows (group_kind + 200, at the year's first
// day) from the month rows, across month and year ends and a leap day, per
// scope and group value.
func TestReportMonthsMigration(t *testing.T) {
	day := func(y int, m time.Month, d int) int32 {
		return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	}
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()
			sqlDB, err := db.Gorm(ctx).DB()
			require.NoError(t, err)
			fsys, err := fs.Sub(store.Migrations(), "migrations/"+dialect)
			require.NoError(t, err)
			gd := goose.DialectSQLite3
			if dialect == store.DialectMySQL {
				gd = goose.DialectMySQL
			}
			p, err := goose.NewProvider(gd, sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
			require.NoError(t, err)
			_, err = p.DownTo(ctx, 11)
			require.NoError(t, err)

			days := []store.ReportRollup{
				{Scope: "", GroupKind: 0, Day: day(2026, 1, 31), TicketsOpened: 1},
				{Scope: "", GroupKind: 0, Day: day(2026, 2, 1), TicketsOpened: 2, ResponseB03: 4},
				{Scope: "", GroupKind: 0, Day: day(2026, 2, 28), TicketsOpened: 3, ResponseB03: 1},
				{Scope: "", GroupKind: 0, Day: day(2024, 2, 29), TicketsOpened: 5},
				{Scope: "", GroupKind: 0, Day: day(2025, 12, 31), TicketsOpened: 9},
				{Scope: "p1", GroupKind: 1, Day: day(2026, 2, 10), GroupValue: "s1", Complaints: 7},
				{Scope: "p1", GroupKind: 1, Day: day(2026, 2, 11), GroupValue: "s2", Complaints: 1},
			}
			// Without the counters later migrations added (00017).
			require.NoError(t, db.Gorm(ctx).Omit("campaign_tickets_opened", "campaign_tickets_resolved").Create(&days).Error)
			_, err = p.Up(ctx)
			require.NoError(t, err)

			var months []store.ReportRollup
			require.NoError(t, db.Gorm(ctx).Where("group_kind >= 100 AND group_kind < 200").Order("scope, group_kind, day, group_value").Find(&months).Error)
			require.Equal(t, []store.ReportRollup{
				{Scope: "", GroupKind: 100, Day: day(2024, 2, 1), TicketsOpened: 5},
				{Scope: "", GroupKind: 100, Day: day(2025, 12, 1), TicketsOpened: 9},
				{Scope: "", GroupKind: 100, Day: day(2026, 1, 1), TicketsOpened: 1},
				{Scope: "", GroupKind: 100, Day: day(2026, 2, 1), TicketsOpened: 5, ResponseB03: 5},
				{Scope: "p1", GroupKind: 101, Day: day(2026, 2, 1), GroupValue: "s1", Complaints: 7},
				{Scope: "p1", GroupKind: 101, Day: day(2026, 2, 1), GroupValue: "s2", Complaints: 1},
			}, months)

			var years []store.ReportRollup
			require.NoError(t, db.Gorm(ctx).Where("group_kind >= 200").Order("scope, group_kind, day, group_value").Find(&years).Error)
			require.Equal(t, []store.ReportRollup{
				{Scope: "", GroupKind: 200, Day: day(2024, 1, 1), TicketsOpened: 5},
				{Scope: "", GroupKind: 200, Day: day(2025, 1, 1), TicketsOpened: 9},
				{Scope: "", GroupKind: 200, Day: day(2026, 1, 1), TicketsOpened: 6, ResponseB03: 5},
				{Scope: "p1", GroupKind: 201, Day: day(2026, 1, 1), GroupValue: "s1", Complaints: 7},
				{Scope: "p1", GroupKind: 201, Day: day(2026, 1, 1), GroupValue: "s2", Complaints: 1},
			}, years)

			// Down takes the year rows away and leaves the month rows.
			_, err = p.DownTo(ctx, 22)
			require.NoError(t, err)
			var n int64
			require.NoError(t, db.Gorm(ctx).Model(&store.ReportRollup{}).Where("group_kind >= 200").Count(&n).Error)
			require.Zero(t, n)
			require.NoError(t, db.Gorm(ctx).Model(&store.ReportRollup{}).Where("group_kind >= 100").Count(&n).Error)
			require.EqualValues(t, len(months), n)
		})
	}
}
