package service

import (
	"context"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/changefeed"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// The transactional outbox: audit (every change's one record) calls emit
// in the change's own transaction, so a failed call emits nothing and a
// committed one always emits one event per resource it changed. The
// sequencer (event.go) later gives committed events their feed position.

// emit writes the event of a change of resource, whose state is now msg
// (its state before, for a deletion), inside tx. data is msg as anyBytes
// renders it.
func (b *base) emit(ctx context.Context, tx *gorm.DB, resource, typ string, msg proto.Message, data []byte) error {
	ev := &store.Event{
		Type: typ, Resource: resource, ResourceType: changefeed.ResourceType(resource),
		Principal: principal.FromContext(ctx).String(), Data: data, CreateTime: b.now(),
	}
	if err := scopeEvent(tx, ev, msg); err != nil {
		return err
	}
	return store.Append(tx, ev)
}

// anyBytes marshals msg, without secrets, into an Any: the state an
// event carries and a creation's audit record keeps.
func anyBytes(msg proto.Message) ([]byte, error) {
	if t, ok := msg.(*aftersalesv1.Ticket); ok {
		msg = withoutHiddenQuote(t)
	}
	data, err := anypb.New(withoutSecret(msg))
	if err != nil {
		return nil, err
	}
	return proto.Marshal(data)
}

// scopeEvent copies onto ev who may read it, from the resource as it is
// after the change (see eventScope): the customer it belongs to, the
// shop and the staff member working it.
func scopeEvent(tx *gorm.DB, ev *store.Event, msg proto.Message) error {
	id := func(name, collection string) string {
		v, _ := resname.ID(name, collection)
		return v
	}
	switch m := msg.(type) {
	case *aftersalesv1.Ticket:
		ev.CustomerID = id(m.GetCustomer(), resname.Customers)
		ev.PartnerID = id(m.GetPartner(), resname.Partners)
		ev.AssigneeID = id(m.GetAssignee(), resname.Staff)
		ev.FirstContactID = id(m.GetFirstContact(), resname.Staff)
	case *aftersalesv1.TicketEvent:
		// A timeline entry is seen by those who see its ticket.
		ticketID := parentID(m.GetName(), resname.Tickets)
		var t store.Ticket
		if err := tx.Select("customer_id", "partner_id", "assignee_id", "first_contact_id").Where("id = ?", ticketID).Take(&t).Error; err != nil {
			return store.Translate(err)
		}
		ev.CustomerID, ev.PartnerID, ev.AssigneeID, ev.FirstContactID = t.CustomerID, t.PartnerID, t.AssigneeID, t.FirstContactID
		ev.Internal = m.GetInternal()
	case *aftersalesv1.Complaint:
		ev.CustomerID = id(m.GetCustomer(), resname.Customers)
	case *aftersalesv1.ComplaintEvent:
		complaintID := parentID(m.GetName(), resname.Complaints)
		var c store.Complaint
		if err := tx.Select("customer_id").Where("id = ?", complaintID).Take(&c).Error; err != nil {
			return store.Translate(err)
		}
		ev.CustomerID = c.CustomerID
		ev.Internal = m.GetInternal()
	case *aftersalesv1.Customer:
		ev.CustomerID = id(m.GetName(), resname.Customers)
	case *aftersalesv1.Product:
		ev.CustomerID = parentID(m.GetName(), resname.Customers)
	case *aftersalesv1.Staff:
		// A shop follows its own technicians (their qualification above
		// all); a staff member their own record.
		ev.PartnerID = id(m.GetPartner(), resname.Partners)
		ev.AssigneeID = id(m.GetName(), resname.Staff)
	case *aftersalesv1.Enrollment, *aftersalesv1.Assessment, *aftersalesv1.AccountabilityRecord:
		ev.AssigneeID = parentID(resourceName(m), resname.Staff)
	case *aftersalesv1.Webhook:
		ev.PartnerID = id(m.GetPartner(), resname.Partners)
	case *aftersalesv1.CampaignTarget:
		// A campaign reaching a customer's product is news to them.
		ev.CustomerID = id(m.GetCustomer(), resname.Customers)
	case *aftersalesv1.WarrantyClaim, *aftersalesv1.SettlementStatement:
		// A shop follows its own claims and statements.
		ev.PartnerID = parentID(resourceName(m), resname.Partners)
	case *aftersalesv1.MaintenanceVisit:
		// A maintenance reminder reaches the owner of the product.
		ev.CustomerID = parentID(m.GetProduct(), resname.Customers)
	}
	return nil
}

// staffOnlyTypes are resource types only admins follow: credentials and
// subscriptions (a shop follows its own subscriptions through
// partner_id).
var staffOnlyTypes = []string{"api_key", "webhook"}

// customerTypes are the resource types a customer may Get, and the
// campaign targets and maintenance visits of their products (the notices
// and reminders that reach them).
var customerTypes = []string{"ticket", "ticket_event", "complaint", "complaint_event", "customer", "product", "campaign_target", "maintenance"}

// trainingTypes are the resource types of staff training; personal
// records (enrollment and below) are read by their owner, trainers and
// managers only.
var (
	trainingTypes = []string{"staff", "course", "enrollment", "assessment", "accountability_record"}
	personalTypes = []string{"enrollment", "assessment", "accountability_record"}
)

// reviewTypes are the resource types of warranty settlement and of the
// price list (drafts included): reviewers and those who set prices
// (managers) follow them, and a shop its own claims; the call center not.
var reviewTypes = []string{"warranty_claim", "settlement", "fee_schedule"}

// eventScope limits an events query to what the caller may Get, from the
// scope columns emit wrote (see scopeEvent).
func eventScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin:
		return q
	case principal.RoleManager:
		return q.Where("resource_type NOT IN ?", staffOnlyTypes)
	case principal.RoleAgent:
		return q.Where("resource_type NOT IN ? AND resource_type NOT IN ? AND (resource_type NOT IN ? OR assignee_id = ?)", staffOnlyTypes, reviewTypes, personalTypes, p.ID())
	case principal.RoleTrainer:
		return q.Where("resource_type IN ?", trainingTypes)
	case principal.RolePartner:
		return q.Where("partner_id = ? AND internal = ?", p.ID(), false)
	case principal.RoleTechnician:
		return q.Where("(assignee_id = ? OR first_contact_id = ?) AND resource_type NOT IN ?", p.ID(), p.ID(), staffOnlyTypes)
	case principal.RoleCustomer:
		return q.Where("customer_id = ? AND internal = ? AND resource_type IN ?", p.ID(), false, customerTypes)
	}
	return q.Where(nothing)
}

// eventFor converts a stored event to the API message, with the
// resource's fields hidden from p as its Get hides them.
func eventFor(row *store.Event, p principal.Principal) (*aftersalesv1.Event, error) {
	data := &anypb.Any{}
	if err := proto.Unmarshal(row.Data, data); err != nil {
		return nil, err
	}
	msg, err := data.UnmarshalNew()
	if err != nil {
		return nil, err
	}
	switch m := msg.(type) {
	case *aftersalesv1.Complaint:
		msg = complaintFor(m, p)
	case *aftersalesv1.Customer:
		msg = contactOnly(m, p)
	case *aftersalesv1.CampaignTarget:
		if p.Role == principal.RoleCustomer {
			m.Note = "" // the call center's outreach note is internal
		}
	}
	if data, err = anypb.New(msg); err != nil {
		return nil, err
	}
	return &aftersalesv1.Event{
		Name: resname.Format(resname.Events, strconv.FormatInt(*row.Seq, 10)), Id: *row.Seq, Type: row.Type,
		Resource: row.Resource, ResourceType: row.ResourceType, Data: data,
		Principal: row.Principal, CreateTime: ts(row.CreateTime),
	}, nil
}

// parentID returns the id of the first collection of name when it is
// collection: "a" for ("tickets/a/events/b", "tickets").
func parentID(name, collection string) string {
	segs := strings.SplitN(name, "/", 3)
	if len(segs) >= 2 && segs[0] == collection {
		return segs[1]
	}
	return ""
}
