package service

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

type ticketServer struct {
	aftersalesv1.UnimplementedTicketServiceServer
	*base
}

func newTicketServer(b *base) *ticketServer {
	return &ticketServer{base: b}
}

var ticketUpdatable = []string{"title", "description", "type", "priority", "product", "fee_quote"}

// ticketWorkerUpdatable is what partners and technicians may change.
var ticketWorkerUpdatable = []string{"description", "fee_quote"}

var ticketList = listSpec{
	columns: []column{
		{field: filter.Field{Name: "state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Ticket_State_name)}, name: "state", conv: enumValue(aftersalesv1.Ticket_State_value)},
		{field: filter.Field{Name: "priority", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Ticket_Priority_name)}, name: "priority", conv: enumValue(aftersalesv1.Ticket_Priority_value)},
		{field: filter.Field{Name: "type", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Ticket_Type_name)}, name: "type", conv: enumValue(aftersalesv1.Ticket_Type_value)},
		{field: filter.Field{Name: "channel", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Ticket_Channel_name)}, name: "channel", conv: enumValue(aftersalesv1.Ticket_Channel_value)},
		{field: filter.Field{Name: "customer"}, name: "customer_id", conv: nameValue(resname.Customers)},
		{field: filter.Field{Name: "product"}, name: "product_id", conv: productValue},
		{field: filter.Field{Name: "assignee"}, name: "assignee_id", conv: nameValue(resname.Staff)},
		{field: filter.Field{Name: "partner"}, name: "partner_id", conv: nameValue(resname.Partners)},
		{field: filter.Field{Name: "first_contact"}, name: "first_contact_id", conv: nameValue(resname.Staff)},
		{field: filter.Field{Name: "escalation_level", Kind: filter.KindInt}, name: "escalation_level"},
		{field: filter.Field{Name: "campaign"}, name: "campaign_id", conv: nameValue(resname.Campaigns)},
		{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
	},
	// The work queues list by the SLA's resolve due time, the most urgent
	// first. Every ticket has one (no ticket opens without a policy), so
	// the column is NOT NULL and the keyset order total.
	orderBy: map[string]string{"sla.resolve_due_time": "resolve_due"},
	indexes: []orderIndex{
		{"idx_tickets_state_assignee", []string{"state", "assignee_id"}, "create_time"},
		{"idx_tickets_state", []string{"state"}, "create_time"},
		{"idx_tickets_assignee", []string{"assignee_id"}, "create_time"},
		{"idx_tickets_customer", []string{"customer_id"}, "create_time"},
		{"idx_tickets_partner", []string{"partner_id"}, "create_time"},
		{"idx_tickets_assignee_resolve", []string{"assignee_id", "state"}, "resolve_due"},
		{"idx_tickets_state_resolve", []string{"state"}, "resolve_due"},
	},
}

func (s *ticketServer) CreateTicket(ctx context.Context, req *aftersalesv1.CreateTicketRequest) (*aftersalesv1.Ticket, error) {
	t := req.GetTicket()
	actor := principal.FromContext(ctx)
	if actor.Role == principal.RoleCustomer {
		// Customers open tickets for themselves, and fees are the shop's
		// to quote, not the customer's to set.
		if t.GetCustomer() != "" && t.GetCustomer() != actor.Name {
			return nil, accessDenied("ticket.customer")
		}
		if t.GetFeeQuote() != nil {
			return nil, accessDenied("ticket.fee_quote")
		}
		t = proto.CloneOf(t)
		t.Customer = actor.Name
	}
	var vs []apierr.Violation
	customerID, err := parseName("ticket.customer", t.GetCustomer(), resname.Customers)
	if err != nil {
		return nil, err
	}
	productID, err := productOf(t.GetProduct(), customerID)
	if err != nil {
		return nil, err
	}
	if t.GetType() == aftersalesv1.Ticket_TYPE_UNSPECIFIED {
		vs = append(vs, apierr.Violation{Field: "ticket.type", Description: "is required"})
	}
	if t.GetChannel() == aftersalesv1.Ticket_CHANNEL_UNSPECIFIED {
		vs = append(vs, apierr.Violation{Field: "ticket.channel", Description: "is required"})
	}
	if strings.TrimSpace(t.GetTitle()) == "" {
		vs = append(vs, apierr.Violation{Field: "ticket.title", Description: "is required"})
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	priority := t.GetPriority()
	if priority == aftersalesv1.Ticket_PRIORITY_UNSPECIFIED {
		priority = aftersalesv1.Ticket_NORMAL
	}

	return mutate(ctx, s.base, aftersalesv1.TicketService_CreateTicket_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Ticket, error) {
		now := s.now()
		warranty := aftersalesv1.WarrantyStatus_WARRANTY_STATUS_UNKNOWN
		look, err := lookUpForCreate(tx, customerID, productID, int32(priority))
		if err != nil {
			return nil, err
		}
		if !look.found {
			// Something is missing: find out what, one lookup at a time, in
			// the order the errors are documented.
			if err := createRefs(tx, t, customerID, productID); err != nil {
				return nil, err
			}
		} else if productID != "" {
			warranty = ticketflow.Warranty(deref(look.warrantyEndTime), now)
		}
		// Whoever receives the customer first owns the case (首问负责制).
		// Authentication already found this staff member active.
		firstContact := ""
		if actor.Kind == principal.Staff {
			firstContact = actor.ID()
		}
		row := &store.Ticket{
			CustomerID:     customerID,
			ProductID:      productID,
			Type:           int32(t.GetType()),
			Channel:        int32(t.GetChannel()),
			Priority:       int32(priority),
			Title:          strings.TrimSpace(t.GetTitle()),
			Description:    t.GetDescription(),
			FirstContactID: firstContact,
			WarrantyStatus: int32(warranty),
		}
		if t.GetFeeQuote() != nil {
			if err := legacyFeeQuoteAllowed(tx, actor, now); err != nil {
				return nil, err
			}
			if err := applyFeeQuote(row, t.GetFeeQuote()); err != nil {
				return nil, err
			}
		}
		policy := look.policy
		if policy == nil {
			if policy, err = slaPolicyFor(tx, row.Priority); err != nil {
				return nil, err
			}
		}
		openTicket(row, now, policy)
		if err := appendTicket(tx, row, actor, now); err != nil {
			return nil, err
		}
		return ticketProto(row), nil
	})
}

// createLookup is what CreateTicket reads before it writes: the SLA
// policy of the ticket's priority, and the product (or, for a ticket
// without one, the customer) it is about.
type createLookup struct {
	// policy has what a new ticket's clock needs (id, targets, pause
	// clock), nil when there is no policy for the priority.
	policy          *store.SlaPolicy
	warrantyEndTime *time.Time
	// found is whether the product (or customer) exists.
	found bool
}

// Statements of lookUpForCreate, for a ticket about a product and for one
// about the customer only.
const (
	lookUpWithProduct = "SELECT sla_policies.id, sla_policies.response_target_seconds, sla_policies.resolve_target_seconds, sla_policies.pause_clock, " +
		"products.id, products.warranty_end_time FROM sla_policies " +
		"LEFT JOIN products ON products.id = ? AND products.customer_id = ? WHERE sla_policies.priority = ? LIMIT 1"
	lookUpWithCustomer = "SELECT sla_policies.id, sla_policies.response_target_seconds, sla_policies.resolve_target_seconds, sla_policies.pause_clock, " +
		"customers.id, NULL FROM sla_policies " +
		"LEFT JOIN customers ON customers.id = ? WHERE sla_policies.priority = ? LIMIT 1"
)

// lookUpForCreate reads the SLA policy and the product (under the
// customer) or the customer in one statement, one round trip instead of
// two. Products are created under an existing customer and customers are
// never deleted, so finding the customer's product proves the customer
// exists too. It is every CreateTicket's one read, so it is scanned
// without GORM (store.ScanRow): GORM's statement building and reflection
// cost more CPU than the query's round trip.
func lookUpForCreate(tx *gorm.DB, customerID, productID string, priority int32) (*createLookup, error) {
	query, args := lookUpWithCustomer, []any{customerID, priority}
	if productID != "" {
		query, args = lookUpWithProduct, []any{productID, customerID, priority}
	}
	var (
		p   store.SlaPolicy
		ref sql.NullString
		end sql.NullTime
	)
	ok, err := store.ScanRow(tx, query, args, &p.ID, &p.ResponseTargetSeconds, &p.ResolveTargetSeconds, &p.PauseClock, &ref, &end)
	if err != nil || !ok {
		return &createLookup{}, err
	}
	l := &createLookup{policy: &p, found: ref.Valid}
	if end.Valid {
		l.warrantyEndTime = &end.Time
	}
	return l, nil
}

// createRefs explains why lookUpForCreate found nothing: the customer or
// the product is missing (INVALID_ARGUMENT), else nil and the SLA policy
// is (slaPolicyFor says so).
func createRefs(tx *gorm.DB, t *aftersalesv1.Ticket, customerID, productID string) error {
	if productID != "" {
		var p store.Product
		err := store.Translate(tx.Where("id = ? AND customer_id = ?", productID, customerID).Take(&p).Error)
		if !isNotFound(err) {
			return err
		}
	}
	if ok, err := exists(tx, &store.Customer{}, customerID); err != nil || !ok {
		return orErr(err, badReference("ticket.customer", t.GetCustomer()))
	}
	if productID != "" {
		return badReference("ticket.product", t.GetProduct())
	}
	return nil
}

// prepareTicket gives a new ticket row its id, state NEW, times and SLA
// clock from the policy of its priority. Maintenance visits open tickets
// this way, then adjust the clock before the row is queued
// (appendTicket); CreateTicket reads the policy with its other lookups
// and calls openTicket; campaigns, which read the policy once per batch,
// fill the row themselves.
func (b *base) prepareTicket(tx *gorm.DB, row *store.Ticket, now time.Time) error {
	p, err := slaPolicyFor(tx, row.Priority)
	if err != nil {
		return err
	}
	openTicket(row, now, p)
	return nil
}

// openTicket gives a new ticket row its id, state NEW, times and the SLA
// clock of policy p. The caller audits the creation (mutate does for
// CreateTicket).
func openTicket(row *store.Ticket, now time.Time, p *store.SlaPolicy) {
	row.ID = ids.New()
	row.State = int32(ticketflow.New)
	row.CreateTime, row.UpdateTime, row.Version = now, now, 1
	applySLA(row, p)
}

// appendTicket queues a new ticket with its CREATED timeline entry.
// Nothing in the transaction reads the new ticket back: its rows go with
// the audit and outbox rows, in one round trip.
func appendTicket(tx *gorm.DB, row *store.Ticket, actor principal.Principal, now time.Time) error {
	ev := newEvent(row, aftersalesv1.TicketEvent_CREATED, actor, now)
	ev.ToState = row.State
	return store.Append(tx, row, ev)
}

// planSLA sets the ticket's SLA clock from the policy of its priority,
// keeping time already spent paused out of the count.
func (b *base) planSLA(tx *gorm.DB, row *store.Ticket) error {
	p, err := slaPolicyFor(tx, row.Priority)
	if err != nil {
		return err
	}
	applySLA(row, p)
	return nil
}

// slaPolicyFor reads the SLA policy of a ticket priority; a priority
// without one is FAILED_PRECONDITION.
func slaPolicyFor(tx *gorm.DB, priority int32) (*store.SlaPolicy, error) {
	var p store.SlaPolicy
	if err := store.Translate(tx.Where("priority = ?", priority).Take(&p).Error); err != nil {
		if isNotFound(err) {
			return nil, apierr.Precondition(aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND, "SLA_POLICY", aftersalesv1.Ticket_Priority(priority).String(),
				"no SLA policy exists for priority "+aftersalesv1.Ticket_Priority(priority).String()+"; create one first")
		}
		return nil, err
	}
	return &p, nil
}

// applySLA sets the ticket's SLA clock from policy p.
func applySLA(row *store.Ticket, p *store.SlaPolicy) {
	c := clockOf(row).Replan(row.CreateTime, secs(p.ResponseTargetSeconds), secs(p.ResolveTargetSeconds), p.PauseClock)
	setClock(row, c)
	row.SlaPolicyID = p.ID
}

func (s *ticketServer) GetTicket(ctx context.Context, req *aftersalesv1.GetTicketRequest) (*aftersalesv1.Ticket, error) {
	id, err := parseName("name", req.GetName(), resname.Tickets)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	row, err := getRow[store.Ticket](ctx, s.base, ticketScope(s.db.Gorm(ctx), caller), id, req.GetName())
	if err != nil {
		return nil, err
	}
	t := ticketProto(row)
	if mayHaveQuote(row) {
		if _, err := attachQuotes(s.db.Gorm(ctx), t); err != nil {
			return nil, s.toStatus(ctx, err)
		}
	}
	return ticketView(caller, t), nil
}

func (s *ticketServer) ListTickets(ctx context.Context, req *aftersalesv1.ListTicketsRequest) (*aftersalesv1.ListTicketsResponse, error) {
	caller := principal.FromContext(ctx)
	rows, next, err := list[store.Ticket](ticketScope(s.db.Gorm(ctx).Model(&store.Ticket{}), caller), ticketList, listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
		scopedBy: ticketScopeColumn(caller),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListTicketsResponse{NextPageToken: next}
	var quoted []*aftersalesv1.Ticket
	for i := range rows {
		resp.Tickets = append(resp.Tickets, ticketProto(&rows[i]))
		if mayHaveQuote(&rows[i]) {
			quoted = append(quoted, resp.Tickets[i])
		}
	}
	if _, err := attachQuotes(s.db.Gorm(ctx), quoted...); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	for i, t := range resp.Tickets {
		resp.Tickets[i] = ticketView(caller, t)
	}
	return resp, nil
}

func (s *ticketServer) UpdateTicket(ctx context.Context, req *aftersalesv1.UpdateTicketRequest) (*aftersalesv1.Ticket, error) {
	t := req.GetTicket()
	id, err := parseName("ticket.name", t.GetName(), resname.Tickets)
	if err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	updatable := ticketUpdatable
	if workColumn(actor) != "" {
		// Those doing the work report and quote; priority, type and the
		// SLA are the desk's to decide.
		updatable = ticketWorkerUpdatable
		for _, p := range maskPaths(req.GetUpdateMask()) {
			if slices.Contains(ticketUpdatable, p) && !slices.Contains(updatable, p) {
				return nil, accessDenied("ticket." + p)
			}
		}
	}
	paths, err := updatePaths(req.GetUpdateMask(), updatable)
	if err != nil {
		return nil, err
	}
	var vs []apierr.Violation
	for _, p := range paths {
		switch {
		case p == "title" && strings.TrimSpace(t.GetTitle()) == "":
			vs = append(vs, apierr.Violation{Field: "ticket.title", Description: "is required"})
		case p == "type" && t.GetType() == aftersalesv1.Ticket_TYPE_UNSPECIFIED:
			vs = append(vs, apierr.Violation{Field: "ticket.type", Description: "is required"})
		case p == "priority" && t.GetPriority() == aftersalesv1.Ticket_PRIORITY_UNSPECIFIED:
			vs = append(vs, apierr.Violation{Field: "ticket.priority", Description: "is required"})
		}
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	var out *aftersalesv1.Ticket
	err = s.db.InTx(ctx, func(tx *gorm.DB) error {
		row, err := s.load(tx, actor, id, t.GetName(), t.GetEtag())
		if err != nil {
			return err
		}
		if _, err := ticketflow.Next(ticketflow.State(row.State), ticketflow.Update); err != nil {
			return err
		}
		before := ticketProto(row)
		hasQuote := false
		if mayHaveQuote(row) {
			if hasQuote, err = attachQuotes(tx, before); err != nil {
				return err
			}
		}
		now := s.now()
		ev := newEvent(row, aftersalesv1.TicketEvent_UPDATED, actor, now)
		for _, p := range paths {
			switch p {
			case "title":
				row.Title = strings.TrimSpace(t.GetTitle())
			case "description":
				row.Description = t.GetDescription()
			case "type":
				row.Type = int32(t.GetType())
			case "priority":
				if row.Priority != int32(t.GetPriority()) {
					row.Priority = int32(t.GetPriority())
					if err := s.planSLA(tx, row); err != nil {
						return err
					}
				}
			case "product":
				pid, err := productOf(t.GetProduct(), row.CustomerID)
				if err != nil {
					return err
				}
				if err := s.setProduct(tx, row, pid, t.GetProduct(), now); err != nil {
					return err
				}
			case "fee_quote":
				if skip, err := checkFeeQuoteUpdate(tx, actor, row, t.GetName(), t.GetFeeQuote(), now); err != nil {
					return err
				} else if skip {
					continue
				}
				if err := applyFeeQuote(row, t.GetFeeQuote()); err != nil {
					return err
				}
			}
			ev.setDetail(p, ticketFieldString(row, p))
		}
		if err := s.saveTicket(tx, row, ev, now); err != nil {
			return err
		}
		out = ticketProto(row)
		if hasQuote {
			if _, err := attachQuotes(tx, out); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, tx, t.GetName(), before, out); err != nil {
			return err
		}
		out = ticketView(actor, out)
		return nil
	})
	return out, s.toStatus(ctx, err)
}

// setProduct links the ticket to another product of its customer and
// takes the warranty status from it.
func (s *ticketServer) setProduct(tx *gorm.DB, row *store.Ticket, productID, name string, now time.Time) error {
	row.ProductID = productID
	row.WarrantyStatus = int32(aftersalesv1.WarrantyStatus_WARRANTY_STATUS_UNKNOWN)
	if productID == "" {
		return nil
	}
	var p store.Product
	err := store.Translate(tx.Where("id = ? AND customer_id = ?", productID, row.CustomerID).Take(&p).Error)
	if isNotFound(err) {
		return badReference("ticket.product", name)
	} else if err != nil {
		return err
	}
	row.WarrantyStatus = int32(ticketflow.Warranty(deref(p.WarrantyEndTime), now))
	return nil
}

// load reads and locks the ticket for a change, checking the etag. A
// ticket outside the caller's scope is NOT_FOUND.
func (s *ticketServer) load(tx *gorm.DB, caller principal.Principal, id, name, sentEtag string) (*store.Ticket, error) {
	var row store.Ticket
	if err := lockRow(ticketWriteScope(tx, caller), &row, id); err != nil {
		if isNotFound(err) {
			return nil, notFound(name)
		}
		return nil, err
	}
	if err := checkEtag(sentEtag, name, row.Version); err != nil {
		return nil, err
	}
	return &row, nil
}

// saveTicket writes a changed ticket and its timeline event. The
// first-contact owner is told of every state change (API.md §4).
func (b *base) saveTicket(tx *gorm.DB, row *store.Ticket, ev *event, now time.Time) error {
	if ev.ToState != 0 {
		ev.notify(row.FirstContactID)
	}
	row.UpdateTime, row.Version = now, row.Version+1
	if err := store.Translate(tx.Save(row).Error); err != nil {
		return err
	}
	if err := store.Translate(tx.Create(ev.row()).Error); err != nil {
		return err
	}
	// A campaign's ticket moves its target (campaign_ticket.go).
	return b.campaignTicketMoved(tx, row, ev, now)
}

// transition is the shape of every state-changing method: parse the name,
// then in one idempotent transaction lock the ticket, check the etag and
// the state machine, apply the method's own change, and record the event.
func (s *ticketServer) transition(ctx context.Context, method string, req idempotent, name, sentEtag string,
	action ticketflow.Action, typ aftersalesv1.TicketEvent_Type, apply func(tx *gorm.DB, row *store.Ticket, ev *event, now time.Time) error,
) (*aftersalesv1.Ticket, error) {
	id, err := parseName("name", name, resname.Tickets)
	if err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	return mutate(ctx, s.base, method, req, func(tx *gorm.DB) (*aftersalesv1.Ticket, error) {
		row, err := s.load(tx, actor, id, name, sentEtag)
		if err != nil {
			return nil, err
		}
		from := ticketflow.State(row.State)
		to, err := ticketflow.Next(from, action)
		if err != nil {
			return nil, err
		}
		// The quote is part of the ticket as audited; only the answer is
		// trimmed to what the caller may see (ticketView).
		before := ticketProto(row)
		hasQuote := false
		if mayHaveQuote(row) {
			if hasQuote, err = attachQuotes(tx, before); err != nil {
				return nil, err
			}
		}
		now := s.now()
		ev := newEvent(row, typ, actor, now)
		if err := apply(tx, row, ev, now); err != nil {
			return nil, err
		}
		if to != from {
			row.State = int32(to)
			ev.FromState, ev.ToState = int32(from), int32(to)
		}
		if err := s.endMaintenanceVisit(ctx, tx, row, now); err != nil {
			return nil, err
		}
		if err := s.saveTicket(tx, row, ev, now); err != nil {
			return nil, err
		}
		after := ticketProto(row)
		if hasQuote || method == aftersalesv1.TicketService_QuoteTicket_FullMethodName {
			if _, err := attachQuotes(tx, after); err != nil {
				return nil, err
			}
		}
		if err := s.audit(ctx, tx, name, before, after); err != nil {
			return nil, err
		}
		return ticketView(actor, after), nil
	})
}

func (s *ticketServer) AssignTicket(ctx context.Context, req *aftersalesv1.AssignTicketRequest) (*aftersalesv1.Ticket, error) {
	staffID, err := optionalName("assignee", req.GetAssignee(), resname.Staff)
	if err != nil {
		return nil, err
	}
	partnerID, err := optionalName("partner", req.GetPartner(), resname.Partners)
	if err != nil {
		return nil, err
	}
	if caller := principal.FromContext(ctx); caller.Role == principal.RolePartner {
		// A shop dispatches its own work to its own technicians.
		if partnerID != "" && partnerID != caller.ID() {
			return nil, accessDenied("partner")
		}
		partnerID = caller.ID()
		if staffID == "" {
			return nil, apierr.InvalidField("assignee", "is required: a shop assigns to one of its technicians")
		}
	}
	if staffID == "" && partnerID == "" {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION,
			apierr.Violation{Field: "assignee", Description: "assignee or partner is required"},
			apierr.Violation{Field: "partner", Description: "assignee or partner is required"})
	}
	return s.transition(ctx, aftersalesv1.TicketService_AssignTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Assign, aftersalesv1.TicketEvent_ASSIGNED,
		func(tx *gorm.DB, row *store.Ticket, ev *event, _ time.Time) error {
			// A copy: InTx may rerun this, and each run must start from
			// the request's partner, not one a rolled-back run found.
			partnerID := partnerID
			if staffID != "" {
				var st store.Staff
				err := store.Translate(staffScope(tx, principal.FromContext(ctx)).Where("id = ?", staffID).Take(&st).Error)
				if isNotFound(err) {
					return badReference("assignee", req.GetAssignee())
				} else if err != nil {
					return err
				}
				if err := eligibleStaff(tx, &st, s.now()); err != nil {
					return err
				}
				// A partner-shop technician brings their shop along.
				if partnerID == "" {
					partnerID = st.PartnerID
				} else if st.PartnerID != "" && st.PartnerID != partnerID {
					return apierr.InvalidField("assignee", "works for another partner than "+req.GetPartner())
				}
			}
			if partnerID != "" {
				var p store.Partner
				err := store.Translate(tx.Where("id = ?", partnerID).Take(&p).Error)
				if isNotFound(err) {
					return badReference("partner", req.GetPartner())
				} else if err != nil {
					return err
				}
				if err := eligiblePartner(tx, &p, s.now()); err != nil {
					return err
				}
			}
			row.AssigneeID, row.PartnerID = staffID, partnerID
			ev.Message = req.GetNote()
			ev.setDetail("assignee", refName(resname.Staff, staffID))
			ev.setDetail("partner", refName(resname.Partners, partnerID))
			ev.notify(staffID)
			ev.notifyName(refName(resname.Partners, partnerID))
			return nil
		})
}

func (s *ticketServer) AcceptTicket(ctx context.Context, req *aftersalesv1.AcceptTicketRequest) (*aftersalesv1.Ticket, error) {
	return s.transition(ctx, aftersalesv1.TicketService_AcceptTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Accept, aftersalesv1.TicketEvent_ACCEPTED,
		func(_ *gorm.DB, row *store.Ticket, _ *event, now time.Time) error {
			setClock(row, clockOf(row).Respond(now))
			return nil
		})
}

// feeExempt are the ticket types that never carry a fee.
var feeExempt = map[int32]bool{int32(aftersalesv1.Ticket_CONSULTATION): true}

func (s *ticketServer) StartTicket(ctx context.Context, req *aftersalesv1.StartTicketRequest) (*aftersalesv1.Ticket, error) {
	return s.transition(ctx, aftersalesv1.TicketService_StartTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Start, aftersalesv1.TicketEvent_STARTED,
		func(tx *gorm.DB, row *store.Ticket, _ *event, _ time.Time) error {
			if row.WarrantyStatus == int32(aftersalesv1.WarrantyStatus_WARRANTY_STATUS_OUT_OF_WARRANTY) && !feeExempt[row.Type] &&
				row.FeeApproval != int32(aftersalesv1.FeeQuote_APPROVED) {
				state := approvalText(aftersalesv1.FeeQuote_ApprovalState(row.FeeApproval))
				// A schedule quote says more: it may still wait for a
				// manager, not for the customer.
				var q store.TicketQuote
				if err := tx.Select("state").Where("ticket_id = ?", row.ID).Take(&q).Error; err == nil {
					state = aftersalesv1.Quote_State(q.State).String()
				}
				desc := "out-of-warranty work needs a fee quote approved by the customer before it starts; quote is " + state
				return apierr.Precondition(aftersalesv1.ErrorReason_FEE_APPROVAL_REQUIRED, "FEE_QUOTE", req.GetName(), desc)
			}
			return nil
		})
}

func approvalText(s aftersalesv1.FeeQuote_ApprovalState) string {
	if s == aftersalesv1.FeeQuote_APPROVAL_STATE_UNSPECIFIED {
		return "missing"
	}
	return s.String()
}

func (s *ticketServer) PauseTicket(ctx context.Context, req *aftersalesv1.PauseTicketRequest) (*aftersalesv1.Ticket, error) {
	return s.transition(ctx, aftersalesv1.TicketService_PauseTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Pause, aftersalesv1.TicketEvent_PAUSED,
		func(_ *gorm.DB, row *store.Ticket, ev *event, now time.Time) error {
			setClock(row, clockOf(row).Pause(now))
			row.PauseReason = req.GetReason()
			ev.Message = req.GetReason()
			return nil
		})
}

func (s *ticketServer) ResumeTicket(ctx context.Context, req *aftersalesv1.ResumeTicketRequest) (*aftersalesv1.Ticket, error) {
	return s.transition(ctx, aftersalesv1.TicketService_ResumeTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Resume, aftersalesv1.TicketEvent_RESUMED,
		func(_ *gorm.DB, row *store.Ticket, ev *event, now time.Time) error {
			before := row.PausedSeconds
			setClock(row, clockOf(row).Resume(now))
			row.PauseReason = ""
			ev.setDetail("paused_seconds", itoa(row.PausedSeconds-before))
			return nil
		})
}

func (s *ticketServer) ResolveTicket(ctx context.Context, req *aftersalesv1.ResolveTicketRequest) (*aftersalesv1.Ticket, error) {
	r := req.GetResolution()
	return s.transition(ctx, aftersalesv1.TicketService_ResolveTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Resolve, aftersalesv1.TicketEvent_RESOLVED,
		func(tx *gorm.DB, row *store.Ticket, ev *event, now time.Time) error {
			row.FaultCategory, row.FaultCode, row.Resolution = r.GetFaultCategory(), r.GetFaultCode(), r.GetSummary()
			row.PartsUsed = marshalJSON(&aftersalesv1.Resolution{Parts: r.GetParts()})
			row.LaborSeconds = int64(r.GetLabor().AsDuration() / time.Second)
			row.ChargedCurrency, row.ChargedMinor = r.GetFeeCharged().GetCurrencyCode(), r.GetFeeCharged().GetMinorUnits()
			// The customer pays what they approved, never more (quote.go).
			if err := chargeWithinQuote(tx, row, req.GetName(), r.GetFeeCharged()); err != nil {
				return err
			}
			row.ResolveTime = &now
			ev.Message = r.GetSummary()
			ev.setDetail("fault", r.GetFaultCategory()+"/"+r.GetFaultCode())
			// Warranty work is claimed, in this transaction (claim_ticket.go).
			if err := s.claimResolved(ctx, tx, row, r.GetParts(), now); err != nil {
				return err
			}
			// Every resolution is followed up (回访), in this transaction.
			followUp, err := s.scheduleFollowUp(ctx, tx, row, now)
			ev.setDetail("follow_up", followUp)
			return err
		})
}

func (s *ticketServer) CloseTicket(ctx context.Context, req *aftersalesv1.CloseTicketRequest) (*aftersalesv1.Ticket, error) {
	return s.transition(ctx, aftersalesv1.TicketService_CloseTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Close, aftersalesv1.TicketEvent_CLOSED,
		func(_ *gorm.DB, row *store.Ticket, ev *event, now time.Time) error {
			row.CloseTime = &now
			ev.Message = req.GetNote()
			return nil
		})
}

func (s *ticketServer) ReopenTicket(ctx context.Context, req *aftersalesv1.ReopenTicketRequest) (*aftersalesv1.Ticket, error) {
	return s.transition(ctx, aftersalesv1.TicketService_ReopenTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Reopen, aftersalesv1.TicketEvent_REOPENED,
		func(tx *gorm.DB, row *store.Ticket, ev *event, now time.Time) error {
			ev.Message = req.GetReason()
			// A reopening soon after the resolution holds its warranty claim.
			if err := s.holdClaim(ctx, tx, row.ID, now); err != nil {
				return err
			}
			// The resolution the follow-up would ask about no longer stands.
			return s.cancelAutomaticFollowUps(ctx, tx, row.ID, "the ticket was reopened", now)
		})
}

func (s *ticketServer) CancelTicket(ctx context.Context, req *aftersalesv1.CancelTicketRequest) (*aftersalesv1.Ticket, error) {
	return s.transition(ctx, aftersalesv1.TicketService_CancelTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Cancel, aftersalesv1.TicketEvent_CANCELLED,
		func(_ *gorm.DB, row *store.Ticket, ev *event, now time.Time) error {
			if principal.FromContext(ctx).Role == principal.RoleCustomer && row.State != int32(ticketflow.New) {
				return apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", aftersalesv1.Ticket_State(row.State).String(),
					"a customer may withdraw a ticket only while it is NEW; it is "+aftersalesv1.Ticket_State(row.State).String()+"; ask the call center")
			}
			row.CloseTime = &now
			ev.Message = req.GetReason()
			return nil
		})
}

func (s *ticketServer) EscalateTicket(ctx context.Context, req *aftersalesv1.EscalateTicketRequest) (*aftersalesv1.Ticket, error) {
	return s.transition(ctx, aftersalesv1.TicketService_EscalateTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Escalate, aftersalesv1.TicketEvent_ESCALATED,
		func(_ *gorm.DB, row *store.Ticket, ev *event, _ time.Time) error {
			row.EscalationLevel++
			ev.Message = req.GetReason()
			ev.setDetail("escalation_level", itoa(int64(row.EscalationLevel)))
			ev.notify(row.FirstContactID)
			return nil
		})
}

func (s *ticketServer) ApproveTicketFee(ctx context.Context, req *aftersalesv1.ApproveTicketFeeRequest) (*aftersalesv1.Ticket, error) {
	return s.transition(ctx, aftersalesv1.TicketService_ApproveTicketFee_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Decide, aftersalesv1.TicketEvent_FEE_DECIDED,
		func(tx *gorm.DB, row *store.Ticket, ev *event, now time.Time) error {
			// A quote from the fee schedule, when the ticket has one, is
			// what the customer decides on (quote.go).
			if handled, err := decideQuote(tx, row, ev, now, req); handled || err != nil {
				return err
			}
			if row.FeeApproval == int32(aftersalesv1.FeeQuote_APPROVAL_STATE_UNSPECIFIED) {
				return apierr.Precondition(aftersalesv1.ErrorReason_FEE_APPROVAL_REQUIRED, "FEE_QUOTE", req.GetName(), "the ticket has no fee quote to decide on; set fee_quote with UpdateTicket first")
			}
			decision := aftersalesv1.FeeQuote_DECLINED
			if req.GetApproved() {
				decision = aftersalesv1.FeeQuote_APPROVED
			}
			row.FeeApproval, row.FeeDecideTime = int32(decision), &now
			ev.Message = req.GetNote()
			ev.setDetail("approval_state", decision.String())
			return nil
		})
}

func (s *ticketServer) AddTicketComment(ctx context.Context, req *aftersalesv1.AddTicketCommentRequest) (*aftersalesv1.TicketEvent, error) {
	id, err := parseName("parent", req.GetParent(), resname.Tickets)
	if err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	if req.GetInternal() && !seesInternal(actor) {
		return nil, accessDenied("internal")
	}
	return mutate(ctx, s.base, aftersalesv1.TicketService_AddTicketComment_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.TicketEvent, error) {
		row, err := s.load(tx, actor, id, req.GetParent(), "")
		if err != nil {
			return nil, err
		}
		now := s.now()
		ev := newEvent(row, aftersalesv1.TicketEvent_COMMENTED, actor, now)
		ev.Message, ev.Internal = req.GetMessage(), req.GetInternal()
		// A staff member's comment to the customer is a response (API.md
		// §4); an internal note is not.
		if actor.Kind == principal.Staff && !req.GetInternal() && row.FirstResponseTime == nil {
			setClock(row, clockOf(row).Respond(now))
			if err := s.saveTicket(tx, row, ev, now); err != nil {
				return nil, err
			}
		} else if err := store.Translate(tx.Create(ev.row()).Error); err != nil {
			return nil, err
		}
		return eventProto(ev.row()), nil
	})
}

func (s *ticketServer) ListTicketEvents(ctx context.Context, req *aftersalesv1.ListTicketEventsRequest) (*aftersalesv1.ListTicketEventsResponse, error) {
	id, err := parseName("parent", req.GetParent(), resname.Tickets)
	if err != nil {
		return nil, err
	}
	rows, next, err := listTimeline[store.TicketEvent](ctx, s.base, ticketScope, &store.Ticket{}, "ticket_id", id, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &aftersalesv1.ListTicketEventsResponse{NextPageToken: next}
	for i := range rows {
		resp.Events = append(resp.Events, eventProto(&rows[i]))
	}
	return resp, nil
}

// productOf parses an optional product reference and checks it belongs to
// the ticket's customer.
func productOf(name, customerID string) (string, error) {
	if name == "" {
		return "", nil
	}
	ids, ok := resname.Parse(name, resname.Customers, resname.Products)
	if !ok {
		return "", apierr.InvalidField("ticket.product", "must be a resource name of the form customers/{customer}/products/{product}")
	}
	if ids[0] != customerID {
		return "", apierr.InvalidField("ticket.product", "must belong to the ticket's customer")
	}
	return ids[1], nil
}

// applyFeeQuote sets a new quote, which always needs a new decision.
func applyFeeQuote(row *store.Ticket, q *aftersalesv1.FeeQuote) error {
	if q == nil {
		row.FeeCurrency, row.FeeLaborMinor, row.FeePartsMinor, row.FeeDescription = "", 0, 0, ""
		row.FeeApproval, row.FeeDecideTime = int32(aftersalesv1.FeeQuote_APPROVAL_STATE_UNSPECIFIED), nil
		return nil
	}
	cur := q.GetLabor().GetCurrencyCode()
	if cur == "" {
		cur = q.GetParts().GetCurrencyCode()
	}
	if q.GetParts().GetCurrencyCode() != "" && q.GetParts().GetCurrencyCode() != cur {
		return apierr.InvalidField("ticket.fee_quote.parts.currency_code", "must equal the labor currency "+cur)
	}
	if cur == "" {
		return apierr.InvalidField("ticket.fee_quote.labor.currency_code", "is required")
	}
	row.FeeCurrency, row.FeeLaborMinor, row.FeePartsMinor = cur, q.GetLabor().GetMinorUnits(), q.GetParts().GetMinorUnits()
	row.FeeDescription = q.GetDescription()
	row.FeeApproval, row.FeeDecideTime = int32(aftersalesv1.FeeQuote_PENDING), nil
	return nil
}

// orErr returns err if set, else fallback: for "lookup failed or found
// nothing" checks.
func orErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// refName formats an optional reference; an empty id stays empty.
func refName(collection, id string) string {
	if id == "" {
		return ""
	}
	return resname.Format(collection, id)
}
