package service_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// figures are the numerators and denominators of a MetricsRow, which the
// direct computation below produces independently of the rollups.
type figures struct {
	Opened, Resolved, Responses, ResponseSecs, ResolutionSecs, SLAMet, FCR, FirstResolved, Reopened int64
	Surveys, SatisfactionSum, Satisfied, NPSAnswers, Promoters, Detractors                          int64
	Complaints, AckDecided, AckOnTime, FollowUpsEnded, FollowUpsCompleted                           int64
	CampaignOpened, CampaignResolved                                                                int64
}

// plus adds two days' figures.
func (f figures) plus(g figures) figures {
	a, b := reflect.ValueOf(&f).Elem(), reflect.ValueOf(g)
	for i := range a.NumField() {
		a.Field(i).SetInt(a.Field(i).Int() + b.Field(i).Int())
	}
	return f
}

func figuresOf(r *aftersalesv1.MetricsRow) figures {
	return figures{
		Opened: r.GetTicketsOpened(), Resolved: r.GetTicketsResolved(),
		Responses: r.GetTimeToFirstResponse().GetCount(), ResponseSecs: r.GetTimeToFirstResponse().GetTotal().GetSeconds(),
		ResolutionSecs: r.GetTimeToResolution().GetTotal().GetSeconds(),
		SLAMet:         r.GetSlaCompliancePercent().GetNumerator(), FCR: r.GetFirstContactResolutionPercent().GetNumerator(),
		FirstResolved: r.GetReopenRatePercent().GetDenominator(), Reopened: r.GetReopenRatePercent().GetNumerator(),
		Surveys: r.GetCsatMean().GetDenominator(), SatisfactionSum: r.GetCsatMean().GetNumerator(), Satisfied: r.GetCsatSatisfiedPercent().GetNumerator(),
		NPSAnswers: r.GetNps().GetAnswers(), Promoters: r.GetNps().GetPromoters(), Detractors: r.GetNps().GetDetractors(),
		Complaints: r.GetComplaintsPer_100Tickets().GetNumerator(),
		AckDecided: r.GetComplaintAcknowledgedOnTimePercent().GetDenominator(), AckOnTime: r.GetComplaintAcknowledgedOnTimePercent().GetNumerator(),
		FollowUpsEnded: r.GetFollowUpCompletionPercent().GetDenominator(), FollowUpsCompleted: r.GetFollowUpCompletionPercent().GetNumerator(),
		CampaignOpened: r.GetCampaignTicketsOpened(), CampaignResolved: r.GetCampaignTicketsResolved(),
	}
}

// TestReportRollupsMatchDirectComputation runs a random history (opens,
// assignments, resolutions, reopens, surveys, complaints) over several
// days through the public API, letting the rollup loop run throughout, and
// compares every day's figures, by staff and overall, with a direct
// computation over the tickets, timelines, follow-ups and complaints read
// back through the API. Some tickets are campaign tickets, which count
// apart (their campaign is set in the database: campaigns open tickets
// themselves, and this test is about the counting).
func TestReportRollupsMatchDirectComputation(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, fastReports)
			f := e.seed()
			mgr := f.manager.GetName()
			staff := []string{f.agent.GetName(), f.technician.GetName()}
			r := rand.New(rand.NewPCG(7, uint64(len(dialect))))
			// Its own source, so that the history stays the one r makes.
			campaign := rand.New(rand.NewPCG(11, uint64(len(dialect))))
			var tickets []string
			for step := 0; step < 300; step++ {
				e.clock.Advance(time.Duration(r.IntN(90)) * time.Minute)
				if len(tickets) == 0 || r.IntN(6) == 0 {
					tk := e.newTicket(f, f.inWarranty).GetName()
					tickets = append(tickets, tk)
					if campaign.IntN(3) == 0 {
						// Before the clock moves, so before the rollups can
						// have counted it.
						id, _ := resname.ID(tk, resname.Tickets)
						require.NoError(t, e.app.DB().Gorm(context.Background()).Exec("UPDATE tickets SET campaign_id = ? WHERE id = ?", "recall1", id).Error)
					}
					continue
				}
				tk := tickets[r.IntN(len(tickets))]
				who := staff[r.IntN(len(staff))]
				// Random moves; those the state machine refuses change nothing.
				cur, err := e.tickets.GetTicket(as(mgr), &aftersalesv1.GetTicketRequest{Name: tk})
				require.NoError(t, err)
				worker := cur.GetAssignee()
				switch r.IntN(9) {
				case 0, 1, 2, 3:
					// The next step of the work.
					switch cur.GetState() {
					case aftersalesv1.Ticket_NEW, aftersalesv1.Ticket_REOPENED:
						_, err = e.tickets.AssignTicket(as(mgr), &aftersalesv1.AssignTicketRequest{Name: tk, Assignee: who})
					case aftersalesv1.Ticket_ASSIGNED:
						_, err = e.tickets.AcceptTicket(as(worker), &aftersalesv1.AcceptTicketRequest{Name: tk})
					case aftersalesv1.Ticket_ACCEPTED:
						_, err = e.tickets.StartTicket(as(worker), &aftersalesv1.StartTicketRequest{Name: tk})
					case aftersalesv1.Ticket_IN_PROGRESS:
						if r.IntN(3) == 0 {
							_, err = e.tickets.PauseTicket(as(worker), &aftersalesv1.PauseTicketRequest{Name: tk, Reason: "parts"})
							break
						}
						_, err = e.tickets.ResolveTicket(as(worker), &aftersalesv1.ResolveTicketRequest{Name: tk, Resolution: &aftersalesv1.Resolution{
							FaultCategory: "ELECTRICAL", FaultCode: []string{"E1", "E2"}[r.IntN(2)], Summary: "fixed"}})
					case aftersalesv1.Ticket_PAUSED:
						_, err = e.tickets.ResumeTicket(as(worker), &aftersalesv1.ResumeTicketRequest{Name: tk})
					}
					require.NoError(t, err)
				case 4:
					// A reassignment moves the ticket's figures to another person.
					_, _ = e.tickets.AssignTicket(as(mgr), &aftersalesv1.AssignTicketRequest{Name: tk, Assignee: who})
				case 5:
					_, _ = e.tickets.ReopenTicket(as(mgr), &aftersalesv1.ReopenTicketRequest{Name: tk, Reason: "again"})
				case 6:
					// The survey of the ticket's scheduled follow-ups.
					fus, err := e.followUps.ListFollowUps(as(mgr), &aftersalesv1.ListFollowUpsRequest{Filter: `state = SCHEDULED AND ticket = "` + tk + `"`})
					require.NoError(t, err)
					for _, fu := range fus.GetFollowUps() {
						sv := &aftersalesv1.Survey{Satisfaction: int32(3 + r.IntN(3)), IssueResolved: proto.Bool(r.IntN(4) != 0)}
						if r.IntN(2) == 0 {
							sv.Nps = proto.Int32(int32(r.IntN(11)))
						}
						if r.IntN(3) == 0 {
							_, _ = e.followUps.RecordFollowUpAttempt(as(mgr), &aftersalesv1.RecordFollowUpAttemptRequest{Name: fu.GetName(), Outcome: aftersalesv1.FollowUpAttempt_DECLINED})
						} else {
							_, _ = e.followUps.CompleteFollowUp(as(mgr), &aftersalesv1.CompleteFollowUpRequest{Name: fu.GetName(), Survey: sv})
						}
					}
				case 7:
					if r.IntN(3) != 0 {
						break
					}
					c, err := e.complaints.CreateComplaint(as(f.agent.GetName()), &aftersalesv1.CreateComplaintRequest{Complaint: &aftersalesv1.Complaint{
						Customer: f.customer.GetName(), Ticket: tk, Category: aftersalesv1.Complaint_REPAIR_QUALITY,
						Severity: aftersalesv1.Complaint_CRITICAL, Title: "Still broken", ResponsibleStaff: who,
					}})
					require.NoError(t, err)
					e.clock.Advance(time.Duration(r.IntN(90)) * time.Minute)
					_, _ = e.complaints.AcknowledgeComplaint(as(mgr), &aftersalesv1.AcknowledgeComplaintRequest{Name: c.GetName()})
				case 8:
					_, _ = e.tickets.AddTicketComment(as(who), &aftersalesv1.AddTicketCommentRequest{Parent: tk, Message: "on my way"})
				}
			}
			e.caughtUp(mgr)
			days := int(e.clock.Now().Sub(day(e, 0))/(24*time.Hour)) + 5

			want := directFigures(t, e, mgr)
			var total figures
			for k, v := range want {
				if k.group == "*" {
					total.Resolved += v.Resolved
					total.Reopened += v.Reopened
					total.Surveys += v.Surveys
					total.Complaints += v.Complaints
					total.FollowUpsEnded += v.FollowUpsEnded
					total.CampaignResolved += v.CampaignResolved
				}
			}
			t.Logf("history: %d days, totals %+v", days, total)
			require.True(t, total.Resolved > 0 && total.Reopened > 0 && total.Surveys > 0 && total.Complaints > 0 && total.FollowUpsEnded > 0 && total.CampaignResolved > 0,
				"the random history exercises every kind of change: %+v", total)
			check := func(when string) {
				t.Helper()
				for d := 0; d < days; d++ {
					for _, by := range []aftersalesv1.Dimension{aftersalesv1.Dimension_NONE, aftersalesv1.Dimension_STAFF} {
						got := map[string]figures{}
						for g, row := range e.metrics(mgr, d, d+1, by) {
							got[g] = figuresOf(row)
						}
						exp := map[string]figures{}
						for k, v := range want {
							if k.day != int32(d) || (by == aftersalesv1.Dimension_NONE) != (k.group == "*") || v == (figures{}) {
								continue
							}
							g := k.group
							if g == "*" {
								g = ""
							}
							exp[g] = v
						}
						if by == aftersalesv1.Dimension_NONE && len(exp) == 0 {
							exp[""] = figures{}
						}
						require.Equal(t, exp, got, "%s: day %d by %s", when, d, by)
					}
				}
				// Longer windows add month rows (whole months inside the
				// window) to day rows (the rest): a window of whole months
				// around the history, and one from 40 days before it to 40
				// after, hold the history's totals.
				d0 := day(e, 0)
				firstMonth := int(time.Date(d0.Year(), d0.Month(), 1, 0, 0, 0, 0, time.UTC).Sub(d0) / (24 * time.Hour))
				dn := day(e, days)
				afterLast := int(time.Date(dn.Year(), dn.Month()+1, 1, 0, 0, 0, 0, time.UTC).Sub(d0) / (24 * time.Hour))
				// The last one leaves out day 0 (the clock starts on 2
				// March): its month is read as the month row less the day
				// rows of 1 and 2 March, and day 0 has events to take away.
				// A year's worth reads year rows less what lies outside
				// the window: the whole year of the history is its year
				// row; from day 1 to the year's end, the year row less
				// January, February and 1 and 2 March (day 0's events
				// taken away); from April to the year's end, the year row
				// less January to March, which holds the history, so
				// nothing is left (unless the history runs into April).
				yearStart := int(time.Date(d0.Year(), 1, 1, 0, 0, 0, 0, time.UTC).Sub(d0) / (24 * time.Hour))
				yearEnd := int(time.Date(d0.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC).Sub(d0) / (24 * time.Hour))
				april := int(time.Date(d0.Year(), 4, 1, 0, 0, 0, 0, time.UTC).Sub(d0) / (24 * time.Hour))
				for _, w := range [][2]int{{firstMonth, afterLast}, {-40, days + 40}, {1, afterLast}, {yearStart, yearEnd}, {1, yearEnd}, {april, yearEnd}} {
					for _, by := range []aftersalesv1.Dimension{aftersalesv1.Dimension_NONE, aftersalesv1.Dimension_STAFF} {
						got := map[string]figures{}
						for g, row := range e.metrics(mgr, w[0], w[1], by) {
							got[g] = figuresOf(row)
						}
						exp := map[string]figures{}
						for k, v := range want {
							if (by == aftersalesv1.Dimension_NONE) != (k.group == "*") || int(k.day) < w[0] || int(k.day) >= w[1] {
								continue
							}
							g := k.group
							if g == "*" {
								g = ""
							}
							exp[g] = exp[g].plus(v)
						}
						for g, v := range exp {
							if v == (figures{}) && g != "" {
								delete(exp, g)
							}
						}
						if by == aftersalesv1.Dimension_NONE && len(exp) == 0 {
							exp[""] = figures{}
						}
						require.Equal(t, exp, got, "%s: days %d..%d by %s", when, w[0], w[1], by)
					}
				}
				// The time groupings over the long window: DAY has a row
				// per day with any event, MONTH the months' sums, both the
				// overall figures.
				for layout, by := range map[string]aftersalesv1.Dimension{"2006-01-02": aftersalesv1.Dimension_DAY, "2006-01": aftersalesv1.Dimension_MONTH} {
					got := map[string]figures{}
					for g, row := range e.metrics(mgr, -40, days+40, by) {
						got[g] = figuresOf(row)
					}
					exp := map[string]figures{}
					for k, v := range want {
						if k.group == "*" && v != (figures{}) {
							g := day(e, int(k.day)).Format(layout)
							exp[g] = exp[g].plus(v)
						}
					}
					require.Equal(t, exp, got, "%s: days -40..%d by %s", when, days+40, by)
				}
			}
			check("incremental")

			// A rebuild recounts everything from the records: the same
			// figures for every day and grouping, and the same faults,
			// even after rollups and faults were lost.
			window := func() []proto.Message {
				var out []proto.Message
				for by := range int32(len(aftersalesv1.Dimension_name)) {
					m, err := e.reports.GetServiceMetrics(as(mgr), &aftersalesv1.GetServiceMetricsRequest{
						StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, days)), GroupBy: aftersalesv1.Dimension(by),
					})
					require.NoError(t, err)
					m.DataTime = nil
					out = append(out, m)
				}
				fs, err := e.reports.GetFaultStatistics(as(mgr), &aftersalesv1.GetFaultStatisticsRequest{
					StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, days)),
				})
				require.NoError(t, err)
				fs.DataTime = nil
				return append(out, fs)
			}
			before := window()
			db := e.app.DB().Gorm(context.Background())
			require.NoError(t, db.Exec("DELETE FROM report_rollups WHERE group_kind = 1").Error)
			require.NoError(t, db.Exec("DELETE FROM report_faults").Error)
			require.NoError(t, e.app.Services().RebuildReports(context.Background()))
			e.caughtUp(mgr)
			check("rebuilt")
			after := window()
			for i := range before {
				requireProto(t, before[i], after[i], "rebuilt")
			}
		})
	}
}

type dayGroup struct {
	day   int32
	group string // "*" for everything, else a staff name or ""
}

// directFigures computes every day's figures straight from the records,
// by the definitions of report.proto.
func directFigures(t *testing.T, e *env, mgr string) map[dayGroup]figures {
	out := map[dayGroup]figures{}
	dayOf := func(ts time.Time) int32 { return int32(ts.Sub(day(e, 0)) / (24 * time.Hour)) }
	add := func(ts time.Time, staff string, fn func(*figures)) {
		for _, g := range []string{"*", staff} {
			k := dayGroup{dayOf(ts), g}
			v := out[k]
			fn(&v)
			out[k] = v
		}
	}
	tks, err := e.tickets.ListTickets(as(mgr), &aftersalesv1.ListTicketsRequest{PageSize: 1000})
	require.NoError(t, err)
	byName := map[string]*aftersalesv1.Ticket{}
	for _, tk := range tks.GetTickets() {
		byName[tk.GetName()] = tk
		evs, err := e.tickets.ListTicketEvents(as(mgr), &aftersalesv1.ListTicketEventsRequest{Parent: tk.GetName(), PageSize: 1000})
		require.NoError(t, err)
		var first *time.Time
		reopened := false
		for _, ev := range evs.GetEvents() {
			switch ev.GetType() {
			case aftersalesv1.TicketEvent_RESOLVED:
				if at := ev.GetCreateTime().AsTime(); first == nil || at.Before(*first) {
					first = &at
				}
			case aftersalesv1.TicketEvent_REOPENED:
				reopened = true
			}
		}
		who, created := tk.GetAssignee(), tk.GetCreateTime().AsTime()
		resolved := tk.GetState() == aftersalesv1.Ticket_RESOLVED || tk.GetState() == aftersalesv1.Ticket_CLOSED
		if tk.GetCampaign() != "" {
			// Counted only in the campaign figures.
			add(created, who, func(f *figures) { f.CampaignOpened++ })
			if resolved {
				add(tk.GetResolveTime().AsTime(), who, func(f *figures) { f.CampaignResolved++ })
			}
			continue
		}
		add(created, who, func(f *figures) { f.Opened++ })
		if tk.GetSla().GetFirstResponseTime() != nil {
			at := tk.GetSla().GetFirstResponseTime().AsTime()
			add(at, who, func(f *figures) { f.Responses++; f.ResponseSecs += int64(at.Sub(created) / time.Second) })
		}
		if resolved {
			at := tk.GetResolveTime().AsTime()
			add(at, who, func(f *figures) {
				f.Resolved++
				f.ResolutionSecs += int64((at.Sub(created) - tk.GetSla().GetPausedDuration().AsDuration()) / time.Second)
				if !tk.GetSla().GetResponseBreached() && !tk.GetSla().GetResolveBreached() {
					f.SLAMet++
				}
				if who == tk.GetFirstContact() && !reopened {
					f.FCR++
				}
			})
		}
		if first != nil {
			add(*first, who, func(f *figures) {
				f.FirstResolved++
				if reopened {
					f.Reopened++
				}
			})
		}
	}
	fus, err := e.followUps.ListFollowUps(as(mgr), &aftersalesv1.ListFollowUpsRequest{PageSize: 1000})
	require.NoError(t, err)
	for _, fu := range fus.GetFollowUps() {
		tk := byName[fu.GetTicket()]
		switch fu.GetState() {
		case aftersalesv1.FollowUp_COMPLETED, aftersalesv1.FollowUp_UNREACHABLE, aftersalesv1.FollowUp_DECLINED:
			performer := fu.GetAssignee()
			if performer == "" {
				performer = fu.GetPerformedBy()
			}
			add(fu.GetDueTime().AsTime(), performer, func(f *figures) {
				f.FollowUpsEnded++
				if fu.GetState() == aftersalesv1.FollowUp_COMPLETED {
					f.FollowUpsCompleted++
				}
			})
		}
		if sv := fu.GetSurvey(); fu.GetState() == aftersalesv1.FollowUp_COMPLETED && sv.GetSatisfaction() > 0 {
			add(fu.GetEndTime().AsTime(), tk.GetAssignee(), func(f *figures) {
				f.Surveys++
				f.SatisfactionSum += int64(sv.GetSatisfaction())
				if sv.GetSatisfaction() >= 4 {
					f.Satisfied++
				}
				if sv.Nps != nil {
					f.NPSAnswers++
					if sv.GetNps() >= 9 {
						f.Promoters++
					}
					if sv.GetNps() <= 6 {
						f.Detractors++
					}
				}
			})
		}
	}
	cs, err := e.complaints.ListComplaints(as(mgr), &aftersalesv1.ListComplaintsRequest{PageSize: 1000})
	require.NoError(t, err)
	for _, c := range cs.GetComplaints() {
		who := c.GetResponsibleStaff()
		add(c.GetCreateTime().AsTime(), who, func(f *figures) { f.Complaints++ })
		if c.GetAcknowledgeTime() != nil || c.GetAcknowledgeOverdue() {
			add(c.GetAcknowledgeDue().AsTime(), who, func(f *figures) {
				f.AckDecided++
				if c.GetAcknowledgeTime() != nil && !c.GetAcknowledgeOverdue() {
					f.AckOnTime++
				}
			})
		}
	}
	return out
}
