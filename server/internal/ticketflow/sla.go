package ticketflow

import (
	"time"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// Clock is a ticket's SLA clock as stored.
type Clock struct {
	ResponseDue   time.Time
	ResolveDue    time.Time
	FirstResponse time.Time // zero until the first response
	PausedAt      time.Time // zero unless paused now
	PausedTotal   time.Duration
	// PauseStops reports whether the policy stops the clock while PAUSED.
	PauseStops bool
}

// Plan returns the clock of a ticket opened at created under a policy with
// the given targets.
func Plan(created time.Time, response, resolve time.Duration, pauseStops bool) Clock {
	return Clock{ResponseDue: created.Add(response), ResolveDue: created.Add(resolve), PauseStops: pauseStops}
}

// Replan moves the due times to a new policy's targets, keeping the time
// already spent paused out of the count.
func (c Clock) Replan(created time.Time, response, resolve time.Duration, pauseStops bool) Clock {
	c.ResponseDue = created.Add(response + c.PausedTotal)
	c.ResolveDue = created.Add(resolve + c.PausedTotal)
	c.PauseStops = pauseStops
	return c
}

// Pause starts a pause at now.
func (c Clock) Pause(now time.Time) Clock {
	c.PausedAt = now
	return c
}

// Resume ends the pause under way at now. When the policy stops the clock
// while paused, the due times move later by the pause's length; the
// response due time moves only while no response has been given.
func (c Clock) Resume(now time.Time) Clock {
	if c.PausedAt.IsZero() {
		return c
	}
	d := now.Sub(c.PausedAt)
	if d < 0 {
		d = 0
	}
	c.PausedAt = time.Time{}
	if !c.PauseStops {
		return c
	}
	c.PausedTotal += d
	c.ResolveDue = c.ResolveDue.Add(d)
	if c.FirstResponse.IsZero() {
		c.ResponseDue = c.ResponseDue.Add(d)
	}
	return c
}

// Respond records the first response at now; later responses change
// nothing.
func (c Clock) Respond(now time.Time) Clock {
	if c.FirstResponse.IsZero() {
		c.FirstResponse = now
	}
	return c
}

// Breaches reports which targets are missed at now. A paused clock that
// stops while paused is judged at the moment it was paused, so waiting for
// parts never causes a breach.
func (c Clock) Breaches(now time.Time) (response, resolve bool) {
	at := now
	if c.PauseStops && !c.PausedAt.IsZero() {
		at = c.PausedAt
	}
	response = c.FirstResponse.IsZero() && at.After(c.ResponseDue)
	resolve = at.After(c.ResolveDue)
	return response, resolve
}

// Warranty returns the warranty status at now of a product whose warranty
// ends at end (zero when unknown).
func Warranty(end, now time.Time) aftersalesv1.WarrantyStatus {
	switch {
	case end.IsZero():
		return aftersalesv1.WarrantyStatus_WARRANTY_STATUS_UNKNOWN
	case now.Before(end):
		return aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY
	default:
		return aftersalesv1.WarrantyStatus_WARRANTY_STATUS_OUT_OF_WARRANTY
	}
}
