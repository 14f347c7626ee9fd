package service

import (
	"context"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/followupflow"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

type followUpServer struct {
	aftersalesv1.UnimplementedFollowUpServiceServer
	*base
}

var followUpUpdatable = []string{"method", "assignee", "scheduled_time", "due_time", "note"}

// followUpList is the call center's queue: overdue is computed against
// now, the time of the request.
func followUpList(now time.Time) listSpec {
	scheduled := int32(followupflow.Scheduled)
	return listSpec{orderBy: map[string]string{"due_time": "due_time"}, indexes: followUpIndexes, columns: []column{
		{field: filter.Field{Name: "state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.FollowUp_State_name)}, name: "state", conv: enumValue(aftersalesv1.FollowUp_State_value)},
		{field: filter.Field{Name: "method", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.FollowUp_Method_name)}, name: "method", conv: enumValue(aftersalesv1.FollowUp_Method_value)},
		{field: filter.Field{Name: "origin", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.FollowUp_Origin_name)}, name: "origin", conv: enumValue(aftersalesv1.FollowUp_Origin_value)},
		{field: filter.Field{Name: "assignee"}, name: "assignee_id", conv: nameValue(resname.Staff)},
		{field: filter.Field{Name: "ticket"}, name: "ticket_id", conv: nameValue(resname.Tickets)},
		{field: filter.Field{Name: "customer"}, name: "customer_id", conv: nameValue(resname.Customers)},
		{field: filter.Field{Name: "due_time", Kind: filter.KindTime}, name: "due_time"},
		{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
		{field: filter.Field{Name: "overdue", Kind: filter.KindBool}, cond: func(op filter.Op, v any) (string, []any) {
			if v.(bool) == (op == filter.Eq) {
				return "(state = ? AND due_time < ?)", []any{scheduled, now}
			}
			return "(state <> ? OR due_time >= ?)", []any{scheduled, now}
		}},
	}}
}

// followUpIndexes are the follow-ups' indexes a list reads in order
// (listSpec.forcedIndex).
var followUpIndexes = []orderIndex{
	{"idx_follow_ups_state", []string{"state"}, "create_time"},
	{"idx_follow_ups_customer", []string{"customer_id"}, "create_time"},
	{"idx_follow_ups_assignee", []string{"assignee_id"}, "create_time"},
	{"idx_follow_ups_state_due", []string{"state"}, "due_time"},
}

// followUpScope limits a follow-ups query: the desk sees every
// follow-up, a customer their own; nobody else any.
func followUpScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager, principal.RoleAgent:
		return q
	case principal.RoleCustomer:
		return q.Where("customer_id = ?", p.ID())
	}
	return q.Where(nothing)
}

func (s *followUpServer) CreateFollowUp(ctx context.Context, req *aftersalesv1.CreateFollowUpRequest) (*aftersalesv1.FollowUp, error) {
	f := req.GetFollowUp()
	ticketID, err := parseName("follow_up.ticket", f.GetTicket(), resname.Tickets)
	if err != nil {
		return nil, err
	}
	assigneeID, err := optionalName("follow_up.assignee", f.GetAssignee(), resname.Staff)
	if err != nil {
		return nil, err
	}
	return mutate(ctx, s.base, aftersalesv1.FollowUpService_CreateFollowUp_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.FollowUp, error) {
		now := s.now()
		var tk store.Ticket
		if err := store.Translate(tx.Where("id = ?", ticketID).Take(&tk).Error); err != nil {
			return nil, orErr(ignoreNotFound(err), badReference("follow_up.ticket", f.GetTicket()))
		}
		start := now
		if f.GetScheduledTime() != nil {
			start = *timePtr(f.GetScheduledTime())
		}
		due := start.Add(s.rules.FollowUpWindow)
		if f.GetDueTime() != nil {
			due = *timePtr(f.GetDueTime())
		}
		row := &store.FollowUp{
			ID: ids.New(), TicketID: tk.ID, CustomerID: tk.CustomerID,
			Origin: int32(aftersalesv1.FollowUp_MANUAL), Method: int32(orDefault(f.GetMethod(), aftersalesv1.FollowUp_PHONE)),
			State: int32(followupflow.Scheduled), AssigneeID: assigneeID, ScheduledTime: start, DueTime: due,
			Note: f.GetNote(), Attempts: "[]", CreateTime: now, UpdateTime: now, Version: 1,
		}
		if err := checkTimes(row, "follow_up.due_time"); err != nil {
			return nil, err
		}
		if assigneeID != "" {
			if err := s.checkAssignee(tx, &tk, assigneeID, "follow_up.assignee", f.GetAssignee()); err != nil {
				return nil, err
			}
		}
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		return followUpProto(row, now), nil
	})
}

// checkTimes refuses a follow-up due before it may start.
func checkTimes(row *store.FollowUp, field string) error {
	if row.DueTime.Before(row.ScheduledTime) {
		return apierr.InvalidField(field, "must not be before scheduled_time")
	}
	return nil
}

// ignoreNotFound drops a store ErrNotFound, for lookups whose caller
// answers "not found" in its own words.
func ignoreNotFound(err error) error {
	if isNotFound(err) {
		return nil
	}
	return err
}

func (s *followUpServer) GetFollowUp(ctx context.Context, req *aftersalesv1.GetFollowUpRequest) (*aftersalesv1.FollowUp, error) {
	id, err := parseName("name", req.GetName(), resname.FollowUps)
	if err != nil {
		return nil, err
	}
	row, err := getRow[store.FollowUp](ctx, s.base, followUpScope(s.db.Gorm(ctx), principal.FromContext(ctx)), id, req.GetName())
	if err != nil {
		return nil, err
	}
	return followUpProto(row, s.now()), nil
}

func (s *followUpServer) ListFollowUps(ctx context.Context, req *aftersalesv1.ListFollowUpsRequest) (*aftersalesv1.ListFollowUpsResponse, error) {
	now := s.now()
	caller := principal.FromContext(ctx)
	rows, next, err := list[store.FollowUp](followUpScope(s.db.Gorm(ctx).Model(&store.FollowUp{}), caller), followUpList(now), listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
		scopedBy: customerScopeColumn(caller),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListFollowUpsResponse{NextPageToken: next}
	for i := range rows {
		resp.FollowUps = append(resp.FollowUps, followUpProto(&rows[i], now))
	}
	return resp, nil
}

func (s *followUpServer) UpdateFollowUp(ctx context.Context, req *aftersalesv1.UpdateFollowUpRequest) (*aftersalesv1.FollowUp, error) {
	f := req.GetFollowUp()
	id, err := parseName("follow_up.name", f.GetName(), resname.FollowUps)
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(req.GetUpdateMask(), followUpUpdatable)
	if err != nil {
		return nil, err
	}
	var vs []apierr.Violation
	for _, p := range paths {
		switch {
		case p == "method" && f.GetMethod() == aftersalesv1.FollowUp_METHOD_UNSPECIFIED,
			p == "scheduled_time" && f.GetScheduledTime() == nil,
			p == "due_time" && f.GetDueTime() == nil:
			vs = append(vs, apierr.Violation{Field: "follow_up." + p, Description: "is required"})
		}
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	assigneeID, err := optionalName("follow_up.assignee", f.GetAssignee(), resname.Staff)
	if err != nil {
		return nil, err
	}
	now := s.now()
	toProto := func(row *store.FollowUp) *aftersalesv1.FollowUp { return followUpProto(row, now) }
	scope := func(q *gorm.DB) *gorm.DB { return followUpScope(q, principal.FromContext(ctx)) }
	return updateRow(ctx, s.base, scope, id, f.GetName(), f.GetEtag(), toProto, func(tx *gorm.DB, row *store.FollowUp) error {
		if err := stateError(row, followupflow.Update); err != nil {
			return err
		}
		for _, p := range paths {
			switch p {
			case "method":
				row.Method = int32(f.GetMethod())
			case "assignee":
				row.AssigneeID = assigneeID
				if assigneeID == "" {
					continue
				}
				var tk store.Ticket
				if err := store.Translate(tx.Where("id = ?", row.TicketID).Take(&tk).Error); err != nil {
					return err
				}
				if err := s.checkAssignee(tx, &tk, assigneeID, "follow_up.assignee", f.GetAssignee()); err != nil {
					return err
				}
			case "scheduled_time":
				row.ScheduledTime = *timePtr(f.GetScheduledTime())
			case "due_time":
				row.DueTime = *timePtr(f.GetDueTime())
			case "note":
				row.Note = f.GetNote()
			}
		}
		return checkTimes(row, "follow_up.due_time")
	})
}

// stateError refuses an action that the follow-up's state does not allow.
func stateError(row *store.FollowUp, action followupflow.Action) error {
	if err := followupflow.Check(followupflow.State(row.State), action); err != nil {
		return apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", followupflow.State(row.State).String(), err.Error())
	}
	return nil
}

// change is the shape of the follow-up's custom methods: parse the name,
// then in one idempotent transaction lock the follow-up's ticket and the
// follow-up (in that order, as resolving a ticket does), check the etag
// and the state, apply the method's change, save and audit it.
func (s *followUpServer) change(ctx context.Context, method string, req idempotent, name, sentEtag string, action followupflow.Action,
	apply func(tx *gorm.DB, tk *store.Ticket, row *store.FollowUp, now time.Time) error,
) (*aftersalesv1.FollowUp, error) {
	id, err := parseName("name", name, resname.FollowUps)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	return mutate(ctx, s.base, method, req, func(tx *gorm.DB) (*aftersalesv1.FollowUp, error) {
		var row store.FollowUp
		if err := store.Translate(followUpScope(tx, caller).Where("id = ?", id).Take(&row).Error); err != nil {
			return nil, orErr(ignoreNotFound(err), notFound(name))
		}
		var tk store.Ticket
		if err := lockRow(tx, &tk, row.TicketID); err != nil {
			return nil, err
		}
		if err := lockRow(tx, &row, id); err != nil {
			return nil, err
		}
		if err := checkEtag(sentEtag, name, row.Version); err != nil {
			return nil, err
		}
		if err := stateError(&row, action); err != nil {
			return nil, err
		}
		now := s.now()
		before := followUpProto(&row, now)
		if err := apply(tx, &tk, &row, now); err != nil {
			return nil, err
		}
		row.Touch(now)
		if err := store.Translate(tx.Save(&row).Error); err != nil {
			return nil, err
		}
		after := followUpProto(&row, now)
		return after, s.audit(ctx, tx, name, before, after)
	})
}

func (s *followUpServer) RecordFollowUpAttempt(ctx context.Context, req *aftersalesv1.RecordFollowUpAttemptRequest) (*aftersalesv1.FollowUp, error) {
	if req.GetOutcome() == aftersalesv1.FollowUpAttempt_OUTCOME_UNSPECIFIED {
		return nil, apierr.InvalidField("outcome", "is required: UNREACHABLE or DECLINED")
	}
	caller := principal.FromContext(ctx)
	return s.change(ctx, aftersalesv1.FollowUpService_RecordFollowUpAttempt_FullMethodName, req, req.GetName(), req.GetEtag(), followupflow.Attempt,
		func(tx *gorm.DB, tk *store.Ticket, row *store.FollowUp, now time.Time) error {
			if err := checkPerformer(tx, tk, caller); err != nil {
				return err
			}
			next := followupflow.AfterAttempt(row.AttemptCount, req.GetOutcome())
			setAttempts(row, append(attemptsOf(row), attempt{
				Outcome: int32(req.GetOutcome()), Method: int32(orDefault(req.GetMethod(), aftersalesv1.FollowUp_Method(row.Method))),
				PerformedBy: caller.String(), Note: req.GetNote(), Time: now,
			}))
			if req.GetOutcome() == aftersalesv1.FollowUpAttempt_UNREACHABLE {
				row.AttemptCount++
			}
			if next != followupflow.Scheduled {
				row.State, row.EndTime = int32(next), &now
			}
			return nil
		})
}

func (s *followUpServer) CompleteFollowUp(ctx context.Context, req *aftersalesv1.CompleteFollowUpRequest) (*aftersalesv1.FollowUp, error) {
	if err := checkSurvey(req.GetSurvey()); err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	return s.change(ctx, aftersalesv1.FollowUpService_CompleteFollowUp_FullMethodName, req, req.GetName(), req.GetEtag(), followupflow.Complete,
		func(tx *gorm.DB, tk *store.Ticket, row *store.FollowUp, now time.Time) error {
			if err := checkPerformer(tx, tk, caller); err != nil {
				return err
			}
			row.Method = int32(orDefault(req.GetMethod(), aftersalesv1.FollowUp_Method(row.Method)))
			return s.applySurvey(ctx, tx, tk, row, req.GetSurvey(), caller, now)
		})
}

// checkSurvey checks what the proto's rules cannot: the answer every
// survey needs. Value ranges are the proto's (protovalidate).
func checkSurvey(sv *aftersalesv1.Survey) error {
	if sv.IssueResolved == nil {
		return apierr.InvalidField("survey.issue_resolved", "is required: whether the problem is solved")
	}
	return nil
}

func (s *followUpServer) CancelFollowUp(ctx context.Context, req *aftersalesv1.CancelFollowUpRequest) (*aftersalesv1.FollowUp, error) {
	return s.change(ctx, aftersalesv1.FollowUpService_CancelFollowUp_FullMethodName, req, req.GetName(), req.GetEtag(), followupflow.Cancel,
		func(_ *gorm.DB, _ *store.Ticket, row *store.FollowUp, now time.Time) error {
			cancelFollowUp(row, req.GetReason(), now)
			return nil
		})
}

// priorSurvey returns the caller's follow-up of the ticket when the
// answers are the ones it holds, SURVEY_ALREADY_SUBMITTED when they
// differ, and nothing when the caller has not answered yet.
func (s *followUpServer) priorSurvey(tx *gorm.DB, ticketID string, caller principal.Principal, survey *aftersalesv1.Survey) (*aftersalesv1.FollowUp, error) {
	var prior []store.FollowUp
	if err := tx.Where("ticket_id = ? AND performed_by = ?", ticketID, caller.String()).Limit(1).Find(&prior).Error; err != nil {
		return nil, store.Translate(err)
	}
	if len(prior) == 0 {
		return nil, nil
	}
	if !sameAnswers(&prior[0], survey) {
		name := resname.Format(resname.FollowUps, prior[0].ID)
		return nil, apierr.Precondition(aftersalesv1.ErrorReason_SURVEY_ALREADY_SUBMITTED, "SURVEY", name,
			"this ticket's survey was already submitted ("+name+"); it cannot be answered twice")
	}
	return followUpProto(&prior[0], s.now()), nil
}

// SubmitSurvey records the customer's own answers from the app, once per
// ticket: it completes the ticket's scheduled follow-up, or records a new
// one, with the same consequences as a follow-up call.
func (s *followUpServer) SubmitSurvey(ctx context.Context, req *aftersalesv1.SubmitSurveyRequest) (*aftersalesv1.FollowUp, error) {
	ticketID, err := parseName("ticket", req.GetTicket(), resname.Tickets)
	if err != nil {
		return nil, err
	}
	if err := checkSurvey(req.GetSurvey()); err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	return mutate(ctx, s.base, aftersalesv1.FollowUpService_SubmitSurvey_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.FollowUp, error) {
		// An answer already given is answered before anything is
		// written: an app resending it must not change the ticket's
		// etag. Only the caller's own follow-up is read, so this shows
		// nothing of a ticket out of the caller's scope.
		if done, err := s.priorSurvey(tx, ticketID, caller, req.GetSurvey()); done != nil || err != nil {
			return done, err
		}
		// The ticket's lock serialises two submissions of one survey; it
		// is written too, so that on Galera two nodes cannot both record
		// one (see touchRow).
		if err := touchRow(ticketScope(tx, caller), &store.Ticket{}, ticketID); err != nil {
			return nil, err
		}
		var tk store.Ticket
		if err := lockRow(ticketScope(tx, caller), &tk, ticketID); err != nil {
			return nil, orErr(ignoreNotFound(err), notFound(req.GetTicket()))
		}
		now := s.now()
		if done, err := s.priorSurvey(tx, tk.ID, caller, req.GetSurvey()); done != nil || err != nil {
			return done, err // submitted between the first look and the lock
		}
		if st := ticketflow.State(tk.State); st != ticketflow.Resolved && st != ticketflow.Closed {
			return nil, apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", st.String(),
				"a ticket can be rated once it is RESOLVED or CLOSED; it is "+st.String())
		}
		// Complete the follow-up the desk would otherwise call about, the
		// automatic one first.
		var open []store.FollowUp
		if err := tx.Where("ticket_id = ? AND state = ?", tk.ID, int32(followupflow.Scheduled)).
			Order("origin ASC").Order("create_time ASC").Limit(1).Find(&open).Error; err != nil {
			return nil, store.Translate(err)
		}
		var row *store.FollowUp
		var before *aftersalesv1.FollowUp
		if len(open) > 0 {
			row = &open[0]
			if err := lockRow(tx, row, row.ID); err != nil {
				return nil, err
			}
			before = followUpProto(row, now)
		} else {
			row = &store.FollowUp{
				ID: ids.New(), TicketID: tk.ID, CustomerID: tk.CustomerID, Origin: int32(aftersalesv1.FollowUp_CUSTOMER),
				ScheduledTime: now, DueTime: now, Attempts: "[]", CreateTime: now, UpdateTime: now,
			}
		}
		row.Method = int32(aftersalesv1.FollowUp_APP)
		if err := s.applySurvey(ctx, tx, &tk, row, req.GetSurvey(), caller, now); err != nil {
			return nil, err
		}
		row.Touch(now)
		save := tx.Save
		if before == nil {
			save = tx.Create
		}
		if err := store.Translate(save(row).Error); err != nil {
			return nil, err
		}
		after := followUpProto(row, now)
		return after, s.audit(ctx, tx, after.GetName(), before, after)
	})
}
