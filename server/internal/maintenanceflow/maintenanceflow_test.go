package maintenanceflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/maintenanceflow"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 30, 0, 0, time.UTC) }

func TestAddMonths(t *testing.T) {
	for _, c := range []struct {
		from   time.Time
		months int
		want   time.Time
	}{
		{day(2026, 1, 15), 1, day(2026, 2, 15)},
		{day(2026, 1, 31), 1, day(2026, 2, 28)},
		{day(2028, 1, 31), 1, day(2028, 2, 29)},
		{day(2026, 8, 31), 1, day(2026, 9, 30)},
		{day(2026, 3, 31), 12, day(2027, 3, 31)},
		{day(2026, 11, 30), 3, day(2027, 2, 28)},
		{day(2026, 5, 10), 120, day(2036, 5, 10)},
	} {
		require.Equal(t, c.want, maintenanceflow.AddMonths(c.from, c.months), "%s + %d months", c.from, c.months)
	}
}

func TestFirstAndNextDue(t *testing.T) {
	bought, registered := day(2025, 4, 1), day(2025, 6, 1)
	require.Equal(t, day(2026, 4, 1), maintenanceflow.FirstDue(&bought, registered, 12), "from the purchase")
	require.Equal(t, day(2026, 6, 1), maintenanceflow.FirstDue(nil, registered, 12), "from the registration without a purchase date")

	due, end := day(2026, 4, 1), day(2026, 4, 20)
	require.Equal(t, day(2026, 10, 20), maintenanceflow.NextDue(maintenanceflow.Done, due, end, 6), "after the work")
	require.Equal(t, day(2026, 10, 1), maintenanceflow.NextDue(maintenanceflow.Cancelled, due, end, 6), "after the missed due date")
	require.Equal(t, day(2026, 10, 1), maintenanceflow.NextDue(maintenanceflow.Reminded, due, end, 6), "after the date reminded of")
}
