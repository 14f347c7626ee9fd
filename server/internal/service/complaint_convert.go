package service

import (
	"time"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

func complaintProto(row *store.Complaint) *aftersalesv1.Complaint {
	name := resname.Format(resname.Complaints, row.ID)
	c := &aftersalesv1.Complaint{
		Name:                name,
		Customer:            resname.Format(resname.Customers, row.CustomerID),
		Ticket:              refName(resname.Tickets, row.TicketID),
		FollowUp:            refName(resname.FollowUps, row.FollowUpID),
		Channel:             aftersalesv1.Ticket_Channel(row.Channel),
		Category:            aftersalesv1.Complaint_Category(row.Category),
		Severity:            aftersalesv1.Complaint_Severity(row.Severity),
		Title:               row.Title,
		Description:         row.Description,
		DesiredRemedy:       aftersalesv1.Complaint_Remedy(row.DesiredRemedy),
		State:               aftersalesv1.Complaint_State(row.State),
		ReceivedBy:          refName(resname.Staff, row.ReceivedByID),
		Handler:             refName(resname.Staff, row.HandlerID),
		ResponsibleStaff:    refName(resname.Staff, row.ResponsibleStaffID),
		ResponsibleManager:  refName(resname.Staff, row.ResponsibleManagerID),
		EscalationLevel:     row.EscalationLevel,
		EscalatedTo:         refName(resname.Staff, row.EscalatedToID),
		AcknowledgeDue:      ts(row.AcknowledgeDue),
		ResolveDue:          ts(row.ResolveDue),
		AcknowledgeOverdue:  row.AcknowledgeOverdue,
		ResolveOverdue:      row.ResolveOverdue,
		AcknowledgeTime:     tsPtr(row.AcknowledgeTime),
		ResolveTime:         tsPtr(row.ResolveTime),
		ComplainantAccepted: row.ComplainantAccepted,
		CloseTime:           tsPtr(row.CloseTime),
		CreateTime:          ts(row.CreateTime),
		UpdateTime:          ts(row.UpdateTime),
		Etag:                etag.Of(name, row.Version),
	}
	if row.ProductID != "" {
		c.Product = resname.Format(resname.Customers, row.CustomerID, resname.Products, row.ProductID)
	}
	if row.Outcome != 0 {
		c.Resolution = &aftersalesv1.ComplaintResolution{
			Outcome:       aftersalesv1.Complaint_Outcome(row.Outcome),
			GrantedRemedy: aftersalesv1.Complaint_Remedy(row.GrantedRemedy),
			Summary:       row.ResolutionSummary,
			Compensation:  legacyMoney(row.CompensationCurrency, row.CompensationMinor),
		}
	}
	return c
}

// complaintFor is the complaint as the caller may see it: customers do
// not see who inside the company answers for it or oversees it.
func complaintFor(c *aftersalesv1.Complaint, p principal.Principal) *aftersalesv1.Complaint {
	if seesInternal(p) {
		return c
	}
	c.ResponsibleStaff, c.ResponsibleManager, c.EscalatedTo = "", "", ""
	return c
}

// complaintFieldString renders an updated field for the timeline.
func complaintFieldString(row *store.Complaint, path string) string {
	c := complaintProto(row)
	switch path {
	case "title":
		return c.GetTitle()
	case "category":
		return c.GetCategory().String()
	case "severity":
		return c.GetSeverity().String()
	case "desired_remedy":
		return c.GetDesiredRemedy().String()
	case "ticket":
		return c.GetTicket()
	case "product":
		return c.GetProduct()
	case "responsible_staff":
		return c.GetResponsibleStaff()
	}
	return "changed"
}

// complaintEvent is a complaint timeline entry being built.
type complaintEvent struct {
	store.ComplaintEvent
	eventExtras
}

func newComplaintEvent(row *store.Complaint, typ aftersalesv1.ComplaintEvent_Type, actor principal.Principal, now time.Time) *complaintEvent {
	return &complaintEvent{ComplaintEvent: store.ComplaintEvent{
		ID: ids.New(), ComplaintID: row.ID, Type: int32(typ), Actor: actor.String(), CreateTime: now,
	}}
}

// row returns the event as stored.
func (e *complaintEvent) row() *store.ComplaintEvent {
	r := e.ComplaintEvent
	r.Details, r.Notify = e.encode()
	return &r
}

func complaintEventProto(row *store.ComplaintEvent) *aftersalesv1.ComplaintEvent {
	ev := &aftersalesv1.ComplaintEvent{
		Name:       resname.Format(resname.Complaints, row.ComplaintID, resname.Events, row.ID),
		Type:       aftersalesv1.ComplaintEvent_Type(row.Type),
		Actor:      row.Actor,
		FromState:  aftersalesv1.Complaint_State(row.FromState),
		ToState:    aftersalesv1.Complaint_State(row.ToState),
		Message:    row.Message,
		Internal:   row.Internal,
		CreateTime: ts(row.CreateTime),
	}
	ev.Details, ev.Notify = decodeExtras(row.Details, row.Notify)
	return ev
}

func accountabilityProto(row *store.AccountabilityRecord) *aftersalesv1.AccountabilityRecord {
	return &aftersalesv1.AccountabilityRecord{
		Name:             resname.Format(resname.Staff, row.StaffID, resname.AccountabilityRecords, row.ID),
		Kind:             aftersalesv1.AccountabilityRecord_Kind(row.Kind),
		Complaint:        resname.Format(resname.Complaints, row.ComplaintID),
		Category:         aftersalesv1.Complaint_Category(row.Category),
		Severity:         aftersalesv1.Complaint_Severity(row.Severity),
		ResponsibleStaff: refName(resname.Staff, row.ResponsibleStaffID),
		Summary:          row.Summary,
		CreateTime:       ts(row.CreateTime),
	}
}
