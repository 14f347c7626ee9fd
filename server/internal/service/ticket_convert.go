package service

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/aftersales/aftersales/server/internal/ids"

	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

func secs(n int64) time.Duration { return time.Duration(n) * time.Second }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// clockOf reads the SLA clock out of a ticket row.
func clockOf(row *store.Ticket) ticketflow.Clock {
	return ticketflow.Clock{
		ResponseDue:   row.ResponseDue,
		ResolveDue:    row.ResolveDue,
		FirstResponse: deref(row.FirstResponseTime),
		PausedAt:      deref(row.PausedAt),
		PausedTotal:   secs(row.PausedSeconds),
		PauseStops:    row.PauseClock,
	}
}

// setClock writes the SLA clock back into a ticket row.
func setClock(row *store.Ticket, c ticketflow.Clock) {
	row.ResponseDue, row.ResolveDue = c.ResponseDue, c.ResolveDue
	row.FirstResponseTime, row.PausedAt = nullTime(c.FirstResponse), nullTime(c.PausedAt)
	row.PausedSeconds = int64(c.PausedTotal / time.Second)
	row.PauseClock = c.PauseStops
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func legacyMoney(currency string, minor int64) *aftersalesv1.Money {
	if currency == "" {
		return nil
	}
	return &aftersalesv1.Money{CurrencyCode: currency, MinorUnits: minor}
}

func ticketProto(row *store.Ticket) *aftersalesv1.Ticket {
	name := resname.Format(resname.Tickets, row.ID)
	t := &aftersalesv1.Ticket{
		Name:            name,
		Customer:        resname.Format(resname.Customers, row.CustomerID),
		Type:            aftersalesv1.Ticket_Type(row.Type),
		Channel:         aftersalesv1.Ticket_Channel(row.Channel),
		Priority:        aftersalesv1.Ticket_Priority(row.Priority),
		Title:           row.Title,
		Description:     row.Description,
		State:           aftersalesv1.Ticket_State(row.State),
		FirstContact:    refName(resname.Staff, row.FirstContactID),
		Assignee:        refName(resname.Staff, row.AssigneeID),
		Partner:         refName(resname.Partners, row.PartnerID),
		WarrantyStatus:  aftersalesv1.WarrantyStatus(row.WarrantyStatus),
		EscalationLevel: row.EscalationLevel,
		PauseReason:     row.PauseReason,
		CreateTime:      ts(row.CreateTime),
		UpdateTime:      ts(row.UpdateTime),
		ResolveTime:     tsPtr(row.ResolveTime),
		CloseTime:       tsPtr(row.CloseTime),
		Etag:            etag.Of(name, row.Version),
		Campaign:        refName(resname.Campaigns, row.CampaignID),
		MaintenancePlan: refName(resname.MaintenancePlans, row.MaintenancePlanID),
		Sla: &aftersalesv1.SlaStatus{
			Policy:            refName(resname.SlaPolicies, row.SlaPolicyID),
			ResponseDueTime:   ts(row.ResponseDue),
			ResolveDueTime:    ts(row.ResolveDue),
			FirstResponseTime: tsPtr(row.FirstResponseTime),
			ResponseBreached:  row.ResponseBreached,
			ResolveBreached:   row.ResolveBreached,
			PausedDuration:    durationpb.New(secs(row.PausedSeconds)),
		},
	}
	if row.ProductID != "" {
		t.Product = resname.Format(resname.Customers, row.CustomerID, resname.Products, row.ProductID)
	}
	// A quote from the fee schedule (Ticket.quote) keeps FeeApproval in
	// step but leaves the free-form amounts empty: no fee_quote then.
	if row.FeeApproval != 0 && row.FeeCurrency != "" {
		t.FeeQuote = &aftersalesv1.FeeQuote{
			Labor:         legacyMoney(row.FeeCurrency, row.FeeLaborMinor),
			Parts:         legacyMoney(row.FeeCurrency, row.FeePartsMinor),
			Total:         legacyMoney(row.FeeCurrency, row.FeeLaborMinor+row.FeePartsMinor),
			Description:   row.FeeDescription,
			ApprovalState: aftersalesv1.FeeQuote_ApprovalState(row.FeeApproval),
			DecideTime:    tsPtr(row.FeeDecideTime),
		}
	}
	if row.ResolveTime != nil {
		r := &aftersalesv1.Resolution{}
		unmarshalJSON(row.PartsUsed, r)
		r.FaultCategory, r.FaultCode, r.Summary = row.FaultCategory, row.FaultCode, row.Resolution
		r.Labor = durationpb.New(secs(row.LaborSeconds))
		r.FeeCharged = legacyMoney(row.ChargedCurrency, row.ChargedMinor)
		t.Resolution = r
	}
	return t
}

// ticketFieldString renders an updated field for the timeline.
func ticketFieldString(row *store.Ticket, path string) string {
	switch path {
	case "title":
		return row.Title
	case "type":
		return aftersalesv1.Ticket_Type(row.Type).String()
	case "priority":
		return aftersalesv1.Ticket_Priority(row.Priority).String()
	case "product":
		if row.ProductID == "" {
			return ""
		}
		return resname.Format(resname.Customers, row.CustomerID, resname.Products, row.ProductID)
	case "fee_quote":
		if row.FeeCurrency == "" {
			return ""
		}
		return row.FeeCurrency + " " + itoa(row.FeeLaborMinor+row.FeePartsMinor)
	}
	return "changed"
}

// event is a ticket timeline entry being built.
type event struct {
	store.TicketEvent
	eventExtras
}

func newEvent(row *store.Ticket, typ aftersalesv1.TicketEvent_Type, actor principal.Principal, now time.Time) *event {
	return &event{TicketEvent: store.TicketEvent{
		ID: ids.New(), TicketID: row.ID, Type: int32(typ), Actor: actor.String(), CreateTime: now,
	}}
}

// row returns the event as stored.
func (e *event) row() *store.TicketEvent {
	r := e.TicketEvent
	r.Details, r.Notify = e.encode()
	return &r
}

func eventProto(row *store.TicketEvent) *aftersalesv1.TicketEvent {
	ev := &aftersalesv1.TicketEvent{
		Name:       resname.Format(resname.Tickets, row.TicketID, resname.Events, row.ID),
		Type:       aftersalesv1.TicketEvent_Type(row.Type),
		Actor:      row.Actor,
		FromState:  aftersalesv1.Ticket_State(row.FromState),
		ToState:    aftersalesv1.Ticket_State(row.ToState),
		Message:    row.Message,
		Internal:   row.Internal,
		CreateTime: ts(row.CreateTime),
	}
	ev.Details, ev.Notify = decodeExtras(row.Details, row.Notify)
	return ev
}

// enumNames lists an enum's value names without the zero value, for a
// filter allow-list.
func enumNames(names map[int32]string) []string {
	var out []string
	for n, s := range names {
		if n != 0 {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// enumValue converts a filtered enum name to its stored number.
func enumValue(values map[string]int32) func(any) (any, error) {
	return func(v any) (any, error) { return values[v.(string)], nil }
}

// nameValue converts a filtered resource name to its stored id.
func nameValue(collection string) func(any) (any, error) {
	return func(v any) (any, error) {
		s := v.(string)
		if s == "" {
			return "", nil
		}
		id, ok := resname.ID(s, collection)
		if !ok {
			return nil, errors.New("must be a resource name of the form " + collection + "/{id}")
		}
		return id, nil
	}
}

// productValue converts a filtered product name to its stored id.
func productValue(v any) (any, error) {
	ids, ok := resname.Parse(v.(string), resname.Customers, resname.Products)
	if !ok {
		return nil, errors.New("must be a resource name of the form customers/{customer}/products/{product}")
	}
	return ids[1], nil
}
