package service

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPlanRollups: for any window, the planned rows add up to each day
// of the window once and to no day outside it (a day row outside the
// window is taken away), and never read more rows than the window's days.
func TestPlanRollups(t *testing.T) {
	base := dayOf(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	r := rand.New(rand.NewPCG(1, 2))
	windows := []window{
		{dayOf(time.Date(2025, 12, 3, 0, 0, 0, 0, time.UTC)), dayOf(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC))},
		{dayOf(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)), dayOf(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))},
		{dayOf(time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)), dayOf(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC))},
	}
	for range 2000 {
		start := base + r.Int32N(700)
		windows = append(windows, window{start, start + 1 + r.Int32N(maxWindowDays)})
	}
	for _, w := range windows {
		p := planRollups(w)
		rows := len(p.months)
		for d := base - 40; d < base+800+maxWindowDays; d++ {
			n := 0
			for _, m := range p.months {
				if monthOf(d) == m {
					n++
				}
			}
			for _, r := range p.days {
				if d >= r[0] && d < r[1] {
					if d >= w.start && d < w.end {
						n++
					} else {
						n--
					}
				}
			}
			if want := map[bool]int{true: 1, false: 0}[d >= w.start && d < w.end]; n != want {
				t.Fatalf("window %v, plan %+v: day %v counted %d times, want %d", w, p, dayStart(d).Format("2006-01-02"), n, want)
			}
		}
		for _, r := range p.days {
			rows += int(r[1] - r[0])
		}
		if rows > int(w.end-w.start) {
			t.Errorf("window %v: plan reads %d rows for %d days", w, rows, w.end-w.start)
		}
	}
	if p := planRollups(windows[0]); len(p.months) != 12 || len(p.days) != 2 || p.days[0][1]-p.days[0][0] != 2 || p.days[1][1]-p.days[1][0] != 2 {
		t.Errorf("the last 12 months to 2026-12-03: plan %+v, want 12 month rows, 2 days taken away and 2 added", p)
	}
}

// TestParseCount: the counters' parser agrees with strconv on what it
// accepts and on what it refuses.
func TestParseCount(t *testing.T) {
	for _, s := range []string{"0", "7", "-7", "123456789012345678", "-123456789012345678",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "", "-", "1.5", "12a", "+3", " 1"} {
		want, wantErr := strconv.ParseInt(s, 10, 64)
		got, err := parseCount([]byte(s))
		if (err != nil) != (wantErr != nil) || (err == nil && got != want) {
			t.Errorf("parseCount(%q) = %d, %v; strconv says %d, %v", s, got, err, want, wantErr)
		}
	}
}

// TestParseCounters: a row's counters are all there, in order, or the row
// is refused.
func TestParseCounters(t *testing.T) {
	var want counters
	parts := make([]string, len(want))
	for i := range want {
		want[i] = int64(i*1000 - 7)
		parts[i] = strconv.FormatInt(want[i], 10)
	}
	var got counters
	if err := parseCounters([]byte(strings.Join(parts, ",")), &got); err != nil || got != want {
		t.Fatalf("parseCounters = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{
		strings.Join(parts[1:], ","),        // one short
		strings.Join(parts, ",") + ",1",     // one too many
		strings.Join(parts, ",") + ",",      // a trailing comma
		"x," + strings.Join(parts[1:], ","), // not a number
	} {
		if err := parseCounters([]byte(bad), &got); err == nil {
			t.Errorf("parseCounters(%.40q...) accepted", bad)
		}
	}
}
