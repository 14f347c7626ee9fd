package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// MaintenanceService: the plans' handlers. The loop that opens their
// visits is in maintenance_loop.go, and what a visit's ticket does to it
// in maintenance_ticket.go.

// maintenanceServer implements MaintenanceService.
type maintenanceServer struct {
	aftersalesv1.UnimplementedMaintenanceServiceServer
	*base
}

// The limits of a plan (maintenance.proto).
const (
	maxIntervalMonths = 120
	maxUsageUnit      = 20
	defaultLead       = 7 * 24 * time.Hour
	maxLead           = 90 * 24 * time.Hour
)

var planUpdatable = []string{"display_name", "description", "interval_months", "interval_usage", "usage_unit", "usage_lead",
	"lead_time", "ticket_type", "priority", "reminder_only", "free_of_charge", "owner", "active"}

var planList = listSpec{columns: []column{
	{field: filter.Field{Name: "model"}, name: "model"},
	{field: filter.Field{Name: "active", Kind: filter.KindBool}, name: "active"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

var visitList = listSpec{columns: []column{
	{field: filter.Field{Name: "state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.MaintenanceVisit_State_name)}, name: "state", conv: enumValue(aftersalesv1.MaintenanceVisit_State_value)},
	{field: filter.Field{Name: "product"}, name: "product_id", conv: productValue},
	{field: filter.Field{Name: "due_time", Kind: filter.KindTime}, name: "due_time"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

func (s *maintenanceServer) CreateMaintenancePlan(ctx context.Context, req *aftersalesv1.CreateMaintenancePlanRequest) (*aftersalesv1.MaintenancePlan, error) {
	p := req.GetMaintenancePlan()
	row := &store.MaintenancePlan{Model: strings.TrimSpace(p.GetModel())}
	vs := applyPlan(row, p, planUpdatable)
	if len(vs) == 0 {
		vs = planIntervals(row)
	}
	if row.Model == "" {
		vs = append(vs, apierr.Violation{Field: "maintenance_plan.model", Description: "is required"})
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	caller := principal.FromContext(ctx)
	if row.OwnerID == "" && caller.Kind == principal.Staff {
		row.OwnerID = caller.ID()
	}
	return mutate(ctx, s.base, aftersalesv1.MaintenanceService_CreateMaintenancePlan_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.MaintenancePlan, error) {
		if err := checkPlanOwner(tx, row.OwnerID, p.GetOwner()); err != nil {
			return nil, err
		}
		var found []string
		if err := tx.Model(&store.Product{}).Where("model = ?", row.Model).Limit(1).Pluck("id", &found).Error; err != nil {
			return nil, store.Translate(err)
		}
		if len(found) == 0 {
			return nil, apierr.Invalid(aftersalesv1.ErrorReason_UNKNOWN_PRODUCT_MODEL, apierr.Violation{
				Field: "maintenance_plan.model", Description: "no registered product has model " + row.Model,
			})
		}
		// A new plan is active (maintenance.proto).
		row.Active, row.ActiveModel = true, &row.Model
		if err := checkActivePlan(tx, row); err != nil {
			return nil, err
		}
		now := s.now()
		row.ID, row.CreateTime, row.UpdateTime, row.Version = ids.New(), now, now, 1
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		return planProto(row), nil
	})
}

func (s *maintenanceServer) GetMaintenancePlan(ctx context.Context, req *aftersalesv1.GetMaintenancePlanRequest) (*aftersalesv1.MaintenancePlan, error) {
	id, err := parseName("name", req.GetName(), resname.MaintenancePlans)
	if err != nil {
		return nil, err
	}
	row, err := getRow[store.MaintenancePlan](ctx, s.base, s.db.Gorm(ctx), id, req.GetName())
	if err != nil {
		return nil, err
	}
	return planProto(row), nil
}

func (s *maintenanceServer) ListMaintenancePlans(ctx context.Context, req *aftersalesv1.ListMaintenancePlansRequest) (*aftersalesv1.ListMaintenancePlansResponse, error) {
	rows, next, err := list[store.MaintenancePlan](s.db.Gorm(ctx).Model(&store.MaintenancePlan{}), planList, listRequest{
		filter: req.GetFilter(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListMaintenancePlansResponse{NextPageToken: next}
	for i := range rows {
		resp.MaintenancePlans = append(resp.MaintenancePlans, planProto(&rows[i]))
	}
	return resp, nil
}

func (s *maintenanceServer) UpdateMaintenancePlan(ctx context.Context, req *aftersalesv1.UpdateMaintenancePlanRequest) (*aftersalesv1.MaintenancePlan, error) {
	p := req.GetMaintenancePlan()
	id, err := parseName("maintenance_plan.name", p.GetName(), resname.MaintenancePlans)
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(req.GetUpdateMask(), planUpdatable)
	if err != nil {
		return nil, err
	}
	// Validated on a scratch row first, so that bad input is refused
	// before any transaction.
	if vs := applyPlan(&store.MaintenancePlan{}, p, paths); len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	return updateRow(ctx, s.base, unscoped, id, p.GetName(), p.GetEtag(), planProto, func(tx *gorm.DB, row *store.MaintenancePlan) error {
		applyPlan(row, p, paths)
		// The intervals are checked together, on the plan as it will be.
		if vs := planIntervals(row); len(vs) > 0 {
			return apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
		}
		if slices.Contains(paths, "owner") {
			if err := checkPlanOwner(tx, row.OwnerID, p.GetOwner()); err != nil {
				return err
			}
		}
		if !slices.Contains(paths, "active") {
			return nil
		}
		row.ActiveModel = nil
		if row.Active {
			row.ActiveModel = &row.Model
		}
		return checkActivePlan(tx, row)
	})
}

func (s *maintenanceServer) ListMaintenanceVisits(ctx context.Context, req *aftersalesv1.ListMaintenanceVisitsRequest) (*aftersalesv1.ListMaintenanceVisitsResponse, error) {
	planID, err := parseName("parent", req.GetParent(), resname.MaintenancePlans)
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	if ok, err := exists(db, &store.MaintenancePlan{}, planID); err != nil || !ok {
		return nil, s.toStatus(ctx, orErr(err, notFound(req.GetParent())))
	}
	rows, next, err := list[store.MaintenanceVisit](db.Model(&store.MaintenanceVisit{}).Where("plan_id = ?", planID), visitList, listRequest{
		parent: req.GetParent(), filter: req.GetFilter(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListMaintenanceVisitsResponse{NextPageToken: next}
	for i := range rows {
		resp.Visits = append(resp.Visits, visitProto(&rows[i]))
	}
	return resp, nil
}

// applyPlan copies the named fields of p onto row, with their defaults,
// and returns what is wrong with them. The owner is only parsed here;
// checkPlanOwner checks it in the transaction.
func applyPlan(row *store.MaintenancePlan, p *aftersalesv1.MaintenancePlan, paths []string) []apierr.Violation {
	var vs []apierr.Violation
	bad := func(field, desc string) {
		vs = append(vs, apierr.Violation{Field: "maintenance_plan." + field, Description: desc})
	}
	for _, path := range paths {
		switch path {
		case "display_name":
			row.DisplayName = strings.TrimSpace(p.GetDisplayName())
			if row.DisplayName == "" {
				bad(path, "is required")
			}
		case "description":
			row.Description = p.GetDescription()
		case "interval_months":
			row.IntervalMonths = p.GetIntervalMonths()
			if row.IntervalMonths < 0 || row.IntervalMonths > maxIntervalMonths {
				bad(path, "must be 0 (not by date) to 120 months")
			}
		case "interval_usage":
			row.IntervalUsage = p.GetIntervalUsage()
			if row.IntervalUsage < 0 {
				bad(path, "must not be negative")
			}
		case "usage_unit":
			row.UsageUnit = strings.TrimSpace(p.GetUsageUnit())
			if len([]rune(row.UsageUnit)) > maxUsageUnit {
				bad(path, "must be at most 20 characters")
			}
		case "usage_lead":
			row.UsageLead = p.GetUsageLead()
			if row.UsageLead < 0 {
				bad(path, "must not be negative")
			}
		case "lead_time":
			lead, desc := planLead(p.GetLeadTime())
			if desc != "" {
				bad(path, desc)
			}
			row.LeadSeconds = int64(lead / time.Second)
		case "ticket_type":
			switch t := p.GetTicketType(); t {
			case aftersalesv1.Ticket_TYPE_UNSPECIFIED, aftersalesv1.Ticket_MAINTENANCE:
				row.TicketType = int32(aftersalesv1.Ticket_MAINTENANCE)
			case aftersalesv1.Ticket_INSPECTION:
				row.TicketType = int32(t)
			default:
				bad(path, "must be MAINTENANCE or INSPECTION")
			}
		case "priority":
			row.Priority = int32(orDefault(p.GetPriority(), aftersalesv1.Ticket_LOW))
		case "reminder_only":
			row.ReminderOnly = p.GetReminderOnly()
		case "free_of_charge":
			row.FreeOfCharge = p.GetFreeOfCharge()
		case "owner":
			id, err := optionalName("maintenance_plan.owner", p.GetOwner(), resname.Staff)
			if err != nil {
				bad(path, "must be a resource name of the form staff/{id}")
			}
			row.OwnerID = id
		case "active":
			row.Active = p.GetActive()
		}
	}
	return vs
}

// planIntervals returns what is wrong with a plan's intervals taken
// together: it needs months, usage or both; a usage interval needs its
// unit, and a usage lead less than it.
func planIntervals(row *store.MaintenancePlan) []apierr.Violation {
	var vs []apierr.Violation
	bad := func(field, desc string) {
		vs = append(vs, apierr.Violation{Field: "maintenance_plan." + field, Description: desc})
	}
	if row.IntervalMonths == 0 && row.IntervalUsage == 0 {
		bad("interval_months", "a plan needs interval_months, interval_usage or both")
		bad("interval_usage", "a plan needs interval_months, interval_usage or both")
	}
	if row.IntervalUsage > 0 && row.UsageUnit == "" {
		bad("usage_unit", "is required when interval_usage is set")
	}
	if row.UsageLead > 0 && row.UsageLead >= row.IntervalUsage {
		bad("usage_lead", "must be less than interval_usage")
	}
	return vs
}

// planLead is a plan's lead time: 7 days when unset, else whole seconds
// from 0 to 90 days; desc says what is wrong otherwise.
func planLead(d *durationpb.Duration) (time.Duration, string) {
	switch {
	case d == nil:
		return defaultLead, ""
	case d.CheckValid() != nil:
		return 0, "is not a valid duration"
	case d.GetNanos() != 0:
		return 0, "must be a whole number of seconds"
	case d.AsDuration() < 0 || d.AsDuration() > maxLead:
		return 0, "must be between 0 and 90 days"
	}
	return d.AsDuration(), ""
}

// checkPlanOwner checks that the plan's owner, the first contact of its
// tickets, is an active staff member of the company; "" (a plan made by
// a service account without one) leaves its tickets without a first
// contact, as CreateTicket does for such callers.
func checkPlanOwner(tx *gorm.DB, ownerID, name string) error {
	if ownerID == "" {
		return nil
	}
	if name == "" {
		name = resname.Format(resname.Staff, ownerID)
	}
	var st store.Staff
	err := store.Translate(tx.Where("id = ?", ownerID).Take(&st).Error)
	if isNotFound(err) {
		return badReference("maintenance_plan.owner", name)
	} else if err != nil {
		return err
	}
	if !st.Active || st.PartnerID != "" {
		return apierr.InvalidField("maintenance_plan.owner", "must be an active staff member of the company")
	}
	return nil
}

// checkActivePlan refuses a second active plan for a model, naming the
// one there is. The unique key on active_model decides a race; this
// gives the answer a useful message.
func checkActivePlan(tx *gorm.DB, row *store.MaintenancePlan) error {
	if row.ActiveModel == nil {
		return nil
	}
	var other []string
	if err := tx.Model(&store.MaintenancePlan{}).Where("active_model = ? AND id <> ?", *row.ActiveModel, row.ID).
		Limit(1).Pluck("id", &other).Error; err != nil {
		return store.Translate(err)
	}
	if len(other) > 0 {
		return apierr.Newf(codes.AlreadyExists, aftersalesv1.ErrorReason_RESOURCE_EXISTS,
			"%s is the active maintenance plan of model %s; deactivate it first (one active plan per model)",
			resname.Format(resname.MaintenancePlans, other[0]), *row.ActiveModel)
	}
	return nil
}

func planProto(row *store.MaintenancePlan) *aftersalesv1.MaintenancePlan {
	name := resname.Format(resname.MaintenancePlans, row.ID)
	return &aftersalesv1.MaintenancePlan{
		Name:           name,
		DisplayName:    row.DisplayName,
		Description:    row.Description,
		Model:          row.Model,
		IntervalMonths: row.IntervalMonths,
		IntervalUsage:  row.IntervalUsage,
		UsageUnit:      row.UsageUnit,
		UsageLead:      row.UsageLead,
		LeadTime:       durationpb.New(secs(row.LeadSeconds)),
		TicketType:     aftersalesv1.Ticket_Type(row.TicketType),
		Priority:       aftersalesv1.Ticket_Priority(row.Priority),
		ReminderOnly:   row.ReminderOnly,
		FreeOfCharge:   row.FreeOfCharge,
		Owner:          refName(resname.Staff, row.OwnerID),
		Active:         row.Active,
		CreateTime:     ts(row.CreateTime),
		UpdateTime:     ts(row.UpdateTime),
		Etag:           etag.Of(name, row.Version),
	}
}

func visitName(row *store.MaintenanceVisit) string {
	return resname.Format(resname.MaintenancePlans, row.PlanID, resname.Visits, row.ID)
}

func visitProto(row *store.MaintenanceVisit) *aftersalesv1.MaintenanceVisit {
	return &aftersalesv1.MaintenanceVisit{
		Name:         visitName(row),
		Product:      resname.Format(resname.Customers, row.CustomerID, resname.Products, row.ProductID),
		SerialNumber: row.SerialNumber,
		DueTime:      ts(row.DueTime),
		Ticket:       refName(resname.Tickets, row.TicketID),
		State:        aftersalesv1.MaintenanceVisit_State(row.State),
		CreateTime:   ts(row.CreateTime),
		EndTime:      tsPtr(row.EndTime),
		NextDueTime:  tsPtr(row.NextDueTime),
		DueUsage:     row.DueUsage,
		NextDueUsage: usageOf(row.NextDueUsage),
	}
}
