package service

import (
	"context"
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
	row.NextCheckTime = &row.AcknowledgeDue
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
	if err := b.escalateComplaint(tx, row, actor, now, "safety complaint: escalated on receipt"); err != nil {
		return err
	}
	row.Version++
	return store.Translate(tx.Save(row).Error)
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
// received it, while nobody handles it), then each time to the manager of
// the one it was escalated to. At the top of the line it stays there. It
// writes the (internal) ESCALATED event; the caller saves row.
func (b *base) escalateComplaint(tx *gorm.DB, row *store.Complaint, actor principal.Principal, now time.Time, why string) error {
	below := row.EscalatedToID
	if below == "" {
		below = row.HandlerID
		if below == "" {
			below = row.ReceivedByID
		}
	}
	up, err := managerOf(tx, below)
	if err != nil {
		return err
	}
	if up != "" {
		row.EscalatedToID = up
	}
	row.EscalationLevel++
	row.UpdateTime = now
	ev := newComplaintEvent(row, aftersalesv1.ComplaintEvent_ESCALATED, actor, now)
	ev.Message, ev.Internal = why, true
	ev.setDetail("escalation_level", itoa(int64(row.EscalationLevel)))
	ev.setDetail("escalated_to", refName(resname.Staff, row.EscalatedToID))
	ev.notify(row.EscalatedToID)
	ev.notify(row.HandlerID)
	return store.Translate(tx.Create(ev.row()).Error)
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

var complaintList = listSpec{columns: []column{
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
	rows, next, err := list[store.Complaint](complaintScope(s.db.Gorm(ctx).Model(&store.Complaint{}), caller), complaintList, listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
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
