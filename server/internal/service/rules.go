package service

import (
	"time"

	"github.com/aftersales/aftersales/server/internal/config"
)

// Rules are the configurable business rules of complaints, follow-ups and
// training (API.md §4); config.Default holds their defaults.
type Rules struct {
	// ComplaintDeadlines are the acknowledgement and resolution deadlines
	// of each severity.
	ComplaintDeadlines config.ComplaintDeadlines
	// ComplaintDesk is the complaints desk (config.Config.ComplaintDesk):
	// "staff/{id}", a team, or "" for the active managers.
	ComplaintDesk string
	// FollowUpDelay is how long after resolution an automatic follow-up
	// may start; FollowUpWindow how long after that it is due.
	FollowUpDelay, FollowUpWindow time.Duration
	// ComplaintAtOrBelow is the satisfaction at or below which a
	// follow-up opens a complaint; 0 never opens one.
	ComplaintAtOrBelow int32
	// CloseAtOrAbove is the satisfaction at or above which a completed
	// follow-up whose issue is resolved closes the ticket.
	CloseAtOrAbove int32
	// RetrainingPeriod is when retraining after a failed assessment is due.
	RetrainingPeriod time.Duration
	// QuoteDiscountApproval is the discount, in percent of a quote's
	// subtotal, above which the quote needs a manager's approval.
	QuoteDiscountApproval int64
	// RollupSettle is how long after its update_time a change is counted
	// in the report rollups (config.Config.ReportRollupSettle); 0 means
	// rollupSettle.
	RollupSettle time.Duration
}

// RulesFrom takes the rules from the server configuration.
func RulesFrom(c config.Config) Rules {
	return Rules{
		ComplaintDeadlines: c.ComplaintDeadlines,
		ComplaintDesk:      c.ComplaintDesk,
		FollowUpDelay:      c.FollowUpDelay,
		FollowUpWindow:     c.FollowUpWindow,
		ComplaintAtOrBelow: int32(c.FollowUpComplaintAtOrBelow),
		CloseAtOrAbove:     int32(c.FollowUpCloseAtOrAbove),
		RetrainingPeriod:   c.RetrainingPeriod,

		QuoteDiscountApproval: int64(c.QuoteDiscountApproval),
		RollupSettle:          c.ReportRollupSettle,
	}
}
