// Package maintenanceflow holds the date rules of preventive maintenance
// plans as pure functions: when a product's first service falls, when
// the next one does after a visit ends, and when a visit is opened.
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
