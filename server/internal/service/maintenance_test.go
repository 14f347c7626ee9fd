package service_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/maintenanceflow"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// manualMaintenance keeps the maintenance loop from running on its own:
// the tests run its passes (Services.OpenDueVisits) when they choose.
func manualMaintenance(c *config.Config) { c.MaintenanceInterval = time.Hour }

func (e *env) maintenance() aftersalesv1.MaintenanceServiceClient {
	return aftersalesv1.NewMaintenanceServiceClient(e.conn)
}

// unit registers a product of model for the fixture's customer, bought at
// bought (nil: unknown).
func (e *env) unit(f *fixture, model string, bought *time.Time) *aftersalesv1.Product {
	e.t.Helper()
	p := &aftersalesv1.Product{Model: model, SerialNumber: "SN-" + ids.New()}
	if bought != nil {
		p.PurchaseTime = timestamp(*bought)
	}
	out, err := e.customers.CreateProduct(e.admin(), &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: p})
	require.NoError(e.t, err)
	return out
}

// pass runs one maintenance pass and returns how many visits it opened.
func (e *env) pass() int {
	e.t.Helper()
	n, err := e.app.Services().OpenDueVisits(context.Background())
	require.NoError(e.t, err)
	return n
}

// visits returns the plan's visits by product name.
func (e *env) visits(plan *aftersalesv1.MaintenancePlan) map[string][]*aftersalesv1.MaintenanceVisit {
	e.t.Helper()
	resp, err := e.maintenance().ListMaintenanceVisits(e.admin(), &aftersalesv1.ListMaintenanceVisitsRequest{Parent: plan.GetName(), PageSize: 1000})
	require.NoError(e.t, err)
	out := map[string][]*aftersalesv1.MaintenanceVisit{}
	for _, v := range resp.GetVisits() {
		out[v.GetProduct()] = append(out[v.GetProduct()], v)
	}
	return out
}

func ago(now time.Time, months, days int) *time.Time {
	t := now.AddDate(0, -months, -days)
	return &t
}

// TestMaintenanceVisits: a plan opens one visit and ticket per product
// whose due date is within its lead time, however many passes and
// replicas run; resolving the ticket moves the next due date from the
// resolution, cancelling it from the missed due date; products
// registered after the plan are reached too.
func TestMaintenanceVisits(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			urls := storetest.ReplicaURLs(t, dialect, 2) // on Galera, two nodes
			e := startURL(t, urls[0], manualMaintenance)
			replica := startURL(t, urls[1], manualMaintenance)
			f := e.seed()
			mgr := as(f.manager.GetName())
			now := e.clock.Now()

			// Due in 10 days (bought a year less 10 days ago), within the
			// 14-day lead; due in 10 months; unknown purchase date: due a
			// year after registration; another model.
			soon := e.unit(f, "AC-500", ago(now, 12, -10))
			notYet := e.unit(f, "AC-500", ago(now, 2, 0))
			unknown := e.unit(f, "AC-500", nil)
			other := e.unit(f, "AC-900", ago(now, 24, 0))

			plan, err := e.maintenance().CreateMaintenancePlan(mgr, &aftersalesv1.CreateMaintenancePlanRequest{
				MaintenancePlan: &aftersalesv1.MaintenancePlan{
					DisplayName: "Annual air-conditioner service", Description: "Clean filters, check refrigerant.",
					Model: "AC-500", IntervalMonths: 12, LeadTime: durationpb.New(14 * 24 * time.Hour), FreeOfCharge: true,
				},
				RequestId: "plan-ac-500",
			})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_MAINTENANCE, plan.GetTicketType(), "default type")
			require.Equal(t, aftersalesv1.Ticket_LOW, plan.GetPriority(), "default priority")
			require.Equal(t, f.manager.GetName(), plan.GetOwner(), "the creator owns it")
			require.True(t, plan.GetActive())
			again, err := e.maintenance().CreateMaintenancePlan(mgr, &aftersalesv1.CreateMaintenancePlanRequest{
				MaintenancePlan: &aftersalesv1.MaintenancePlan{
					DisplayName: "Annual air-conditioner service", Description: "Clean filters, check refrigerant.",
					Model: "AC-500", IntervalMonths: 12, LeadTime: durationpb.New(14 * 24 * time.Hour), FreeOfCharge: true,
				},
				RequestId: "plan-ac-500",
			})
			require.NoError(t, err)
			require.Equal(t, plan.GetName(), again.GetName(), "a retry returns the plan it created")

			// Registered after the plan: due in 5 days.
			newer := e.unit(f, "AC-500", ago(now, 12, -5))

			require.Zero(t, e.pass(), "products are scheduled once their registration has settled")
			e.clock.Advance(2 * time.Minute)
			replica.clock.Advance(2 * time.Minute)

			// Two replicas at once, twice over, then once more.
			var wg sync.WaitGroup
			opened := make([]int, 4)
			for i, r := range []*env{e, replica, e, replica} {
				wg.Go(func() {
					n, err := r.app.Services().OpenDueVisits(context.Background())
					opened[i] = n
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			require.Equal(t, 2, opened[0]+opened[1]+opened[2]+opened[3], "one visit per due product, whoever ran")
			require.Zero(t, e.pass())

			visits := e.visits(plan)
			require.Len(t, visits, 2)
			require.Empty(t, visits[notYet.GetName()])
			require.Empty(t, visits[unknown.GetName()])
			require.Empty(t, visits[other.GetName()])
			agent := as(f.agent.GetName())
			for _, p := range []*aftersalesv1.Product{soon, newer} {
				require.Len(t, visits[p.GetName()], 1)
				v := visits[p.GetName()][0]
				require.Equal(t, aftersalesv1.MaintenanceVisit_OPEN, v.GetState())
				require.Equal(t, maintenanceflow.AddMonths(p.GetPurchaseTime().AsTime(), 12), v.GetDueTime().AsTime())
				require.Equal(t, p.GetSerialNumber(), v.GetSerialNumber())
				require.Nil(t, v.GetNextDueTime())
				tk, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: v.GetTicket()})
				require.NoError(t, err)
				require.Equal(t, plan.GetName(), tk.GetMaintenancePlan())
				require.Equal(t, aftersalesv1.Ticket_MAINTENANCE, tk.GetType())
				require.Equal(t, aftersalesv1.Ticket_LOW, tk.GetPriority())
				require.Equal(t, f.manager.GetName(), tk.GetFirstContact(), "the plan's owner is first contact")
				require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY, tk.GetWarrantyStatus(), "free of charge")
				require.Equal(t, plan.GetDisplayName(), tk.GetTitle())
				require.Contains(t, tk.GetDescription(), "Clean filters")
				require.Equal(t, f.customer.GetName(), tk.GetCustomer())
				require.Equal(t, p.GetName(), tk.GetProduct())
				// Opened ahead of the work: the resolution target counts
				// from the due date, the response target from opening.
				pol, err := e.tickets.GetSlaPolicy(as(f.manager.GetName()), &aftersalesv1.GetSlaPolicyRequest{Name: tk.GetSla().GetPolicy()})
				require.NoError(t, err)
				opened := tk.GetCreateTime().AsTime()
				require.Equal(t, opened.Add(pol.GetResponseTarget().AsDuration()), tk.GetSla().GetResponseDueTime().AsTime())
				wantResolve := v.GetDueTime().AsTime().Add(pol.GetResolveTarget().AsDuration())
				if byPolicy := opened.Add(pol.GetResolveTarget().AsDuration()); byPolicy.After(wantResolve) {
					wantResolve = byPolicy
				}
				require.Equal(t, wantResolve, tk.GetSla().GetResolveDueTime().AsTime())
			}

			// Resolving moves the next due date a year past the resolution.
			rv := visits[newer.GetName()][0]
			tech := as(f.technician.GetName())
			_, err = e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: rv.GetTicket(), Assignee: f.technician.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.AcceptTicket(tech, &aftersalesv1.AcceptTicketRequest{Name: rv.GetTicket()})
			require.NoError(t, err)
			_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: rv.GetTicket()})
			require.NoError(t, err, "in warranty: no fee approval needed")
			e.clock.Advance(3 * 24 * time.Hour)
			replica.clock.Advance(3 * 24 * time.Hour)
			tk, err := e.tickets.ResolveTicket(tech, &aftersalesv1.ResolveTicketRequest{Name: rv.GetTicket(), Resolution: validResolution()})
			require.NoError(t, err)
			resolvedNext := maintenanceflow.AddMonths(tk.GetResolveTime().AsTime(), 12)

			// Cancelling moves it a year past the missed due date.
			cv := visits[soon.GetName()][0]
			_, err = e.tickets.CancelTicket(agent, &aftersalesv1.CancelTicketRequest{Name: cv.GetTicket(), Reason: "customer moved away"})
			require.NoError(t, err)
			cancelledNext := maintenanceflow.AddMonths(cv.GetDueTime().AsTime(), 12)

			visits = e.visits(plan)
			done := visits[newer.GetName()][0]
			require.Equal(t, aftersalesv1.MaintenanceVisit_DONE, done.GetState())
			require.Equal(t, resolvedNext, done.GetNextDueTime().AsTime())
			require.Equal(t, tk.GetResolveTime().AsTime(), done.GetEndTime().AsTime())
			cancelled := visits[soon.GetName()][0]
			require.Equal(t, aftersalesv1.MaintenanceVisit_CANCELLED, cancelled.GetState())
			require.Equal(t, cancelledNext, cancelled.GetNextDueTime().AsTime())
			require.Zero(t, e.pass(), "the next due dates are a year away")

			// The schedule holds those dates. 13 days before the resolved
			// visit's next one, it opens again, as do the first visits of
			// the products due meanwhile; the cancelled visit's next date
			// (a week later: its due date was after the resolution) is
			// not yet within the lead.
			require.Equal(t, 7*24*time.Hour, cancelledNext.Sub(resolvedNext).Round(time.Hour))
			e.clock.Advance(resolvedNext.Sub(e.clock.Now()) - 13*24*time.Hour)
			require.Equal(t, 3, e.pass())
			visits = e.visits(plan)
			require.Len(t, visits[newer.GetName()], 2)
			require.Equal(t, resolvedNext, visits[newer.GetName()][1].GetDueTime().AsTime())
			require.Len(t, visits[soon.GetName()], 1)
			require.Len(t, visits[notYet.GetName()], 1)
			require.Len(t, visits[unknown.GetName()], 1)
			require.Equal(t, maintenanceflow.AddMonths(unknown.GetCreateTime().AsTime(), 12), visits[unknown.GetName()][0].GetDueTime().AsTime(),
				"without a purchase date, a year after registration")
			require.Empty(t, visits[other.GetName()])

			// The JSON gateway reads plans and visits the same way.
			r := e.do(http.MethodGet, "/v1/"+plan.GetName()+"/visits?filter=state%20%3D%20DONE", f.agent.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			list, _ := r.body["visits"].([]any)
			require.Len(t, list, 1)
			require.Equal(t, newer.GetName(), list[0].(map[string]any)["product"])
			r = e.do(http.MethodGet, "/v1/"+plan.GetName(), f.agent.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "AC-500", r.body["model"])
			require.Equal(t, "1209600s", r.body["leadTime"])
			// The loop's work on the plan (its walk of the products) is not
			// a change of the plan: the etag of its creation still holds.
			r = e.do(http.MethodPatch, "/v1/"+plan.GetName(), f.manager.GetName(), map[string]any{"leadTime": "604800s", "etag": plan.GetEtag()})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "604800s", r.body["leadTime"])
			require.Equal(t, "Annual air-conditioner service", r.body["displayName"], "fields outside the body unchanged")
			r = e.do(http.MethodPatch, "/v1/"+plan.GetName(), f.manager.GetName(), map[string]any{"leadTime": "86400s", "etag": plan.GetEtag()})
			requireHTTP(t, r, http.StatusConflict, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
		})
	}
}

// TestMaintenanceReminders: a reminder-only plan opens no ticket: it
// records a reminder, which reaches the customer in the change feed as
// maintenance.reminded, and moves the due date on by the interval.
func TestMaintenanceReminders(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, manualMaintenance)
			f := e.seed()
			now := e.clock.Now()
			p := e.unit(f, "HP-2", ago(now, 6, -3))
			plan, err := e.maintenance().CreateMaintenancePlan(as(f.manager.GetName()), &aftersalesv1.CreateMaintenancePlanRequest{
				MaintenancePlan: &aftersalesv1.MaintenancePlan{
					DisplayName: "Heat-pump filter reminder", Model: "HP-2", IntervalMonths: 6, ReminderOnly: true,
				},
			})
			require.NoError(t, err)
			require.Equal(t, 7*24*time.Hour, plan.GetLeadTime().AsDuration(), "default lead")
			start := e.top()
			e.clock.Advance(2 * time.Minute)
			require.Equal(t, 1, e.pass())
			require.Zero(t, e.pass())

			vs := e.visits(plan)[p.GetName()]
			require.Len(t, vs, 1)
			v := vs[0]
			due := maintenanceflow.AddMonths(p.GetPurchaseTime().AsTime(), 6)
			require.Equal(t, aftersalesv1.MaintenanceVisit_REMINDED, v.GetState())
			require.Empty(t, v.GetTicket())
			require.Equal(t, due, v.GetDueTime().AsTime())
			require.Equal(t, maintenanceflow.AddMonths(due, 6), v.GetNextDueTime().AsTime())
			require.NotNil(t, v.GetEndTime())

			tickets, err := e.tickets.ListTickets(e.admin(), &aftersalesv1.ListTicketsRequest{})
			require.NoError(t, err)
			require.Empty(t, tickets.GetTickets())

			require.Equal(t, []string{"maintenance.reminded"}, types(e.feed(e.admin(), start, ""), v.GetName()))
			mine := e.feed(as(f.customer.GetName()), start, `type = "maintenance.reminded"`)
			require.Len(t, mine, 1, "the customer is reminded")
			require.Equal(t, v.GetName(), mine[0].GetResource())

			// Past the next due date's lead, the next reminder.
			e.clock.Advance(maintenanceflow.AddMonths(due, 6).Sub(e.clock.Now()) - 6*24*time.Hour)
			require.Equal(t, 1, e.pass())
			require.Len(t, e.visits(plan)[p.GetName()], 2)
		})
	}
}

// TestMaintenancePlanRules: validation, one active plan per model, an
// inactive plan opens nothing, etags, and who may change plans.
func TestMaintenancePlanRules(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, manualMaintenance)
			f := e.seed()
			mgr := as(f.manager.GetName())
			now := e.clock.Now()
			typo := e.unit(f, "DW-33", ago(now, 12, 0))
			e.clock.Advance(time.Second)
			p := e.unit(f, "DW-3", ago(now, 12, 0))
			ms := e.maintenance()
			valid := func() *aftersalesv1.MaintenancePlan {
				return &aftersalesv1.MaintenancePlan{DisplayName: "Dishwasher check", Model: "DW-3", IntervalMonths: 12, TicketType: aftersalesv1.Ticket_INSPECTION}
			}
			create := func(change func(*aftersalesv1.MaintenancePlan)) (*aftersalesv1.MaintenancePlan, error) {
				pl := valid()
				change(pl)
				return ms.CreateMaintenancePlan(mgr, &aftersalesv1.CreateMaintenancePlanRequest{MaintenancePlan: pl})
			}
			for _, c := range []struct {
				name   string
				change func(*aftersalesv1.MaintenancePlan)
				reason aftersalesv1.ErrorReason
			}{
				{"no interval", func(p *aftersalesv1.MaintenancePlan) { p.IntervalMonths = 0 }, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"no model", func(p *aftersalesv1.MaintenancePlan) { p.Model = " " }, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"no title", func(p *aftersalesv1.MaintenancePlan) { p.DisplayName = "" }, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"repair plan", func(p *aftersalesv1.MaintenancePlan) { p.TicketType = aftersalesv1.Ticket_REPAIR }, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"fractional lead", func(p *aftersalesv1.MaintenancePlan) { p.LeadTime = &durationpb.Duration{Seconds: 60, Nanos: 5} }, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"bad owner name", func(p *aftersalesv1.MaintenancePlan) { p.Owner = "partners/x" }, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"unknown owner", func(p *aftersalesv1.MaintenancePlan) { p.Owner = "staff/nobody" }, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND},
				{"shop technician owner", func(p *aftersalesv1.MaintenancePlan) { p.Owner = f.partnerTech.GetName() }, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"unknown model", func(p *aftersalesv1.MaintenancePlan) { p.Model = "NO-SUCH" }, aftersalesv1.ErrorReason_UNKNOWN_PRODUCT_MODEL},
			} {
				_, err := create(c.change)
				requireCode(t, err, codes.InvalidArgument, c.reason)
			}
			_, err := ms.CreateMaintenancePlan(as(f.agent.GetName()), &aftersalesv1.CreateMaintenancePlanRequest{MaintenancePlan: valid()})
			requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
			r := e.do(http.MethodPost, "/v1/maintenancePlans", f.manager.GetName(), map[string]any{"displayName": "x", "model": "NO-SUCH", "intervalMonths": 6})
			requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_UNKNOWN_PRODUCT_MODEL)

			// Created over JSON, owned by the agent.
			r = e.do(http.MethodPost, "/v1/maintenancePlans", f.manager.GetName(), map[string]any{
				"displayName": "Dishwasher check", "model": "DW-3", "intervalMonths": 12, "ticketType": "INSPECTION", "owner": f.agent.GetName(),
			})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			plan, err := ms.GetMaintenancePlan(mgr, &aftersalesv1.GetMaintenancePlanRequest{Name: r.body["name"].(string)})
			require.NoError(t, err)
			require.Equal(t, f.agent.GetName(), plan.GetOwner())
			require.Equal(t, aftersalesv1.Ticket_INSPECTION, plan.GetTicketType())

			// One active plan per model.
			_, err = create(func(*aftersalesv1.MaintenancePlan) {})
			requireCode(t, err, codes.AlreadyExists, aftersalesv1.ErrorReason_RESOURCE_EXISTS)

			// Inactive: opens nothing.
			update := func(pl *aftersalesv1.MaintenancePlan, paths ...string) (*aftersalesv1.MaintenancePlan, error) {
				return ms.UpdateMaintenancePlan(mgr, &aftersalesv1.UpdateMaintenancePlanRequest{MaintenancePlan: pl, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
			}
			stale := plan.GetEtag()
			plan, err = update(&aftersalesv1.MaintenancePlan{Name: plan.GetName(), Active: false, Etag: plan.GetEtag()}, "active")
			require.NoError(t, err)
			require.False(t, plan.GetActive())
			_, err = update(&aftersalesv1.MaintenancePlan{Name: plan.GetName(), Active: true, Etag: stale}, "active")
			requireCode(t, err, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
			e.clock.Advance(2 * time.Minute)
			require.Zero(t, e.pass())
			require.Empty(t, e.visits(plan))

			// Another plan may now be the model's active one; the first
			// cannot come back while it is.
			second, err := create(func(*aftersalesv1.MaintenancePlan) {})
			require.NoError(t, err)
			_, err = update(&aftersalesv1.MaintenancePlan{Name: plan.GetName(), Active: true}, "active")
			requireCode(t, err, codes.AlreadyExists, aftersalesv1.ErrorReason_RESOURCE_EXISTS)

			// The model cannot change; bad values are refused on update.
			_, err = update(&aftersalesv1.MaintenancePlan{Name: second.GetName(), Model: "DW-4"}, "model")
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_UPDATE_MASK)
			_, err = update(&aftersalesv1.MaintenancePlan{Name: second.GetName(), IntervalMonths: 0}, "interval_months")
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			_, err = update(&aftersalesv1.MaintenancePlan{Name: "maintenancePlans/nothing", IntervalMonths: 3}, "interval_months")
			requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			_, err = ms.ListMaintenanceVisits(mgr, &aftersalesv1.ListMaintenanceVisitsRequest{Parent: "maintenancePlans/nothing"})
			requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)

			// An inactive owner is refused.
			_, err = e.staff.UpdateStaff(e.admin(), &aftersalesv1.UpdateStaffRequest{
				Staff: &aftersalesv1.Staff{Name: f.technician.GetName(), Active: false}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}},
			})
			require.NoError(t, err)
			_, err = update(&aftersalesv1.MaintenancePlan{Name: second.GetName(), Owner: f.technician.GetName()}, "owner")
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)

			// The active plan opens the due product's inspection.
			require.Equal(t, 1, e.pass())
			vs := e.visits(second)[p.GetName()]
			require.Len(t, vs, 1)
			tk, err := e.tickets.GetTicket(mgr, &aftersalesv1.GetTicketRequest{Name: vs[0].GetTicket()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_INSPECTION, tk.GetType())
			require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_UNKNOWN, tk.GetWarrantyStatus(), "from the product, which has no warranty end")

			// A product whose model is corrected to the plan's joins it,
			// though registered before the products the plan reached.
			require.Zero(t, e.pass())
			_, err = e.customers.UpdateProduct(e.admin(), &aftersalesv1.UpdateProductRequest{
				Product: &aftersalesv1.Product{Name: typo.GetName(), Model: "DW-3"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"model"}},
			})
			require.NoError(t, err)
			e.clock.Advance(2 * time.Minute)
			require.Equal(t, 1, e.pass())
			require.Len(t, e.visits(second)[typo.GetName()], 1)

			// One corrected away from it leaves it: due within the lead,
			// it opens nothing.
			moved := e.unit(f, "DW-3", ago(e.clock.Now(), 12, -20))
			e.clock.Advance(2 * time.Minute)
			require.Zero(t, e.pass(), "due in 20 days, outside the 7-day lead")
			_, err = e.customers.UpdateProduct(e.admin(), &aftersalesv1.UpdateProductRequest{
				Product: &aftersalesv1.Product{Name: moved.GetName(), Model: "DW-4"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"model"}},
			})
			require.NoError(t, err)
			e.clock.Advance(15 * 24 * time.Hour)
			require.Zero(t, e.pass())
			require.Empty(t, e.visits(second)[moved.GetName()])

			plans, err := ms.ListMaintenancePlans(as(f.agent.GetName()), &aftersalesv1.ListMaintenancePlansRequest{Filter: "active = true"})
			require.NoError(t, err)
			require.Len(t, plans.GetMaintenancePlans(), 1)
			require.Equal(t, second.GetName(), plans.GetMaintenancePlans()[0].GetName())
		})
	}
}
