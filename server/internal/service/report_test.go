package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

func fastReports(c *config.Config) { c.ReportRollupInterval = 20 * time.Millisecond }

// day is UTC midnight d days after the test clock's first day.
func day(e *env, d int) time.Time {
	t0 := newClock().Now()
	return time.Date(t0.Year(), t0.Month(), t0.Day()+d, 0, 0, 0, 0, time.UTC)
}

// caughtUp waits until the rollups count every change made so far: the
// clock moves past the settle time and the loop's data_time passes the
// last change.
func (e *env) caughtUp(actor string) {
	e.t.Helper()
	last := e.clock.Now()
	e.clock.Advance(2 * time.Minute)
	require.Eventually(e.t, func() bool {
		m, err := e.reports.GetServiceMetrics(as(actor), &aftersalesv1.GetServiceMetricsRequest{
			StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 1)),
		})
		return err == nil && !m.GetDataTime().AsTime().Before(last)
	}, 20*time.Second, 20*time.Millisecond)
}

func (e *env) metrics(actor string, from, to int, by aftersalesv1.Dimension) map[string]*aftersalesv1.MetricsRow {
	e.t.Helper()
	m, err := e.reports.GetServiceMetrics(as(actor), &aftersalesv1.GetServiceMetricsRequest{
		StartTime: timestamp(day(e, from)), EndTime: timestamp(day(e, to)), GroupBy: by,
	})
	require.NoError(e.t, err)
	out := map[string]*aftersalesv1.MetricsRow{}
	for _, r := range m.GetRows() {
		out[r.GetGroup()] = r
	}
	return out
}

func ratioOf(num, den int64, value float64) *aftersalesv1.Ratio {
	return &aftersalesv1.Ratio{Numerator: num, Denominator: den, Value: value}
}

// durations builds the expected DurationStats of a set of durations.
func durations(p90 time.Duration, ds ...time.Duration) *aftersalesv1.DurationStats {
	edges := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
		24 * time.Hour, 48 * time.Hour, 72 * time.Hour, 120 * time.Hour, 168 * time.Hour, 336 * time.Hour, 720 * time.Hour}
	s := &aftersalesv1.DurationStats{Count: int64(len(ds)), BucketCounts: make([]int64, 14)}
	var total time.Duration
	for _, d := range ds {
		total += d
		b := len(edges)
		for i, edge := range edges {
			if d <= edge {
				b = i
				break
			}
		}
		s.BucketCounts[b]++
	}
	s.Total = durationpb.New(total)
	if len(ds) > 0 {
		s.Mean = durationpb.New(total / time.Duration(len(ds)))
		s.P90 = durationpb.New(p90)
	}
	return s
}

// TestReportDefinitions builds a small history through the public API,
// where every figure is known, and checks each metric's definition
// (report.proto MetricsRow) on it, including the late changes: a reopen
// takes a resolution back out of its day, and the re-resolution counts on
// its own day.
func TestReportDefinitions(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, fastReports)
			f := e.seed()
			agent, tech, mgr := as(f.agent.GetName()), as(f.technician.GetName()), f.manager.GetName()
			open := func() *aftersalesv1.Ticket { return e.newTicket(f, f.inWarranty) }
			assign := func(tk *aftersalesv1.Ticket, who string) {
				_, err := e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: who})
				require.NoError(t, err)
			}
			work := func(tk *aftersalesv1.Ticket, actor string, steps ...string) {
				for _, step := range steps {
					var err error
					switch step {
					case "accept":
						_, err = e.tickets.AcceptTicket(as(actor), &aftersalesv1.AcceptTicketRequest{Name: tk.GetName()})
					case "start":
						_, err = e.tickets.StartTicket(as(actor), &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
					case "pause":
						_, err = e.tickets.PauseTicket(as(actor), &aftersalesv1.PauseTicketRequest{Name: tk.GetName(), Reason: "parts"})
					case "resume":
						_, err = e.tickets.ResumeTicket(as(actor), &aftersalesv1.ResumeTicketRequest{Name: tk.GetName()})
					case "E21", "W01":
						cat := map[string]string{"E21": "ELECTRICAL", "W01": "WATER"}[step]
						_, err = e.tickets.ResolveTicket(as(actor), &aftersalesv1.ResolveTicketRequest{Name: tk.GetName(), Resolution: &aftersalesv1.Resolution{
							FaultCategory: cat, FaultCode: step, Summary: "fixed"}})
					}
					require.NoError(t, err, step)
				}
			}

			// Day 0, 09:00: four tickets opened by the agent (first contact).
			a, b, c, d := open(), open(), open(), open()
			_ = c // opened, never touched
			assign(a, f.technician.GetName())
			assign(b, f.agent.GetName())
			assign(d, f.agent.GetName())
			e.clock.Advance(10 * time.Minute) // 09:10
			work(b, f.agent.GetName(), "accept", "start")
			work(d, f.agent.GetName(), "accept", "start")
			e.clock.Advance(20 * time.Minute) // 09:30
			work(a, f.technician.GetName(), "accept", "start")
			work(b, f.agent.GetName(), "E21")
			work(d, f.agent.GetName(), "W01")
			e.clock.Advance(time.Hour) // 10:30
			work(a, f.technician.GetName(), "pause")
			complaint, err := e.complaints.CreateComplaint(agent, &aftersalesv1.CreateComplaintRequest{Complaint: &aftersalesv1.Complaint{
				Customer: f.customer.GetName(), Ticket: a.GetName(), Category: aftersalesv1.Complaint_SERVICE_ATTITUDE,
				Severity: aftersalesv1.Complaint_LOW, Title: "Rude on the phone", ResponsibleStaff: f.technician.GetName(),
			}})
			require.NoError(t, err)
			e.clock.Advance(time.Hour) // 11:30
			work(a, f.technician.GetName(), "resume")
			_, err = e.complaints.AcknowledgeComplaint(as(mgr), &aftersalesv1.AcknowledgeComplaintRequest{Name: complaint.GetName()})
			require.NoError(t, err)
			e.clock.Advance(30 * time.Minute) // 12:00
			work(a, f.technician.GetName(), "E21")
			_ = tech

			// Day 0 alone: three resolutions stand.
			e.caughtUp(mgr)
			day0 := e.metrics(mgr, 0, 1, aftersalesv1.Dimension_NONE)[""]
			require.NotNil(t, day0)
			require.EqualValues(t, 4, day0.GetTicketsOpened())
			require.EqualValues(t, 3, day0.GetTicketsResolved())
			requireProto(t, durations(30*time.Minute, 10*time.Minute, 10*time.Minute, 30*time.Minute), day0.GetTimeToFirstResponse())
			requireProto(t, durations(2*time.Hour, 30*time.Minute, 30*time.Minute, 2*time.Hour), day0.GetTimeToResolution(), "paused hour not counted")
			requireProto(t, ratioOf(2, 3, 200.0/3), day0.GetFirstContactResolutionPercent())
			requireProto(t, ratioOf(0, 3, 0), day0.GetReopenRatePercent())
			requireProto(t, ratioOf(1, 4, 25), day0.GetComplaintsPer_100Tickets())
			requireProto(t, ratioOf(0, 0, 0), day0.GetComplaintAcknowledgedOnTimePercent(), "due on day 1")

			// Day 1, 13:00: b is reopened; a's follow-up is completed.
			e.clock.Advance(day(e, 1).Add(13 * time.Hour).Sub(e.clock.Now()))
			_, err = e.tickets.ReopenTicket(agent, &aftersalesv1.ReopenTicketRequest{Name: b.GetName(), Reason: "leaks again"})
			require.NoError(t, err)
			fus, err := e.followUps.ListFollowUps(agent, &aftersalesv1.ListFollowUpsRequest{Filter: `ticket = "` + a.GetName() + `"`})
			require.NoError(t, err)
			require.Len(t, fus.GetFollowUps(), 1)
			_, err = e.followUps.CompleteFollowUp(agent, &aftersalesv1.CompleteFollowUpRequest{Name: fus.GetFollowUps()[0].GetName(), Survey: &aftersalesv1.Survey{
				Satisfaction: 5, Nps: proto.Int32(10), IssueResolved: proto.Bool(true)}})
			require.NoError(t, err)
			e.caughtUp(mgr)
			day0 = e.metrics(mgr, 0, 1, aftersalesv1.Dimension_NONE)[""]
			require.EqualValues(t, 2, day0.GetTicketsResolved(), "the reopened resolution left day 0")
			requireProto(t, ratioOf(1, 3, 100.0/3), day0.GetReopenRatePercent(), "reopen counts against the first resolution's day")
			requireProto(t, ratioOf(1, 2, 50), day0.GetFirstContactResolutionPercent())

			// Day 2, 13:02 (caughtUp moved the clock on): b is resolved
			// again, 52h02m after it was opened.
			e.clock.Advance(24 * time.Hour)
			assign(b, f.agent.GetName())
			work(b, f.agent.GetName(), "accept", "start", "E21")
			e.caughtUp(mgr)

			all := e.metrics(mgr, 0, 4, aftersalesv1.Dimension_NONE)[""]
			want := &aftersalesv1.MetricsRow{
				TicketsOpened: 4, TicketsResolved: 3,
				TimeToFirstResponse:                durations(30*time.Minute, 10*time.Minute, 10*time.Minute, 30*time.Minute),
				TimeToResolution:                   durations(72*time.Hour, 2*time.Hour, 30*time.Minute, 52*time.Hour+2*time.Minute),
				SlaCompliancePercent:               ratioOf(3, 3, 100),
				FirstContactResolutionPercent:      ratioOf(1, 3, 100.0/3),
				ReopenRatePercent:                  ratioOf(1, 3, 100.0/3),
				CsatMean:                           ratioOf(5, 1, 5),
				CsatSatisfiedPercent:               ratioOf(1, 1, 100),
				Nps:                                &aftersalesv1.Nps{Promoters: 1, Answers: 1, Score: 100},
				ComplaintsPer_100Tickets:           ratioOf(1, 4, 25),
				ComplaintAcknowledgedOnTimePercent: ratioOf(1, 1, 100),
				ComplaintResolvedOnTimePercent:     ratioOf(0, 0, 0),
				FollowUpCompletionPercent:          ratioOf(1, 1, 100),
			}
			requireProto(t, want, all)

			byStaff := e.metrics(mgr, 0, 4, aftersalesv1.Dimension_STAFF)
			techRow := byStaff[f.technician.GetName()]
			require.NotNil(t, techRow)
			require.EqualValues(t, 1, techRow.GetTicketsOpened())
			requireProto(t, durations(2*time.Hour, 2*time.Hour), techRow.GetTimeToResolution())
			requireProto(t, ratioOf(5, 1, 5), techRow.GetCsatMean(), "the survey judges the assignee's service")
			requireProto(t, ratioOf(1, 1, 100), techRow.GetComplaintsPer_100Tickets(), "complaints about them per ticket of theirs")
			agentRow := byStaff[f.agent.GetName()]
			require.NotNil(t, agentRow)
			require.EqualValues(t, 2, agentRow.GetTicketsOpened())
			requireProto(t, ratioOf(1, 2, 50), agentRow.GetFirstContactResolutionPercent())
			requireProto(t, ratioOf(1, 1, 100), agentRow.GetFollowUpCompletionPercent(), "completion counts for who performed it")
			require.EqualValues(t, 1, byStaff[""].GetTicketsOpened(), "the unassigned ticket")
			require.Len(t, byStaff, 3)

			byTeam := e.metrics(mgr, 0, 4, aftersalesv1.Dimension_TEAM)
			require.EqualValues(t, 3, byTeam["east"].GetTicketsOpened())

			// By day: each day's row is that day's window, and days
			// without events have none; by month, one row.
			byDay := e.metrics(mgr, 0, 4, aftersalesv1.Dimension_DAY)
			none := e.metrics(mgr, 30, 31, aftersalesv1.Dimension_NONE)[""] // a day without events
			for d := range 4 {
				key := day(e, d).Format("2006-01-02")
				one := e.metrics(mgr, d, d+1, aftersalesv1.Dimension_NONE)[""]
				if got, ok := byDay[key]; ok {
					one.Group = key
					requireProto(t, one, got, "day %d", d)
				} else {
					requireProto(t, none, one, "day %d has no row, so no events", d)
				}
			}
			require.EqualValues(t, 4, byDay[day(e, 0).Format("2006-01-02")].GetTicketsOpened())
			teamDays, err := e.reports.GetServiceMetrics(as(mgr), &aftersalesv1.GetServiceMetricsRequest{
				StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 4)), GroupBy: aftersalesv1.Dimension_DAY, Team: "east",
			})
			require.NoError(t, err)
			var eastOpened int64
			for _, r := range teamDays.GetRows() {
				eastOpened += r.GetTicketsOpened()
			}
			require.EqualValues(t, 3, eastOpened, "a team's days sum its members' rows")
			byMonth := e.metrics(mgr, 0, 4, aftersalesv1.Dimension_MONTH)
			require.Len(t, byMonth, len(map[string]bool{day(e, 0).Format("2006-01"): true, day(e, 3).Format("2006-01"): true}))
			var monthOpened int64
			for _, r := range byMonth {
				monthOpened += r.GetTicketsOpened()
			}
			require.EqualValues(t, 4, monthOpened)
			byType := e.metrics(mgr, 0, 4, aftersalesv1.Dimension_TICKET_TYPE)
			require.EqualValues(t, 4, byType["REPAIR"].GetTicketsOpened())
			byModel := e.metrics(mgr, 0, 4, aftersalesv1.Dimension_PRODUCT_MODEL)
			require.EqualValues(t, 4, byModel["WM-8000"].GetTicketsOpened())

			// Faults: the model × code table and the trend.
			faults, err := e.reports.GetFaultStatistics(as(mgr), &aftersalesv1.GetFaultStatisticsRequest{
				StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 4)),
			})
			require.NoError(t, err)
			require.Len(t, faults.GetRows(), 2)
			e21 := faults.GetRows()[0]
			require.Equal(t, []string{"WM-8000", "ELECTRICAL", "E21"}, []string{e21.GetProductModel(), e21.GetFaultCategory(), e21.GetFaultCode()})
			require.EqualValues(t, 2, e21.GetCount())
			requireProto(t, ratioOf(2, 3, 200.0/3), e21.GetShareOfModelPercent())
			require.Equal(t, f.inWarranty.GetSerialNumber(), e21.GetMinSerialNumber())
			require.Equal(t, "E21", faults.GetTopCodes()[0].GetFaultCode())
			later, err := e.reports.GetFaultStatistics(as(mgr), &aftersalesv1.GetFaultStatisticsRequest{
				StartTime: timestamp(day(e, 4)), EndTime: timestamp(day(e, 8)),
			})
			require.NoError(t, err)
			require.Empty(t, later.GetRows())

			// Scorecard: the technician's own figures and their complaint.
			card, err := e.reports.GetStaffScorecard(as(f.technician.GetName()), &aftersalesv1.GetStaffScorecardRequest{
				Name: f.technician.GetName(), StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 4)),
			})
			require.NoError(t, err)
			requireProto(t, techRow, card.GetMetrics())
			mcard, err := e.reports.GetStaffScorecard(as(mgr), &aftersalesv1.GetStaffScorecardRequest{
				Name: mgr, StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 4)),
			})
			require.NoError(t, err)
			require.Len(t, mcard.GetTeamMetrics(), 2, "the manager's two direct reports")
		})
	}
}

// TestReportProductCorrection checks that correcting a product's model
// after its tickets and complaints were counted moves their figures and
// their faults to the corrected model, without any change to the tickets
// or complaints themselves.
func TestReportProductCorrection(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, fastReports)
			f := e.seed()
			mgr := f.manager.GetName()
			e.resolved(f) // with fault code P1
			// A complaint about the unit, on no ticket.
			_, err := e.complaints.CreateComplaint(as(f.agent.GetName()), &aftersalesv1.CreateComplaintRequest{Complaint: &aftersalesv1.Complaint{
				Customer: f.customer.GetName(), Product: f.inWarranty.GetName(), Category: aftersalesv1.Complaint_PRODUCT_QUALITY,
				Title: "It broke again",
			}})
			require.NoError(t, err)
			e.caughtUp(mgr)
			faultModels := func() []string {
				faults, err := e.reports.GetFaultStatistics(as(mgr), &aftersalesv1.GetFaultStatisticsRequest{
					StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 1)),
				})
				require.NoError(t, err)
				var models []string
				for _, r := range faults.GetRows() {
					models = append(models, r.GetProductModel())
				}
				return models
			}
			byModel := e.metrics(mgr, 0, 1, aftersalesv1.Dimension_PRODUCT_MODEL)
			require.EqualValues(t, 1, byModel["WM-8000"].GetTicketsOpened())
			require.EqualValues(t, 1, byModel["WM-8000"].GetComplaintsPer_100Tickets().GetNumerator())
			require.Equal(t, []string{"WM-8000"}, faultModels())

			_, err = e.customers.UpdateProduct(e.admin(), &aftersalesv1.UpdateProductRequest{
				Product: &aftersalesv1.Product{Name: f.inWarranty.GetName(), Model: "WM-8100"}, UpdateMask: mask("model"),
			})
			require.NoError(t, err)
			e.caughtUp(mgr)
			byModel = e.metrics(mgr, 0, 1, aftersalesv1.Dimension_PRODUCT_MODEL)
			require.Nil(t, byModel["WM-8000"], "nothing is left under the old model")
			require.EqualValues(t, 1, byModel["WM-8100"].GetTicketsOpened())
			require.EqualValues(t, 1, byModel["WM-8100"].GetTicketsResolved())
			require.EqualValues(t, 1, byModel["WM-8100"].GetComplaintsPer_100Tickets().GetNumerator())
			require.Equal(t, []string{"WM-8100"}, faultModels())
		})
	}
}

func requireProto(t *testing.T, want, got proto.Message, msgAndArgs ...any) {
	t.Helper()
	if !proto.Equal(want, got) {
		require.Failf(t, "messages differ", "want %v\n got %v\n%v", want, got, msgAndArgs)
	}
}

// TestReportRefusals checks the failure paths and the scoping over gRPC
// and JSON.
func TestReportRefusals(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			mgr := f.manager.GetName()
			win := func(r *aftersalesv1.GetServiceMetricsRequest) *aftersalesv1.GetServiceMetricsRequest {
				if r.StartTime == nil {
					r.StartTime = timestamp(day(e, 0))
				}
				if r.EndTime == nil {
					r.EndTime = timestamp(day(e, 30))
				}
				return r
			}
			inv, fv := codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION
			for _, tc := range []struct {
				name   string
				actor  string
				req    *aftersalesv1.GetServiceMetricsRequest
				code   codes.Code
				reason aftersalesv1.ErrorReason
			}{
				{"window not at midnight", mgr, win(&aftersalesv1.GetServiceMetricsRequest{StartTime: timestamp(day(e, 0).Add(time.Hour))}), inv, fv},
				{"empty window", mgr, win(&aftersalesv1.GetServiceMetricsRequest{EndTime: timestamp(day(e, 0))}), inv, fv},
				{"window too long", mgr, win(&aftersalesv1.GetServiceMetricsRequest{EndTime: timestamp(day(e, 400))}), inv, fv},
				{"missing window", mgr, &aftersalesv1.GetServiceMetricsRequest{}, inv, fv},
				{"unknown grouping", mgr, win(&aftersalesv1.GetServiceMetricsRequest{GroupBy: 99}), inv, fv},
				{"team with channel", mgr, win(&aftersalesv1.GetServiceMetricsRequest{GroupBy: aftersalesv1.Dimension_CHANNEL, Team: "east"}), inv, fv},
				{"bad partner", mgr, win(&aftersalesv1.GetServiceMetricsRequest{Partner: "shops/1"}), inv, fv},
				{"customer", f.customer.GetName(), win(&aftersalesv1.GetServiceMetricsRequest{}), codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED},
				{"agent", f.agent.GetName(), win(&aftersalesv1.GetServiceMetricsRequest{}), codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := e.reports.GetServiceMetrics(as(tc.actor), tc.req)
					requireCode(t, err, tc.code, tc.reason)
				})
			}

			// A partner asking for another shop gets its own.
			m, err := e.reports.GetServiceMetrics(as(f.partner.GetName()), win(&aftersalesv1.GetServiceMetricsRequest{Partner: "partners/other"}))
			require.NoError(t, err)
			require.Equal(t, f.partner.GetName(), m.GetPartner())

			// Scorecards: staff their own only; out of scope reads as missing.
			card := func(actor, name string) error {
				_, err := e.reports.GetStaffScorecard(as(actor), &aftersalesv1.GetStaffScorecardRequest{
					Name: name, StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 7))})
				return err
			}
			require.NoError(t, card(f.agent.GetName(), f.agent.GetName()))
			requireCode(t, card(f.agent.GetName(), f.technician.GetName()), codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			requireCode(t, card(f.partner.GetName(), f.technician.GetName()), codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			require.NoError(t, card(f.partner.GetName(), f.partnerTech.GetName()))
			require.NoError(t, card(mgr, f.partnerTech.GetName()))
			requireCode(t, card(mgr, "staff/missing"), codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)

			// The same over JSON.
			q := "/v1/serviceMetrics?startTime=" + day(e, 0).Format(time.RFC3339) + "&endTime=" + day(e, 30).Format(time.RFC3339)
			requireHTTP(t, e.do(http.MethodGet, q+"&groupBy=STAFF", f.customer.GetName(), nil), http.StatusForbidden, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
			requireHTTP(t, e.do(http.MethodGet, "/v1/serviceMetrics?startTime=2026-03-02T10:00:00Z&endTime=2026-03-05T00:00:00Z", mgr, nil), http.StatusBadRequest, inv, fv)
			ok := e.do(http.MethodGet, q+"&groupBy=STAFF", mgr, nil)
			require.Equal(t, http.StatusOK, ok.status, ok.raw)
		})
	}
}

// TestScorecardQualificationHistory: the scorecard's qualification_history
// is deprecated in favour of GetQualification's history but still filled,
// with the same changes in the same order, for the clients that read it.
func TestScorecardQualificationHistory(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			course := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Washer repair", Category: aftersalesv1.Course_PRODUCT_KNOWLEDGE,
				RequiredRoles: []aftersalesv1.Staff_Role{aftersalesv1.Staff_TECHNICIAN}, PassingScore: 70,
			})
			tech := f.technician.GetName()
			e.trAssess(trainer.GetName(), tech, course.GetName(), scores(90, 90, 90, 90))
			e.clock.Advance(time.Hour)
			e.trAssess(trainer.GetName(), tech, course.GetName(), scores(10, 10, 10, 10))

			want := e.trQualification(tech).GetHistory()
			require.GreaterOrEqual(t, len(want), 3, "trainee, qualified, suspended")
			card, err := e.reports.GetStaffScorecard(as(f.manager.GetName()), &aftersalesv1.GetStaffScorecardRequest{
				Name: tech, StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 1)),
			})
			require.NoError(t, err)
			got := card.GetQualificationHistory()
			require.Len(t, got, len(want))
			for i, w := range want {
				requireProto(t, &aftersalesv1.QualificationChange{
					FromState: w.GetFromState(), ToState: w.GetToState(), Reason: w.GetReason(),
					Assessment: w.GetAssessment(), CreateTime: w.GetChangeTime(),
				}, got[i], "change %d", i)
			}
		})
	}
}
