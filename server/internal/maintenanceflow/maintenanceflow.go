// Package maintenanceflow holds the date and usage rules of preventive
// maintenance plans as pure functions: when a product's first service
// falls, when the next one does after a visit ends (by date and by usage
// reading), and when a reading brings a visit due.
package maintenanceflow

import "time"

// AddMonths returns t moved by months calendar months, keeping the
// time of day. A day the target month lacks becomes its last day (31
// January + 1 month is 28 or 29 February, not 2 or 3 March), so a
// schedule never drifts into the month after.
func AddMonths(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(months), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// FirstDue is a product's first due date under a plan: months after its
// purchase, or after its registration when the purchase date is unknown.
func FirstDue(purchase *time.Time, registered time.Time, months int) time.Time {
	if purchase != nil {
		return AddMonths(*purchase, months)
	}
	return AddMonths(registered, months)
}

// Outcome is how a visit ended.
type Outcome int

// The outcomes that set a product's next due date.
const (
	// Done: the visit's ticket was resolved.
	Done Outcome = iota + 1
	// Cancelled: the visit's ticket was cancelled.
	Cancelled
	// Reminded: a reminder-only plan reminded the customer.
	Reminded
)

// NextDue is the product's next due date after a visit due at due ended
// at end: months after the work was done, or months after the due date
// the visit missed (cancelled) or only reminded of.
func NextDue(o Outcome, due, end time.Time, months int) time.Time {
	if o == Done {
		return AddMonths(end, months)
	}
	return AddMonths(due, months)
}

// NextDueUsage is the product's next due reading after a visit due at
// reading due (0 when it came due by date) ended with the product at
// reading: interval after the reading when the work was done, else
// interval after the due reading it missed or only reminded of (after
// the reading then, when it came due by date).
func NextDueUsage(o Outcome, due, reading, interval int64) int64 {
	if o == Done || due == 0 {
		return reading + interval
	}
	return due + interval
}

// DueByUsage reports whether a product at reading has come due for the
// visit due at reading due, opened lead ahead of it.
func DueByUsage(reading, due, lead int64) bool { return reading >= due-lead }
