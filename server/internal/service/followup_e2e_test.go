package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// resolved opens a ticket as the agent, has the company's technician
// work it and resolve it, and returns the ticket and the follow-up the
// resolution scheduled.
func (e *env) resolved(f *fixture) (*aftersalesv1.Ticket, *aftersalesv1.FollowUp) {
	t := e.t
	t.Helper()
	tk := e.newTicket(f, f.inWarranty)
	tech := as(f.technician.GetName())
	_, err := e.tickets.AssignTicket(as(f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.technician.GetName()})
	require.NoError(t, err)
	_, err = e.tickets.AcceptTicket(tech, &aftersalesv1.AcceptTicketRequest{Name: tk.GetName()})
	require.NoError(t, err)
	_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
	require.NoError(t, err)
	tk, err = e.tickets.ResolveTicket(tech, &aftersalesv1.ResolveTicketRequest{Name: tk.GetName(), Resolution: validResolution()})
	require.NoError(t, err)
	require.Equal(t, aftersalesv1.Ticket_RESOLVED, tk.GetState())
	return tk, e.followUpOf(tk)
}

// followUpOf returns the ticket's one scheduled follow-up.
func (e *env) followUpOf(tk *aftersalesv1.Ticket) *aftersalesv1.FollowUp {
	e.t.Helper()
	resp, err := e.followUps.ListFollowUps(e.admin(), &aftersalesv1.ListFollowUpsRequest{Filter: `ticket = "` + tk.GetName() + `" AND state = SCHEDULED`})
	require.NoError(e.t, err)
	require.Len(e.t, resp.GetFollowUps(), 1)
	return resp.GetFollowUps()[0]
}

// survey is a phone survey's answers.
func survey(satisfaction int32, fixed bool) *aftersalesv1.Survey {
	return &aftersalesv1.Survey{Satisfaction: satisfaction, IssueResolved: proto.Bool(fixed), Comment: "said on the phone"}
}

// lastEvent returns the ticket's latest timeline event.
func (e *env) lastEvent(tk *aftersalesv1.Ticket) *aftersalesv1.TicketEvent {
	e.t.Helper()
	evs, err := e.tickets.ListTicketEvents(e.admin(), &aftersalesv1.ListTicketEventsRequest{Parent: tk.GetName(), PageSize: 1000})
	require.NoError(e.t, err)
	return evs.GetEvents()[len(evs.GetEvents())-1]
}

// TestFollowUpUnreachable: resolving schedules the follow-up, the queue
// shows it (overdue once due), and the third unreachable attempt ends it
// as UNREACHABLE, after which it takes no more changes.
func TestFollowUpUnreachable(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			resolvedAt := e.clock.Now()
			tk, fu := e.resolved(f)

			require.Equal(t, aftersalesv1.FollowUp_AUTOMATIC, fu.GetOrigin())
			require.Equal(t, aftersalesv1.FollowUp_PHONE, fu.GetMethod())
			require.Equal(t, f.customer.GetName(), fu.GetCustomer())
			require.Equal(t, f.agent.GetName(), fu.GetAssignee(), "assigned to the one qualified agent independent of the work")
			require.Equal(t, resolvedAt.Add(24*time.Hour), fu.GetScheduledTime().AsTime(), "default delay")
			require.Equal(t, resolvedAt.Add(72*time.Hour), fu.GetDueTime().AsTime(), "default window after the delay")
			require.False(t, fu.GetOverdue())
			resolvedEv := e.lastEvent(tk)
			require.Equal(t, aftersalesv1.TicketEvent_RESOLVED, resolvedEv.GetType())
			require.Equal(t, fu.GetName(), resolvedEv.GetDetails()["follow_up"], "the timeline links the follow-up")

			// The call center's queue: due within four days, soonest first.
			queue, err := e.followUps.ListFollowUps(agent, &aftersalesv1.ListFollowUpsRequest{
				Filter: `state = SCHEDULED AND due_time < "` + resolvedAt.Add(96*time.Hour).Format(time.RFC3339) + `"`, OrderBy: "due_time",
			})
			require.NoError(t, err)
			require.Len(t, queue.GetFollowUps(), 1)
			overdue, err := e.followUps.ListFollowUps(agent, &aftersalesv1.ListFollowUpsRequest{Filter: "overdue = true"})
			require.NoError(t, err)
			require.Empty(t, overdue.GetFollowUps())

			// Past due and not yet done: shown as overdue.
			e.clock.Advance(73 * time.Hour)
			overdue, err = e.followUps.ListFollowUps(agent, &aftersalesv1.ListFollowUpsRequest{Filter: "overdue = true"})
			require.NoError(t, err)
			require.Len(t, overdue.GetFollowUps(), 1)
			require.True(t, overdue.GetFollowUps()[0].GetOverdue())

			for i := 1; i <= 3; i++ {
				fu, err = e.followUps.RecordFollowUpAttempt(agent, &aftersalesv1.RecordFollowUpAttemptRequest{
					Name: fu.GetName(), Outcome: aftersalesv1.FollowUpAttempt_UNREACHABLE, Note: "no answer", Etag: fu.GetEtag(),
				})
				require.NoError(t, err)
				require.Len(t, fu.GetAttempts(), i)
				require.Equal(t, f.agent.GetName(), fu.GetAttempts()[i-1].GetPerformedBy())
				require.Equal(t, aftersalesv1.FollowUp_PHONE, fu.GetAttempts()[i-1].GetMethod())
				if i < 3 {
					require.Equal(t, aftersalesv1.FollowUp_SCHEDULED, fu.GetState())
					require.Nil(t, fu.GetEndTime())
				}
			}
			require.Equal(t, aftersalesv1.FollowUp_UNREACHABLE, fu.GetState())
			require.NotNil(t, fu.GetEndTime())
			require.False(t, fu.GetOverdue(), "an ended follow-up is not overdue")

			_, err = e.followUps.RecordFollowUpAttempt(agent, &aftersalesv1.RecordFollowUpAttemptRequest{Name: fu.GetName(), Outcome: aftersalesv1.FollowUpAttempt_UNREACHABLE})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			_, err = e.followUps.CompleteFollowUp(agent, &aftersalesv1.CompleteFollowUpRequest{Name: fu.GetName(), Survey: survey(5, true)})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			tk, err = e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_RESOLVED, tk.GetState(), "no answers, no consequence")
		})
	}
}

// TestFollowUpSatisfiedClosesTicket: a satisfied completion closes the
// ticket in the same call, with a timeline event linking the follow-up.
func TestFollowUpSatisfiedClosesTicket(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			tk, fu := e.resolved(f)

			e.clock.Advance(25 * time.Hour)
			sv := survey(5, true)
			sv.Nps = proto.Int32(9)
			req := &aftersalesv1.CompleteFollowUpRequest{Name: fu.GetName(), Survey: sv, Etag: fu.GetEtag(), RequestId: "call-42"}
			fu, err := e.followUps.CompleteFollowUp(agent, req)
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.FollowUp_COMPLETED, fu.GetState())
			require.Equal(t, f.agent.GetName(), fu.GetPerformedBy())
			require.EqualValues(t, 5, fu.GetSurvey().GetSatisfaction())
			require.EqualValues(t, 9, fu.GetSurvey().GetNps())
			require.True(t, fu.GetSurvey().GetIssueResolved())
			require.Equal(t, e.clock.Now(), fu.GetSurvey().GetSubmitTime().AsTime())
			require.Empty(t, fu.GetComplaint())

			tk, err = e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_CLOSED, tk.GetState())
			require.NotNil(t, tk.GetCloseTime())
			ev := e.lastEvent(tk)
			require.Equal(t, aftersalesv1.TicketEvent_CLOSED, ev.GetType())
			require.Equal(t, fu.GetName(), ev.GetDetails()["follow_up"])
			require.Equal(t, f.agent.GetName(), ev.GetActor())

			// A retry returns the first answer and changes nothing.
			again, err := e.followUps.CompleteFollowUp(agent, req)
			require.NoError(t, err)
			require.True(t, proto.Equal(fu, again))
		})
	}
}

// TestFollowUpNotResolvedReopensTicket: issue_resolved = false reopens the
// ticket; resolving it again schedules a new follow-up.
func TestFollowUpNotResolvedReopensTicket(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			tk, fu := e.resolved(f)

			fu, err := e.followUps.CompleteFollowUp(agent, &aftersalesv1.CompleteFollowUpRequest{Name: fu.GetName(), Survey: survey(4, false)})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.FollowUp_COMPLETED, fu.GetState())
			require.Empty(t, fu.GetComplaint(), "4 of 5 is no complaint")

			tk, err = e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_REOPENED, tk.GetState())
			ev := e.lastEvent(tk)
			require.Equal(t, aftersalesv1.TicketEvent_REOPENED, ev.GetType())
			require.Equal(t, aftersalesv1.Ticket_RESOLVED, ev.GetFromState())
			require.Equal(t, fu.GetName(), ev.GetDetails()["follow_up"])
			require.Contains(t, ev.GetNotify(), f.agent.GetName(), "the first-contact owner is told")

			// Worked again and resolved again: a new follow-up is due.
			tech := as(f.technician.GetName())
			_, err = e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.technician.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.AcceptTicket(tech, &aftersalesv1.AcceptTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.ResolveTicket(tech, &aftersalesv1.ResolveTicketRequest{Name: tk.GetName(), Resolution: validResolution()})
			require.NoError(t, err)
			second := e.followUpOf(tk)
			require.NotEqual(t, fu.GetName(), second.GetName())
		})
	}
}

// TestFollowUpReopenCancelsScheduled: a ticket reopened by hand withdraws
// its automatic follow-up; a hand-scheduled one keeps its purpose.
func TestFollowUpReopenCancelsScheduled(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			tk, auto := e.resolved(f)
			manual, err := e.followUps.CreateFollowUp(agent, &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{
				Ticket: tk.GetName(), Method: aftersalesv1.FollowUp_VISIT, Note: "courtesy visit",
			}})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.FollowUp_MANUAL, manual.GetOrigin())

			_, err = e.tickets.ReopenTicket(agent, &aftersalesv1.ReopenTicketRequest{Name: tk.GetName(), Reason: "customer called back"})
			require.NoError(t, err)
			auto, err = e.followUps.GetFollowUp(agent, &aftersalesv1.GetFollowUpRequest{Name: auto.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.FollowUp_CANCELLED, auto.GetState())
			require.Contains(t, auto.GetNote(), "reopened")
			manual, err = e.followUps.GetFollowUp(agent, &aftersalesv1.GetFollowUpRequest{Name: manual.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.FollowUp_SCHEDULED, manual.GetState())
		})
	}
}

// TestFollowUpLowSatisfactionOpensComplaint: satisfaction 1 opens a
// complaint linked to the ticket and the follow-up, for a manager.
func TestFollowUpLowSatisfactionOpensComplaint(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			tk, fu := e.resolved(f)

			sv := survey(1, true)
			sv.Comment, sv.ComplaintCategory = "the technician was rude", aftersalesv1.Complaint_SERVICE_ATTITUDE
			fu, err := e.followUps.CompleteFollowUp(agent, &aftersalesv1.CompleteFollowUpRequest{Name: fu.GetName(), Survey: sv})
			require.NoError(t, err)
			require.NotEmpty(t, fu.GetComplaint())

			c, err := e.complaints.GetComplaint(as(f.manager.GetName()), &aftersalesv1.GetComplaintRequest{Name: fu.GetComplaint()})
			require.NoError(t, err)
			require.Equal(t, tk.GetName(), c.GetTicket())
			require.Equal(t, fu.GetName(), c.GetFollowUp())
			require.Equal(t, f.customer.GetName(), c.GetCustomer())
			require.Equal(t, aftersalesv1.Complaint_SERVICE_ATTITUDE, c.GetCategory())
			require.Equal(t, aftersalesv1.Complaint_MEDIUM, c.GetSeverity(), "MEDIUM unless given")
			require.Equal(t, aftersalesv1.Complaint_RECEIVED, c.GetState())
			require.Equal(t, "the technician was rude", c.GetDescription())

			tk, err = e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_RESOLVED, tk.GetState(), "an unhappy customer's ticket is not closed")
		})
	}
}

// TestSurveyFromApp: the customer rates the service over JSON; it
// completes the scheduled follow-up with method APP and closes the ticket;
// a repeat returns the first answer; different answers are refused.
func TestSurveyFromApp(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			tk, fu := e.resolved(f)
			me := f.customer.GetName()
			path := "/v1/" + tk.GetName() + ":submitSurvey"
			body := map[string]any{"survey": map[string]any{"satisfaction": 4, "nps": 8, "issueResolved": true, "comment": "quick and tidy"}}

			r := e.do(http.MethodPost, path, me, body)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, fu.GetName(), r.body["name"], "the scheduled follow-up is the one answered")
			require.Equal(t, "COMPLETED", r.body["state"])
			require.Equal(t, "APP", r.body["method"])
			require.Equal(t, me, r.body["performedBy"])
			require.Equal(t, "quick and tidy", r.body["survey"].(map[string]any)["comment"])

			got := e.do(http.MethodGet, "/v1/"+tk.GetName(), me, nil)
			require.Equal(t, "CLOSED", got.body["state"])

			again := e.do(http.MethodPost, path, me, body)
			require.Equal(t, http.StatusOK, again.status, string(again.raw))
			require.Equal(t, r.body, again.body, "a repeat returns the original answer")

			body["survey"].(map[string]any)["satisfaction"] = 2
			requireHTTP(t, e.do(http.MethodPost, path, me, body), http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_SURVEY_ALREADY_SUBMITTED)
		})
	}
}
