package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// The complaints and follow-ups of seeded tickets (seed -reports), for
// the reports benchmark: shaped like the server writes them
// (server/internal/store/models_complaint.go and models_followup.go), so
// the report rollups count them like real ones. Proportions: 80% of the
// resolved or closed tickets are followed up by an agent 3 days after
// the resolution (most completed with a survey, some unreachable,
// declined or cancelled, the recent ones still scheduled), and 5% of all
// tickets draw a complaint about their assignee, closed once its
// resolution is due (most on time) and investigated until then.

const followUpColumns = "`id`,`ticket_id`,`customer_id`,`origin`,`method`,`state`,`assignee_id`,`scheduled_time`,`due_time`," +
	"`note`,`attempts`,`attempt_count`,`satisfaction`,`nps`,`issue_resolved`,`survey_comment`,`submit_time`,`performed_by`," +
	"`complaint_id`,`end_time`,`create_time`,`update_time`,`version`"

const followUpColumnCount = 23

const complaintColumns = "`id`,`customer_id`,`ticket_id`,`product_id`,`follow_up_id`,`channel`,`category`,`severity`,`title`," +
	"`description`,`desired_remedy`,`state`,`received_by_id`,`handler_id`,`responsible_staff_id`,`responsible_manager_id`," +
	"`escalation_level`,`escalated_to_id`,`acknowledge_due`,`resolve_due`,`acknowledge_overdue`,`resolve_overdue`," +
	"`next_check_time`,`acknowledge_time`,`outcome`,`granted_remedy`,`resolution_summary`,`compensation_currency`," +
	"`compensation_minor`,`resolve_time`,`complainant_accepted`,`close_time`,`create_time`,`update_time`,`version`"

const complaintColumnCount = 35

// Follow-up and complaint states, as stored.
const (
	followUpScheduled   = 1
	followUpCompleted   = 2
	followUpUnreachable = 3
	followUpDeclined    = 4
	followUpCancelled   = 5

	complaintInvestigating = 3
	complaintClosed        = 5
)

// ticketCol returns the position of a column in ticketColumns, for
// reading back the ticket rows ticketRow builds.
func ticketCol(name string) int {
	for i, c := range strings.Split(ticketColumns, ",") {
		if c == "`"+name+"`" {
			return i
		}
	}
	panic("no ticket column " + name)
}

var (
	tcID         = ticketCol("id")
	tcCustomer   = ticketCol("customer_id")
	tcProduct    = ticketCol("product_id")
	tcChannel    = ticketCol("channel")
	tcState      = ticketCol("state")
	tcAssignee   = ticketCol("assignee_id")
	tcCreate     = ticketCol("create_time")
	tcResolve    = ticketCol("resolve_time")
	_            = mustCount(ticketColumns, ticketColumnCount)
	_            = mustCount(followUpColumns, followUpColumnCount)
	_            = mustCount(complaintColumns, complaintColumnCount)
	satisfaction = []struct{ rating, pct int }{{5, 45}, {4, 30}, {3, 12}, {2, 8}, {1, 5}}
)

func mustCount(columns string, n int) bool {
	if got := len(strings.Split(columns, ",")); got != n {
		panic(fmt.Sprintf("%d columns, want %d", got, n))
	}
	return true
}

// reportRows returns the follow-ups and complaints of a ticket row.
func (s *seeder) reportRows(r *rand.Rand, refs *seedRefs, t []any) (followUps, complaints [][]any) {
	now := s.now
	clamp := func(x time.Time) time.Time { return minTime(x, now.Add(-time.Minute)) }
	ct := t[tcCreate].(time.Time)
	state := t[tcState].(int)
	assignee := t[tcAssignee].(string)
	agent := refs.agents[r.IntN(len(refs.agents))]

	if resolved, ok := t[tcResolve].(time.Time); ok && (state == stateResolved || state == stateClosed) && r.IntN(100) < 80 {
		due := resolved.Add(72 * time.Hour)
		st, end := followUpScheduled, any(nil)
		update, version := resolved, int64(1)
		attempts, count, sat, nps, resolvedFlag, performed := "[]", 0, 0, any(nil), any(nil), ""
		if due.Add(time.Hour).Before(now) {
			e := clamp(resolved.Add(jitter(r, 72*time.Hour)))
			end, update, version, performed = e, e, 2, "staff/"+agent
			switch x := r.IntN(100); {
			case x < 75:
				st, count = followUpCompleted, 1
				sat = drawRating(r)
				if r.IntN(100) < 70 {
					nps = min(10, max(0, 2*sat-r.IntN(3)))
				}
				resolvedFlag = true
			case x < 90:
				st, count, version = followUpUnreachable, 3, 4
				attempts = fmt.Sprintf(`[{"outcome":"UNREACHABLE","method":"PHONE","performedBy":"staff/%s"}]`, agent)
			case x < 95:
				st, count = followUpDeclined, 1
			default:
				st, count, performed = followUpCancelled, 0, ""
			}
		}
		followUps = append(followUps, []any{
			idAt(resolved), t[tcID], t[tcCustomer], 1, 1, st, agent, resolved, due,
			"", attempts, count, sat, nps, resolvedFlag, "", nil, performed,
			"", end, resolved, update, version,
		})
	}

	if r.IntN(100) < 5 {
		created := clamp(ct.Add(jitter(r, 48*time.Hour)))
		ackDue, resolveDue := created.Add(24*time.Hour), created.Add(7*24*time.Hour)
		ackOverdue := r.IntN(100) < 10
		ack := clamp(created.Add(jitter(r, 20*time.Hour)))
		if ackOverdue {
			ack = clamp(created.Add(30 * time.Hour))
		}
		st, outcome, remedy, summary := complaintInvestigating, 0, 0, ""
		var next, resolvedAt, closedAt any
		resolveOverdue := false
		update := ack
		if resolveDue.Before(now) {
			resolveOverdue = r.IntN(100) < 15
			res := clamp(created.Add(jitter(r, 6*24*time.Hour)))
			if resolveOverdue {
				res = clamp(created.Add(8 * 24 * time.Hour))
			}
			cl := clamp(res.Add(jitter(r, 24*time.Hour)))
			st, outcome, remedy, summary = complaintClosed, 1+r.IntN(3), 5, "Apologised and explained the repair."
			resolvedAt, closedAt, update = maxTime(res, ack), maxTime(cl, ack), maxTime(cl, ack)
		} else {
			next = resolveDue
		}
		complaints = append(complaints, []any{
			idAt(created), t[tcCustomer], t[tcID], t[tcProduct], "", t[tcChannel], 1 + r.IntN(5), 2, "Technician was late",
			"The visit came two days after the promised date.", 5, st, agent, agent, assignee, "",
			0, "", ackDue, resolveDue, ackOverdue, resolveOverdue,
			next, ack, outcome, remedy, summary, "",
			int64(0), resolvedAt, st == complaintClosed, closedAt, created, update, int64(4),
		})
	}
	return followUps, complaints
}

// drawRating draws a satisfaction rating in the proportions of
// satisfaction.
func drawRating(r *rand.Rand) int {
	x := r.IntN(100)
	for _, s := range satisfaction {
		if x < s.pct {
			return s.rating
		}
		x -= s.pct
	}
	return 5
}
