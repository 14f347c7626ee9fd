package service

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/complaintflow"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

type complaintServer struct {
	aftersalesv1.UnimplementedComplaintServiceServer
	*base
}

// complaintSeed is what another part of the platform (a follow-up whose
// survey shows an unhappy customer) gives to open a complaint.
type complaintSeed struct {
	CustomerID, TicketID, ProductID, FollowUpID string
	Channel                                     aftersalesv1.Ticket_Channel
	Category                                    aftersalesv1.Complaint_Category
	Severity                                    aftersalesv1.Complaint_Severity
	Title, Description                          string
}

// openComplaint records a new complaint from seed inside tx, with its
// deadlines and timeline, and returns its resource name. The caller
// vouches for the seed's references; the creation is audited here since
// no Create method's transaction does it.
func (b *base) openComplaint(ctx context.Context, tx *gorm.DB, seed complaintSeed) (string, error) {
	category := seed.Category
	if category == aftersalesv1.Complaint_CATEGORY_UNSPECIFIED {
		category = aftersalesv1.Complaint_OTHER
	}
	row := &store.Complaint{
		CustomerID:  seed.CustomerID,
		TicketID:    seed.TicketID,
		ProductID:   seed.ProductID,
		FollowUpID:  seed.FollowUpID,
		Channel:     int32(seed.Channel),
		Category:    int32(category),
		Severity:    int32(seed.Severity),
		Title:       seed.Title,
		Description: seed.Description,
	}
	if err := b.receiveComplaint(ctx, tx, row); err != nil {
		return "", err
	}
	name := resname.Format(resname.Complaints, row.ID)
	return name, b.audit(ctx, tx, name, nil, complaintProto(row))
}

// receiveComplaint is the receipt of every complaint, however it comes
// in: it records row (whose fields from the complainant are set) in state
// RECEIVED by the caller, plans its deadlines, writes the CREATED event,
// and escalates a CRITICAL (safety) complaint at once.
func (b *base) receiveComplaint(ctx context.Context, tx *gorm.DB, row *store.Complaint) error {
	actor := principal.FromContext(ctx)
	now := b.now()
	if row.Severity == int32(aftersalesv1.Complaint_SEVERITY_UNSPECIFIED) {
		row.Severity = int32(aftersalesv1.Complaint_MEDIUM)
	}
	row.ID = ids.New()
	row.State = int32(complaintflow.Received)
	if actor.Kind == principal.Staff {
		row.ReceivedByID = actor.ID()
	}
	row.CreateTime, row.UpdateTime, row.Version = now, now, 1
	d := b.complaintDeadline(aftersalesv1.Complaint_Severity(row.Severity))
	row.AcknowledgeDue, row.ResolveDue = now.Add(d.Acknowledge), now.Add(d.Resolve)
	planCheck(row, now)
	if err := store.Translate(tx.Create(row).Error); err != nil {
		return err
	}
	ev := newComplaintEvent(row, aftersalesv1.ComplaintEvent_CREATED, actor, now)
	ev.ToState = row.State
	ev.setDetail("severity", aftersalesv1.Complaint_Severity(row.Severity).String())
	ev.setDetail("category", aftersalesv1.Complaint_Category(row.Category).String())
	if err := store.Translate(tx.Create(ev.row()).Error); err != nil {
		return err
	}
	if row.Severity != int32(aftersalesv1.Complaint_CRITICAL) {
		return nil
	}
	esc := newComplaintEvent(row, aftersalesv1.ComplaintEvent_ESCALATED, actor, now)
	esc.Message = "safety complaint: escalated on receipt"
	if err := b.escalateComplaint(ctx, tx, row, esc); err != nil {
		return err
	}
	row.Version++
	if err := store.Translate(tx.Save(row).Error); err != nil {
		return err
	}
	return store.Translate(tx.Create(esc.row()).Error)
}

// complaintDeadline is the deadlines of a severity; MEDIUM's when the
// severity is unset.
func (b *base) complaintDeadline(s aftersalesv1.Complaint_Severity) config.ComplaintDeadline {
	if s == aftersalesv1.Complaint_SEVERITY_UNSPECIFIED {
		s = aftersalesv1.Complaint_MEDIUM
	}
	if d, ok := b.rules.ComplaintDeadlines[s]; ok {
		return d
	}
	return config.DefaultComplaintDeadlines()[s]
}

// escalateComplaint raises row's escalation level by one and hands its
// oversight up the line: first to the manager of the handler (of whoever
// received it, while nobody handles it, or of the linked ticket's
// first-contact owner for a complaint filed in the app), then each time to
// the manager of the one it was escalated to. At the top of the line it
// stays there. A complaint that has never been escalated to anyone and
// finds no manager above goes to the complaints desk (deskTarget), and
// climbs from there. It fills ev, an ESCALATED event, which is for staff
// only; the caller saves row and ev.
func (b *base) escalateComplaint(ctx context.Context, tx *gorm.DB, row *store.Complaint, ev *complaintEvent) error {
	below := row.EscalatedToID
	if below == "" {
		below = row.HandlerID
		if below == "" {
			below = row.ReceivedByID
		}
	}
	if below == "" && row.TicketID != "" {
		// Filed from the app with no handler yet: the ticket's
		// first-contact owner owns the customer's case (首问负责制), so
		// their manager answers for it.
		var t store.Ticket
		if err := store.Translate(tx.Select("first_contact_id").Where("id = ?", row.TicketID).Take(&t).Error); err != nil && !isNotFound(err) {
			return err
		}
		below = t.FirstContactID
	}
	up, err := managerOf(tx, below)
	if err != nil {
		return err
	}
	if up == "" && row.EscalatedToID == "" {
		if up, err = b.deskTarget(ctx, tx, below); err != nil {
			return err
		}
		if up != "" {
			ev.setDetail("escalated_via", "complaint_desk")
		}
	}
	if up != "" {
		row.EscalatedToID = up
	}
	row.EscalationLevel++
	ev.Internal = true
	ev.setDetail("escalation_level", itoa(int64(row.EscalationLevel)))
	ev.setDetail("escalated_to", refName(resname.Staff, row.EscalatedToID))
	ev.notify(row.EscalatedToID)
	ev.notify(row.HandlerID)
	return nil
}

// planCheck sets when the overdue loop next looks at row: at the
// deadline it waits for, never for a complaint that was answered. A
// deadline already missed keeps the time the loop set for its next
// escalation.
func planCheck(row *store.Complaint, now time.Time) {
	var due time.Time
	switch state := complaintflow.State(row.State); {
	case !complaintflow.IsOpen(state):
		row.NextCheckTime = nil
		return
	case state == complaintflow.Received && !row.AcknowledgeOverdue:
		due = row.AcknowledgeDue
	case state != complaintflow.Received && !row.ResolveOverdue:
		due = row.ResolveDue
	case row.NextCheckTime != nil:
		return
	default:
		due = now
	}
	row.NextCheckTime = &due
}

// managerOf returns the id of a staff member's manager, "" when there is
// no such staff member or they have no manager.
func managerOf(tx *gorm.DB, staffID string) (string, error) {
	if staffID == "" {
		return "", nil
	}
	var ids []string
	if err := tx.Model(&store.Staff{}).Where("id = ?", staffID).Limit(1).Pluck("manager_id", &ids).Error; err != nil {
		return "", store.Translate(err)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// complaintScope limits a complaints query to the caller's complaints:
// the desk sees all, customers their own, everyone else none.
func complaintScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager, principal.RoleAgent:
		return q
	case principal.RoleCustomer:
		return q.Where("customer_id = ?", p.ID())
	}
	return q.Where(nothing)
}

var complaintList = listSpec{orderBy: complaintOrders, indexes: complaintIndexes, columns: []column{
	{field: filter.Field{Name: "state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Complaint_State_name)}, name: "state", conv: enumValue(aftersalesv1.Complaint_State_value)},
	{field: filter.Field{Name: "category", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Complaint_Category_name)}, name: "category", conv: enumValue(aftersalesv1.Complaint_Category_value)},
	{field: filter.Field{Name: "severity", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Complaint_Severity_name)}, name: "severity", conv: enumValue(aftersalesv1.Complaint_Severity_value)},
	{field: filter.Field{Name: "customer"}, name: "customer_id", conv: nameValue(resname.Customers)},
	{field: filter.Field{Name: "ticket"}, name: "ticket_id", conv: nameValue(resname.Tickets)},
	{field: filter.Field{Name: "handler"}, name: "handler_id", conv: nameValue(resname.Staff)},
	{field: filter.Field{Name: "responsible_staff"}, name: "responsible_staff_id", conv: nameValue(resname.Staff)},
	{field: filter.Field{Name: "escalated_to"}, name: "escalated_to_id", conv: nameValue(resname.Staff)},
	{field: filter.Field{Name: "escalation_level", Kind: filter.KindInt}, name: "escalation_level"},
	{field: filter.Field{Name: "acknowledge_overdue", Kind: filter.KindBool}, name: "acknowledge_overdue"},
	{field: filter.Field{Name: "resolve_overdue", Kind: filter.KindBool}, name: "resolve_overdue"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

// complaintIndexes are the complaints' indexes a list reads in order
// (listSpec.forcedIndex).
var complaintIndexes = []orderIndex{
	{"idx_complaints_state", []string{"state"}, "create_time"},
	{"idx_complaints_customer", []string{"customer_id"}, "create_time"},
	{"idx_complaints_handler", []string{"handler_id"}, "create_time"},
	{"idx_complaints_state_ack", []string{"state"}, "acknowledge_due"},
	{"idx_complaints_state_resolve", []string{"state"}, "resolve_due"},
}

// complaintOrders are the complaint queues' orders besides create_time:
// by the acknowledgement or the resolution deadline, named as the
// Complaint's fields (AIP-132). The "_time" names came first (tickets
// order by sla.resolve_due_time) and stay, so released clients keep
// working.
var complaintOrders = map[string]string{
	"acknowledge_due": "acknowledge_due", "resolve_due": "resolve_due",
	"acknowledge_due_time": "acknowledge_due", "resolve_due_time": "resolve_due",
}

// complaintCustomerList is complaintList without the fields customers do
// not see, so that they cannot learn them by filtering either.
var complaintCustomerList = listSpec{orderBy: complaintOrders, columns: slices.DeleteFunc(slices.Clone(complaintList.columns), func(c column) bool {
	return c.field.Name == "responsible_staff" || c.field.Name == "escalated_to"
})}

func (s *complaintServer) CreateComplaint(ctx context.Context, req *aftersalesv1.CreateComplaintRequest) (*aftersalesv1.Complaint, error) {
	c := req.GetComplaint()
	actor := principal.FromContext(ctx)
	channel := c.GetChannel()
	if actor.Role == principal.RoleCustomer {
		// Customers complain for themselves, from the app, and do not
		// name who inside the company is to blame.
		if c.GetCustomer() != "" && c.GetCustomer() != actor.Name {
			return nil, accessDenied("complaint.customer")
		}
		if c.GetResponsibleStaff() != "" {
			return nil, accessDenied("complaint.responsible_staff")
		}
		c = proto.CloneOf(c)
		c.Customer = actor.Name
		if channel == aftersalesv1.Ticket_CHANNEL_UNSPECIFIED {
			channel = aftersalesv1.Ticket_APP
		}
	} else if channel == aftersalesv1.Ticket_CHANNEL_UNSPECIFIED {
		// The call center takes complaints on the phone.
		channel = aftersalesv1.Ticket_PHONE
	}
	customerID, err := parseName("complaint.customer", c.GetCustomer(), resname.Customers)
	if err != nil {
		return nil, err
	}
	links, err := parseComplaintLinks(c, nil)
	if err != nil {
		return nil, err
	}
	var vs []apierr.Violation
	if c.GetCategory() == aftersalesv1.Complaint_CATEGORY_UNSPECIFIED {
		vs = append(vs, apierr.Violation{Field: "complaint.category", Description: "is required"})
	}
	if strings.TrimSpace(c.GetTitle()) == "" {
		vs = append(vs, apierr.Violation{Field: "complaint.title", Description: "is required"})
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	return mutate(ctx, s.base, aftersalesv1.ComplaintService_CreateComplaint_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Complaint, error) {
		if ok, err := exists(tx, &store.Customer{}, customerID); err != nil || !ok {
			return nil, orErr(err, badReference("complaint.customer", c.GetCustomer()))
		}
		row := &store.Complaint{
			CustomerID:    customerID,
			Channel:       int32(channel),
			Category:      int32(c.GetCategory()),
			Severity:      int32(c.GetSeverity()),
			Title:         strings.TrimSpace(c.GetTitle()),
			Description:   c.GetDescription(),
			DesiredRemedy: int32(c.GetDesiredRemedy()),
		}
		if err := links.apply(tx, row); err != nil {
			return nil, err
		}
		if err := s.receiveComplaint(ctx, tx, row); err != nil {
			return nil, err
		}
		return complaintFor(complaintProto(row), actor), nil
	})
}

// complaintLinks are the parsed references a complaint may carry; set
// says which of them the request changes.
type complaintLinks struct {
	c                                    *aftersalesv1.Complaint
	set                                  map[string]bool
	ticketID, productCustomer, productID string
	responsibleID                        string
}

// parseComplaintLinks parses the complaint's ticket, product and
// responsible staff member; paths, when not nil, limits it to those.
func parseComplaintLinks(c *aftersalesv1.Complaint, paths []string) (*complaintLinks, error) {
	l := &complaintLinks{c: c, set: map[string]bool{"ticket": true, "product": true, "responsible_staff": true}}
	if paths != nil {
		l.set = map[string]bool{}
		for _, p := range paths {
			l.set[p] = true
		}
	}
	var err error
	if l.set["ticket"] {
		if l.ticketID, err = optionalName("complaint.ticket", c.GetTicket(), resname.Tickets); err != nil {
			return nil, err
		}
	}
	if l.set["product"] && c.GetProduct() != "" {
		ids, ok := resname.Parse(c.GetProduct(), resname.Customers, resname.Products)
		if !ok {
			return nil, apierr.InvalidField("complaint.product", "must be a resource name of the form customers/{customer}/products/{product}")
		}
		l.productCustomer, l.productID = ids[0], ids[1]
	}
	if l.set["responsible_staff"] {
		if l.responsibleID, err = optionalName("complaint.responsible_staff", c.GetResponsibleStaff(), resname.Staff); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// apply checks that the links exist, and that the ticket and the product
// are the complainant's, and sets them on row. A link to someone else's
// ticket or product is refused like one to nothing.
func (l *complaintLinks) apply(tx *gorm.DB, row *store.Complaint) error {
	if l.set["ticket"] {
		if l.ticketID != "" {
			var n int64
			if err := tx.Model(&store.Ticket{}).Where("id = ? AND customer_id = ?", l.ticketID, row.CustomerID).Count(&n).Error; err != nil {
				return store.Translate(err)
			}
			if n == 0 {
				return badReference("complaint.ticket", l.c.GetTicket())
			}
		}
		row.TicketID = l.ticketID
	}
	if l.set["product"] {
		if l.productID != "" {
			var n int64
			if l.productCustomer == row.CustomerID {
				if err := tx.Model(&store.Product{}).Where("id = ? AND customer_id = ?", l.productID, row.CustomerID).Count(&n).Error; err != nil {
					return store.Translate(err)
				}
			}
			if n == 0 {
				return badReference("complaint.product", l.c.GetProduct())
			}
		}
		row.ProductID = l.productID
	}
	if l.set["responsible_staff"] {
		if l.responsibleID != "" {
			if ok, err := exists(tx, &store.Staff{}, l.responsibleID); err != nil || !ok {
				return orErr(err, badReference("complaint.responsible_staff", l.c.GetResponsibleStaff()))
			}
		}
		row.ResponsibleStaffID = l.responsibleID
	}
	return nil
}

func (s *complaintServer) GetComplaint(ctx context.Context, req *aftersalesv1.GetComplaintRequest) (*aftersalesv1.Complaint, error) {
	id, err := parseName("name", req.GetName(), resname.Complaints)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	row, err := getRow[store.Complaint](ctx, s.base, complaintScope(s.db.Gorm(ctx), caller), id, req.GetName())
	if err != nil {
		return nil, err
	}
	return complaintFor(complaintProto(row), caller), nil
}

func (s *complaintServer) ListComplaints(ctx context.Context, req *aftersalesv1.ListComplaintsRequest) (*aftersalesv1.ListComplaintsResponse, error) {
	caller := principal.FromContext(ctx)
	spec := complaintList
	if !seesInternal(caller) {
		spec = complaintCustomerList
	}
	rows, next, err := list[store.Complaint](complaintScope(s.db.Gorm(ctx).Model(&store.Complaint{}), caller), spec, listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
		scopedBy: customerScopeColumn(caller),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListComplaintsResponse{NextPageToken: next}
	for i := range rows {
		resp.Complaints = append(resp.Complaints, complaintFor(complaintProto(&rows[i]), caller))
	}
	return resp, nil
}

var complaintUpdatable = []string{"title", "description", "category", "severity", "desired_remedy", "ticket", "product", "responsible_staff"}

func (s *complaintServer) UpdateComplaint(ctx context.Context, req *aftersalesv1.UpdateComplaintRequest) (*aftersalesv1.Complaint, error) {
	c := req.GetComplaint()
	id, err := parseName("complaint.name", c.GetName(), resname.Complaints)
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(req.GetUpdateMask(), complaintUpdatable)
	if err != nil {
		return nil, err
	}
	var vs []apierr.Violation
	for _, p := range paths {
		switch {
		case p == "title" && strings.TrimSpace(c.GetTitle()) == "":
			vs = append(vs, apierr.Violation{Field: "complaint.title", Description: "is required"})
		case p == "category" && c.GetCategory() == aftersalesv1.Complaint_CATEGORY_UNSPECIFIED:
			vs = append(vs, apierr.Violation{Field: "complaint.category", Description: "is required"})
		case p == "severity" && c.GetSeverity() == aftersalesv1.Complaint_SEVERITY_UNSPECIFIED:
			vs = append(vs, apierr.Violation{Field: "complaint.severity", Description: "is required"})
		}
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	links, err := parseComplaintLinks(c, paths)
	if err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	var out *aftersalesv1.Complaint
	err = s.db.InTx(ctx, func(tx *gorm.DB) error {
		row, err := s.load(tx, actor, id, c.GetName(), c.GetEtag())
		if err != nil {
			return err
		}
		if _, err := complaintflow.Next(complaintflow.State(row.State), complaintflow.Update); err != nil {
			return err
		}
		before := complaintProto(row)
		now := s.now()
		if err := links.apply(tx, row); err != nil {
			return err
		}
		ev := newComplaintEvent(row, aftersalesv1.ComplaintEvent_UPDATED, actor, now)
		var esc *complaintEvent
		for _, p := range paths {
			switch p {
			case "title":
				row.Title = strings.TrimSpace(c.GetTitle())
			case "description":
				row.Description = c.GetDescription()
			case "category":
				row.Category = int32(c.GetCategory())
			case "desired_remedy":
				row.DesiredRemedy = int32(c.GetDesiredRemedy())
			case "severity":
				if esc, err = s.changeSeverity(ctx, tx, row, c.GetSeverity(), actor, now); err != nil {
					return err
				}
			case "responsible_staff":
				// Who is blamed is for staff only.
				ev.Internal = true
			}
			ev.setDetail(p, complaintFieldString(row, p))
		}
		if err := s.save(tx, row, now, ev, esc); err != nil {
			return err
		}
		out = complaintProto(row)
		return s.audit(ctx, tx, c.GetName(), before, out)
	})
	return out, s.toStatus(ctx, err)
}

// changeSeverity re-plans the deadlines for a new severity from when their
// clocks started: the acknowledgement's at receipt, the resolution's at
// receipt or at the last reopen. A complaint raised to CRITICAL is
// escalated at once, like one received as CRITICAL; the returned event
// records that.
func (s *complaintServer) changeSeverity(ctx context.Context, tx *gorm.DB, row *store.Complaint, sev aftersalesv1.Complaint_Severity, actor principal.Principal, now time.Time) (*complaintEvent, error) {
	old := aftersalesv1.Complaint_Severity(row.Severity)
	if sev == old {
		return nil, nil
	}
	was, d := s.complaintDeadline(old), s.complaintDeadline(sev)
	row.Severity = int32(sev)
	row.AcknowledgeDue = row.CreateTime.Add(d.Acknowledge)
	row.ResolveDue = row.ResolveDue.Add(d.Resolve - was.Resolve)
	planCheck(row, now)
	if sev != aftersalesv1.Complaint_CRITICAL || !complaintflow.IsOpen(complaintflow.State(row.State)) {
		return nil, nil
	}
	esc := newComplaintEvent(row, aftersalesv1.ComplaintEvent_ESCALATED, actor, now)
	esc.Message = "severity raised to CRITICAL (safety): escalated at once"
	return esc, s.escalateComplaint(ctx, tx, row, esc)
}

// load reads and locks the complaint for a change, checking the etag. A
// complaint outside the caller's scope is NOT_FOUND.
func (s *complaintServer) load(tx *gorm.DB, caller principal.Principal, id, name, sentEtag string) (*store.Complaint, error) {
	var row store.Complaint
	if err := lockRow(complaintScope(tx, caller), &row, id); err != nil {
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

// save writes a changed complaint and its timeline events. Whoever
// received the complaint and whoever handles it are told of every state
// change.
func (s *complaintServer) save(tx *gorm.DB, row *store.Complaint, now time.Time, events ...*complaintEvent) error {
	row.UpdateTime, row.Version = now, row.Version+1
	if err := store.Translate(tx.Save(row).Error); err != nil {
		return err
	}
	for _, ev := range events {
		if ev == nil {
			continue
		}
		if ev.ToState != 0 {
			ev.notify(row.ReceivedByID)
			ev.notify(row.HandlerID)
		}
		if err := store.Translate(tx.Create(ev.row()).Error); err != nil {
			return err
		}
	}
	return nil
}

// transition is the shape of every state-changing method: parse the name,
// then in one idempotent transaction lock the complaint, check the etag
// and the state machine, apply the method's own change, re-plan the
// overdue check, and record the event.
func (s *complaintServer) transition(ctx context.Context, method string, req idempotent, name, sentEtag string,
	action complaintflow.Action, typ aftersalesv1.ComplaintEvent_Type, apply func(tx *gorm.DB, row *store.Complaint, ev *complaintEvent, now time.Time) error,
) (*aftersalesv1.Complaint, error) {
	id, err := parseName("name", name, resname.Complaints)
	if err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	return mutate(ctx, s.base, method, req, func(tx *gorm.DB) (*aftersalesv1.Complaint, error) {
		row, err := s.load(tx, actor, id, name, sentEtag)
		if err != nil {
			return nil, err
		}
		from := complaintflow.State(row.State)
		to, err := complaintflow.Next(from, action)
		if err != nil {
			return nil, err
		}
		before := complaintProto(row)
		now := s.now()
		ev := newComplaintEvent(row, typ, actor, now)
		if to != from {
			row.State = int32(to)
			ev.FromState, ev.ToState = int32(from), int32(to)
		}
		if err := apply(tx, row, ev, now); err != nil {
			return nil, err
		}
		planCheck(row, now)
		if err := s.save(tx, row, now, ev); err != nil {
			return nil, err
		}
		after := complaintProto(row)
		if err := s.audit(ctx, tx, name, before, after); err != nil {
			return nil, err
		}
		return complaintFor(after, actor), nil
	})
}

func (s *complaintServer) AcknowledgeComplaint(ctx context.Context, req *aftersalesv1.AcknowledgeComplaintRequest) (*aftersalesv1.Complaint, error) {
	return s.transition(ctx, aftersalesv1.ComplaintService_AcknowledgeComplaint_FullMethodName, req, req.GetName(), req.GetEtag(), complaintflow.Acknowledge, aftersalesv1.ComplaintEvent_ACKNOWLEDGED,
		func(_ *gorm.DB, row *store.Complaint, ev *complaintEvent, now time.Time) error {
			row.AcknowledgeTime = &now
			if now.After(row.AcknowledgeDue) {
				row.AcknowledgeOverdue = true
			}
			ev.Message = req.GetMessage()
			return nil
		})
}

func (s *complaintServer) AssignComplaint(ctx context.Context, req *aftersalesv1.AssignComplaintRequest) (*aftersalesv1.Complaint, error) {
	if req.GetHandler() == "" {
		return nil, apierr.InvalidField("handler", "is required")
	}
	handlerID, err := parseName("handler", req.GetHandler(), resname.Staff)
	if err != nil {
		return nil, err
	}
	return s.transition(ctx, aftersalesv1.ComplaintService_AssignComplaint_FullMethodName, req, req.GetName(), req.GetEtag(), complaintflow.Assign, aftersalesv1.ComplaintEvent_ASSIGNED,
		func(tx *gorm.DB, row *store.Complaint, ev *complaintEvent, now time.Time) error {
			var st store.Staff
			err := store.Translate(tx.Where("id = ?", handlerID).Take(&st).Error)
			if isNotFound(err) {
				return badReference("handler", req.GetHandler())
			} else if err != nil {
				return err
			}
			if st.PartnerID != "" {
				return apierr.InvalidField("handler", "must be company staff: a partner shop's technician does not handle complaints against the company")
			}
			if err := eligibleStaff(tx, &st, now); err != nil {
				return err
			}
			row.HandlerID = handlerID
			ev.setDetail("handler", req.GetHandler())
			ev.notify(handlerID)
			if req.GetNote() == "" {
				return nil
			}
			// The note is for the handler, not for the complainant, who
			// still sees that someone took the complaint up.
			note := newComplaintEvent(row, aftersalesv1.ComplaintEvent_COMMENTED, principal.FromContext(ctx), now)
			note.Message, note.Internal = req.GetNote(), true
			note.notify(handlerID)
			return store.Translate(tx.Create(note.row()).Error)
		})
}

func (s *complaintServer) EscalateComplaint(ctx context.Context, req *aftersalesv1.EscalateComplaintRequest) (*aftersalesv1.Complaint, error) {
	return s.transition(ctx, aftersalesv1.ComplaintService_EscalateComplaint_FullMethodName, req, req.GetName(), req.GetEtag(), complaintflow.Escalate, aftersalesv1.ComplaintEvent_ESCALATED,
		func(tx *gorm.DB, row *store.Complaint, ev *complaintEvent, _ time.Time) error {
			ev.Message = req.GetReason()
			return s.escalateComplaint(ctx, tx, row, ev)
		})
}

func (s *complaintServer) ResolveComplaint(ctx context.Context, req *aftersalesv1.ResolveComplaintRequest) (*aftersalesv1.Complaint, error) {
	r := req.GetResolution()
	var vs []apierr.Violation
	if r.GetOutcome() == aftersalesv1.Complaint_OUTCOME_UNSPECIFIED {
		vs = append(vs, apierr.Violation{Field: "resolution.outcome", Description: "is required"})
	}
	if strings.TrimSpace(r.GetSummary()) == "" {
		vs = append(vs, apierr.Violation{Field: "resolution.summary", Description: "is required: what was found and what will be done"})
	}
	if r.GetCompensation() != nil && r.GetCompensation().GetCurrencyCode() == "" {
		vs = append(vs, apierr.Violation{Field: "resolution.compensation.currency_code", Description: "is required"})
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	responsibleID, err := optionalName("responsible_staff", req.GetResponsibleStaff(), resname.Staff)
	if err != nil {
		return nil, err
	}
	return s.transition(ctx, aftersalesv1.ComplaintService_ResolveComplaint_FullMethodName, req, req.GetName(), req.GetEtag(), complaintflow.Resolve, aftersalesv1.ComplaintEvent_RESOLVED,
		func(tx *gorm.DB, row *store.Complaint, ev *complaintEvent, now time.Time) error {
			if r.GetGrantedRemedy() == aftersalesv1.Complaint_REMEDY_UNSPECIFIED {
				state := aftersalesv1.Complaint_State(ev.FromState).String()
				return apierr.Precondition(aftersalesv1.ErrorReason_REMEDY_REQUIRED, "STATE", state,
					"a complaint in state "+state+" is resolved with the remedy granted; set resolution.granted_remedy (EXPLANATION when nothing else is due)")
			}
			if responsibleID != "" {
				if ok, err := exists(tx, &store.Staff{}, responsibleID); err != nil || !ok {
					return orErr(err, badReference("responsible_staff", req.GetResponsibleStaff()))
				}
				row.ResponsibleStaffID = responsibleID
			}
			manager, err := managerOf(tx, row.ResponsibleStaffID)
			if err != nil {
				return err
			}
			row.ResponsibleManagerID = manager
			row.Outcome, row.GrantedRemedy, row.ResolutionSummary = int32(r.GetOutcome()), int32(r.GetGrantedRemedy()), r.GetSummary()
			row.CompensationCurrency, row.CompensationMinor = r.GetCompensation().GetCurrencyCode(), r.GetCompensation().GetMinorUnits()
			row.ResolveTime = &now
			if now.After(row.ResolveDue) {
				row.ResolveOverdue = true
			}
			ev.Message = r.GetSummary()
			ev.setDetail("outcome", r.GetOutcome().String())
			ev.setDetail("granted_remedy", r.GetGrantedRemedy().String())
			if r.GetOutcome() != aftersalesv1.Complaint_UPHELD || row.ResponsibleStaffID == "" {
				return nil
			}
			return holdAccountable(tx, row, now)
		})
}

// holdAccountable records that the staff member responsible for an
// upheld complaint, and their manager, answer for it (管理人员追责). A
// complaint resolved again after a reopen adds no second record of the
// same kind for the same person.
func holdAccountable(tx *gorm.DB, row *store.Complaint, now time.Time) error {
	for _, who := range []struct {
		staffID string
		kind    aftersalesv1.AccountabilityRecord_Kind
	}{
		{row.ResponsibleStaffID, aftersalesv1.AccountabilityRecord_RESPONSIBLE},
		{row.ResponsibleManagerID, aftersalesv1.AccountabilityRecord_MANAGERIAL},
	} {
		if who.staffID == "" {
			continue
		}
		var n int64
		if err := tx.Model(&store.AccountabilityRecord{}).Where("complaint_id = ? AND staff_id = ? AND kind = ?", row.ID, who.staffID, int32(who.kind)).
			Count(&n).Error; err != nil {
			return store.Translate(err)
		}
		if n > 0 {
			continue
		}
		if err := store.Translate(tx.Create(&store.AccountabilityRecord{
			ID: ids.New(), StaffID: who.staffID, Kind: int32(who.kind), ComplaintID: row.ID, Category: row.Category, Severity: row.Severity,
			ResponsibleStaffID: row.ResponsibleStaffID, Summary: row.ResolutionSummary, CreateTime: now,
		}).Error); err != nil {
			return err
		}
	}
	return nil
}

func (s *complaintServer) CloseComplaint(ctx context.Context, req *aftersalesv1.CloseComplaintRequest) (*aftersalesv1.Complaint, error) {
	if principal.FromContext(ctx).Role == principal.RoleCustomer && !req.GetAccepted() {
		// A complainant who closes accepts; one who does not accept asks
		// for the complaint to be taken up again.
		return nil, apierr.InvalidField("accepted", "must be true when the complainant closes the complaint; to reject the outcome, use ReopenComplaint")
	}
	return s.transition(ctx, aftersalesv1.ComplaintService_CloseComplaint_FullMethodName, req, req.GetName(), req.GetEtag(), complaintflow.Close, aftersalesv1.ComplaintEvent_CLOSED,
		func(_ *gorm.DB, row *store.Complaint, ev *complaintEvent, now time.Time) error {
			row.ComplainantAccepted, row.CloseTime = req.GetAccepted(), &now
			ev.Message = req.GetNote()
			ev.setDetail("accepted", strconv.FormatBool(req.GetAccepted()))
			return nil
		})
}

func (s *complaintServer) ReopenComplaint(ctx context.Context, req *aftersalesv1.ReopenComplaintRequest) (*aftersalesv1.Complaint, error) {
	if strings.TrimSpace(req.GetReason()) == "" {
		return nil, apierr.InvalidField("reason", "is required")
	}
	return s.transition(ctx, aftersalesv1.ComplaintService_ReopenComplaint_FullMethodName, req, req.GetName(), req.GetEtag(), complaintflow.Reopen, aftersalesv1.ComplaintEvent_REOPENED,
		func(_ *gorm.DB, row *store.Complaint, ev *complaintEvent, now time.Time) error {
			// A reopened complaint is a new promise: a fresh resolution
			// deadline, and no acceptance or closing any more.
			row.ResolveDue = now.Add(s.complaintDeadline(aftersalesv1.Complaint_Severity(row.Severity)).Resolve)
			row.ResolveOverdue = false
			row.ComplainantAccepted, row.CloseTime = false, nil
			ev.Message = req.GetReason()
			return nil
		})
}

func (s *complaintServer) AddComplaintComment(ctx context.Context, req *aftersalesv1.AddComplaintCommentRequest) (*aftersalesv1.ComplaintEvent, error) {
	id, err := parseName("parent", req.GetParent(), resname.Complaints)
	if err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	if req.GetInternal() && !seesInternal(actor) {
		return nil, accessDenied("internal")
	}
	return mutate(ctx, s.base, aftersalesv1.ComplaintService_AddComplaintComment_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.ComplaintEvent, error) {
		if ok, err := exists(complaintScope(tx, actor), &store.Complaint{}, id); err != nil || !ok {
			return nil, orErr(err, notFound(req.GetParent()))
		}
		ev := newComplaintEvent(&store.Complaint{ID: id}, aftersalesv1.ComplaintEvent_COMMENTED, actor, s.now())
		ev.Message, ev.Internal = req.GetMessage(), req.GetInternal()
		if err := store.Translate(tx.Create(ev.row()).Error); err != nil {
			return nil, err
		}
		return complaintEventProto(ev.row()), nil
	})
}

func (s *complaintServer) ListComplaintEvents(ctx context.Context, req *aftersalesv1.ListComplaintEventsRequest) (*aftersalesv1.ListComplaintEventsResponse, error) {
	id, err := parseName("parent", req.GetParent(), resname.Complaints)
	if err != nil {
		return nil, err
	}
	rows, next, err := listTimeline[store.ComplaintEvent](ctx, s.base, complaintScope, &store.Complaint{}, "complaint_id", id, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &aftersalesv1.ListComplaintEventsResponse{NextPageToken: next}
	for i := range rows {
		resp.Events = append(resp.Events, complaintEventProto(&rows[i]))
	}
	return resp, nil
}
