package service

import (
	"encoding/json"
	"time"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
)

// attempt is a FollowUpAttempt as stored in the follow-up's JSON column.
type attempt struct {
	Outcome     int32     `json:"outcome"`
	Method      int32     `json:"method"`
	PerformedBy string    `json:"performed_by"`
	Note        string    `json:"note,omitempty"`
	Time        time.Time `json:"time"`
}

func attemptsOf(row *store.FollowUp) []attempt {
	var out []attempt
	if row.Attempts != "" {
		_ = json.Unmarshal([]byte(row.Attempts), &out)
	}
	return out
}

func setAttempts(row *store.FollowUp, as []attempt) {
	b, _ := json.Marshal(as)
	row.Attempts = string(b)
}

// followUpProto renders a follow-up; overdue is computed at now, so the
// queue shows it as it stands when read.
func followUpProto(row *store.FollowUp, now time.Time) *aftersalesv1.FollowUp {
	name := resname.Format(resname.FollowUps, row.ID)
	f := &aftersalesv1.FollowUp{
		Name:          name,
		Ticket:        resname.Format(resname.Tickets, row.TicketID),
		Customer:      resname.Format(resname.Customers, row.CustomerID),
		Origin:        aftersalesv1.FollowUp_Origin(row.Origin),
		Method:        aftersalesv1.FollowUp_Method(row.Method),
		State:         aftersalesv1.FollowUp_State(row.State),
		Assignee:      refName(resname.Staff, row.AssigneeID),
		ScheduledTime: ts(row.ScheduledTime),
		DueTime:       ts(row.DueTime),
		Overdue:       overdue(row, now),
		Note:          row.Note,
		PerformedBy:   row.PerformedBy,
		Complaint:     refName(resname.Complaints, row.ComplaintID),
		EndTime:       tsPtr(row.EndTime),
		CreateTime:    ts(row.CreateTime),
		UpdateTime:    ts(row.UpdateTime),
		Etag:          etag.Of(name, row.Version),
	}
	for _, a := range attemptsOf(row) {
		f.Attempts = append(f.Attempts, &aftersalesv1.FollowUpAttempt{
			Outcome: aftersalesv1.FollowUpAttempt_Outcome(a.Outcome), Method: aftersalesv1.FollowUp_Method(a.Method),
			PerformedBy: a.PerformedBy, Note: a.Note, AttemptTime: ts(a.Time),
		})
	}
	if row.SubmitTime != nil {
		f.Survey = &aftersalesv1.Survey{
			Satisfaction: row.Satisfaction, Nps: row.Nps, IssueResolved: row.IssueResolved,
			Comment: row.SurveyComment, SubmitTime: tsPtr(row.SubmitTime),
		}
	}
	return f
}

// overdue reports whether a follow-up is still to be done after its due
// time.
func overdue(row *store.FollowUp, now time.Time) bool {
	return row.State == int32(aftersalesv1.FollowUp_SCHEDULED) && now.After(row.DueTime)
}

// setSurvey stores a survey's answers.
func setSurvey(row *store.FollowUp, s *aftersalesv1.Survey, now time.Time) {
	row.Satisfaction, row.Nps, row.IssueResolved = s.GetSatisfaction(), s.Nps, s.IssueResolved
	row.SurveyComment, row.SubmitTime = s.GetComment(), &now
}

// sameAnswers reports whether survey s repeats the answers stored in row.
func sameAnswers(row *store.FollowUp, s *aftersalesv1.Survey) bool {
	return row.Satisfaction == s.GetSatisfaction() && eqPtr(row.Nps, s.Nps) &&
		eqPtr(row.IssueResolved, s.IssueResolved) && row.SurveyComment == s.GetComment()
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
