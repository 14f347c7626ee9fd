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
	"github.com/aftersales/aftersales/server/internal/maintenanceflow"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// read records a product's usage reading over gRPC.
func (e *env) read(p *aftersalesv1.Product, reading int64) (*aftersalesv1.Product, error) {
	return e.customers.UpdateProduct(e.admin(), &aftersalesv1.UpdateProductRequest{
		Product:    &aftersalesv1.Product{Name: p.GetName(), UsageReading: reading},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"usage_reading"}},
	})
}

// mustRead is read that must succeed.
func (e *env) mustRead(p *aftersalesv1.Product, reading int64) *aftersalesv1.Product {
	e.t.Helper()
	out, err := e.read(p, reading)
	require.NoError(e.t, err)
	return out
}

// resolveVisit has the fixture's technician do the visit's work.
func (e *env) resolveVisit(f *fixture, v *aftersalesv1.MaintenanceVisit) *aftersalesv1.Ticket {
	e.t.Helper()
	agent, tech := as(f.agent.GetName()), as(f.technician.GetName())
	_, err := e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: v.GetTicket(), Assignee: f.technician.GetName()})
	require.NoError(e.t, err)
	_, err = e.tickets.AcceptTicket(tech, &aftersalesv1.AcceptTicketRequest{Name: v.GetTicket()})
	require.NoError(e.t, err)
	_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: v.GetTicket()})
	require.NoError(e.t, err)
	tk, err := e.tickets.ResolveTicket(tech, &aftersalesv1.ResolveTicketRequest{Name: v.GetTicket(), Resolution: validResolution()})
	require.NoError(e.t, err)
	return tk
}

// TestMaintenanceByUsage: a plan every 500 hours, opened 30 hours ahead,
// opens a product's visit once its reading reaches 470, exactly once
// however many replicas run; meters never run backwards; resolving the
// visit sets the next due reading 500 hours past the reading then, and
// cancelling 500 past the due reading it missed.
func TestMaintenanceByUsage(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			urls := storetest.ReplicaURLs(t, dialect, 2) // on Galera, two nodes
			e := startURL(t, urls[0], manualMaintenance)
			replica := startURL(t, urls[1], manualMaintenance)
			f := e.seed()
			now := e.clock.Now()
			gen := e.unit(f, "GEN-7", ago(now, 1, 0))
			require.Zero(t, gen.GetUsageReading())
			require.Nil(t, gen.GetUsageReadTime())

			plan, err := e.maintenance().CreateMaintenancePlan(as(f.manager.GetName()), &aftersalesv1.CreateMaintenancePlanRequest{
				MaintenancePlan: &aftersalesv1.MaintenancePlan{
					DisplayName: "Generator service", Model: "GEN-7", IntervalUsage: 500, UsageUnit: "hours", UsageLead: 30, FreeOfCharge: true,
				},
			})
			require.NoError(t, err)
			require.Zero(t, plan.GetIntervalMonths(), "not by date")
			require.EqualValues(t, 500, plan.GetIntervalUsage())
			require.Equal(t, "hours", plan.GetUsageUnit())
			require.EqualValues(t, 30, plan.GetUsageLead())

			advance := func(d time.Duration) { e.clock.Advance(d); replica.clock.Advance(d) }
			advance(2 * time.Minute)
			require.Zero(t, e.pass(), "at 0 hours nothing is due")
			advance(20 * 24 * time.Hour)
			require.Zero(t, e.pass(), "a plan by usage only never comes due by date")

			read := e.mustRead(gen, 460)
			require.EqualValues(t, 460, read.GetUsageReading())
			require.Equal(t, e.clock.Now(), read.GetUsageReadTime().AsTime())
			require.Zero(t, e.pass(), "460 < 500 - 30")

			// Meters do not run backwards.
			_, err = e.read(gen, 455)
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			require.Equal(t, []string{"product.usage_reading"}, fieldsOf(err))
			r := e.do(http.MethodPatch, "/v1/"+gen.GetName(), f.customer.GetName(), map[string]any{"usageReading": "-1"})
			requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			require.Contains(t, jsonFieldViolations(r), "product.usage_reading")

			// The same reading again changes nothing, not even its time.
			advance(time.Hour)
			require.Equal(t, read.GetUsageReadTime().AsTime(), e.mustRead(gen, 460).GetUsageReadTime().AsTime())

			// The customer reports 470 hours over JSON: within the lead.
			advance(time.Hour)
			r = e.do(http.MethodPatch, "/v1/"+gen.GetName(), f.customer.GetName(), map[string]any{"usageReading": "470"})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "470", r.body["usageReading"])
			reachedAt := e.clock.Now()

			// Two replicas at once, twice over, then once more.
			var wg sync.WaitGroup
			opened := make([]int, 4)
			for i, rep := range []*env{e, replica, e, replica} {
				wg.Go(func() {
					n, err := rep.app.Services().OpenDueVisits(context.Background())
					opened[i] = n
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			require.Equal(t, 1, opened[0]+opened[1]+opened[2]+opened[3], "one visit, whoever ran")
			require.Zero(t, e.pass())

			vs := e.visits(plan)[gen.GetName()]
			require.Len(t, vs, 1)
			v := vs[0]
			require.Equal(t, aftersalesv1.MaintenanceVisit_OPEN, v.GetState())
			require.EqualValues(t, 500, v.GetDueUsage())
			require.Equal(t, reachedAt, v.GetDueTime().AsTime(), "due when the reading reached it")
			tk, err := e.tickets.GetTicket(e.admin(), &aftersalesv1.GetTicketRequest{Name: v.GetTicket()})
			require.NoError(t, err)
			require.Contains(t, tk.GetDescription(), "at 500 hours (reading 470)")

			// Further readings while it is open open nothing more.
			e.mustRead(gen, 480)
			require.Zero(t, e.pass())

			// Done at 480 hours: next due at 980.
			advance(time.Hour)
			e.resolveVisit(f, v)
			v = e.visits(plan)[gen.GetName()][0]
			require.Equal(t, aftersalesv1.MaintenanceVisit_DONE, v.GetState())
			require.EqualValues(t, 980, v.GetNextDueUsage())
			require.Nil(t, v.GetNextDueTime(), "not by date")
			e.mustRead(gen, 949)
			require.Zero(t, e.pass(), "949 < 980 - 30")
			e.mustRead(gen, 950)
			require.Equal(t, 1, e.pass())
			vs = e.visits(plan)[gen.GetName()]
			require.Len(t, vs, 2)
			require.EqualValues(t, 980, vs[1].GetDueUsage())

			// Cancelled: next due 500 past the reading it missed, 1480,
			// whatever the reading now.
			e.mustRead(gen, 1100)
			_, err = e.tickets.CancelTicket(as(f.agent.GetName()), &aftersalesv1.CancelTicketRequest{Name: vs[1].GetTicket(), Reason: "customer declined"})
			require.NoError(t, err)
			r = e.do(http.MethodGet, "/v1/"+plan.GetName()+"/visits?filter=state%20%3D%20CANCELLED", f.agent.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			list, _ := r.body["visits"].([]any)
			require.Len(t, list, 1)
			require.Equal(t, "980", list[0].(map[string]any)["dueUsage"])
			require.Equal(t, "1480", list[0].(map[string]any)["nextDueUsage"])
			require.Zero(t, e.pass())

			// Cancelled with the meter already past the next due reading
			// (less the lead): the next visit is due at once. (The clock
			// moves on: a visit is one per due time.)
			advance(time.Second)
			e.mustRead(gen, 1450)
			require.Equal(t, 1, e.pass())
			vs = e.visits(plan)[gen.GetName()]
			require.Len(t, vs, 3)
			advance(time.Second)
			e.mustRead(gen, 1960)
			_, err = e.tickets.CancelTicket(as(f.agent.GetName()), &aftersalesv1.CancelTicketRequest{Name: vs[2].GetTicket(), Reason: "customer away"})
			require.NoError(t, err)
			require.Equal(t, 1, e.pass())
			vs = e.visits(plan)[gen.GetName()]
			require.Len(t, vs, 4)
			require.EqualValues(t, 1980, vs[3].GetDueUsage())

			// Read over JSON, the plan says its interval and unit.
			r = e.do(http.MethodGet, "/v1/"+plan.GetName(), f.agent.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "500", r.body["intervalUsage"])
			require.Equal(t, "hours", r.body["usageUnit"])
			require.Equal(t, "30", r.body["usageLead"])
		})
	}
}

// TestMaintenanceByMonthsOrUsage: a plan by both opens a product's visit
// at whichever comes first, its due date or its due reading, and after
// the visit sets both again.
func TestMaintenanceByMonthsOrUsage(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, manualMaintenance)
			f := e.seed()
			now := e.clock.Now()
			// Due by date in 10 days (lead 7), and a heavily used one
			// bought a month ago.
			light := e.unit(f, "WM-9", ago(now, 12, -10))
			heavy := e.unit(f, "WM-9", ago(now, 1, 0))
			plan, err := e.maintenance().CreateMaintenancePlan(as(f.manager.GetName()), &aftersalesv1.CreateMaintenancePlanRequest{
				MaintenancePlan: &aftersalesv1.MaintenancePlan{
					DisplayName: "Washer service", Model: "WM-9", IntervalMonths: 12, IntervalUsage: 1000, UsageUnit: "cycles",
					LeadTime: durationpb.New(7 * 24 * time.Hour), FreeOfCharge: true,
				},
			})
			require.NoError(t, err)
			e.clock.Advance(2 * time.Minute)
			require.Zero(t, e.pass())

			// The heavy one reaches 1000 cycles long before its date.
			e.mustRead(heavy, 1000)
			require.Equal(t, 1, e.pass())
			hv := e.visits(plan)[heavy.GetName()]
			require.Len(t, hv, 1)
			require.EqualValues(t, 1000, hv[0].GetDueUsage())

			// The light one comes due by date.
			e.clock.Advance(4 * 24 * time.Hour)
			require.Equal(t, 1, e.pass())
			lv := e.visits(plan)[light.GetName()]
			require.Len(t, lv, 1)
			require.Zero(t, lv[0].GetDueUsage(), "due by date")
			require.Equal(t, maintenanceflow.AddMonths(light.GetPurchaseTime().AsTime(), 12), lv[0].GetDueTime().AsTime())

			// Each visit's end sets both: a year on, 1000 cycles on.
			e.mustRead(light, 120)
			tk := e.resolveVisit(f, hv[0])
			_, err = e.tickets.CancelTicket(as(f.agent.GetName()), &aftersalesv1.CancelTicketRequest{Name: lv[0].GetTicket(), Reason: "not home"})
			require.NoError(t, err)
			visits := e.visits(plan)
			hv, lv = visits[heavy.GetName()], visits[light.GetName()]
			require.Equal(t, maintenanceflow.AddMonths(tk.GetResolveTime().AsTime(), 12), hv[0].GetNextDueTime().AsTime())
			require.EqualValues(t, 2000, hv[0].GetNextDueUsage())
			require.Equal(t, maintenanceflow.AddMonths(lv[0].GetDueTime().AsTime(), 12), lv[0].GetNextDueTime().AsTime())
			require.EqualValues(t, 1120, lv[0].GetNextDueUsage(), "due by date: 1000 cycles past the reading when it ended")
			require.Zero(t, e.pass())

			// Usage first again for the heavy one; the light one's date
			// is the earlier of its two.
			e.mustRead(heavy, 2000)
			require.Equal(t, 1, e.pass())
			require.Len(t, e.visits(plan)[heavy.GetName()], 2)
			e.clock.Advance(lv[0].GetNextDueTime().AsTime().Sub(e.clock.Now()))
			require.Equal(t, 1, e.pass())
			lv = e.visits(plan)[light.GetName()]
			require.Len(t, lv, 2)
			require.Zero(t, lv[1].GetDueUsage())
		})
	}
}

// TestMaintenanceUsageRules: a plan needs an interval by months or
// usage; a usage interval needs its unit and a smaller lead, on create
// and on update, over gRPC and JSON; a product registered past its first
// due reading is due at once.
func TestMaintenanceUsageRules(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, manualMaintenance)
			f := e.seed()
			mgr := as(f.manager.GetName())
			ms := e.maintenance()
			e.unit(f, "CMP-1", nil)
			valid := func() *aftersalesv1.MaintenancePlan {
				return &aftersalesv1.MaintenancePlan{DisplayName: "Compressor service", Model: "CMP-1", IntervalUsage: 2000, UsageUnit: "hours", UsageLead: 100}
			}
			for _, c := range []struct {
				name   string
				change func(*aftersalesv1.MaintenancePlan)
				fields []string
			}{
				{"neither interval", func(p *aftersalesv1.MaintenancePlan) { p.IntervalUsage, p.UsageLead = 0, 0 },
					[]string{"maintenance_plan.interval_months", "maintenance_plan.interval_usage"}},
				{"no unit", func(p *aftersalesv1.MaintenancePlan) { p.UsageUnit = " " }, []string{"maintenance_plan.usage_unit"}},
				{"lead as long as the interval", func(p *aftersalesv1.MaintenancePlan) { p.UsageLead = 2000 }, []string{"maintenance_plan.usage_lead"}},
				{"lead without usage", func(p *aftersalesv1.MaintenancePlan) { p.IntervalUsage, p.IntervalMonths = 0, 6 }, []string{"maintenance_plan.usage_lead"}},
				{"negative interval", func(p *aftersalesv1.MaintenancePlan) { p.IntervalUsage = -5 }, []string{"maintenance_plan.interval_usage"}},
				{"long unit", func(p *aftersalesv1.MaintenancePlan) { p.UsageUnit = "operating hours of the unit" }, []string{"maintenance_plan.usage_unit"}},
			} {
				pl := valid()
				c.change(pl)
				_, err := ms.CreateMaintenancePlan(mgr, &aftersalesv1.CreateMaintenancePlanRequest{MaintenancePlan: pl})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				require.Subset(t, fieldsOf(err), c.fields, c.name)
			}
			r := e.do(http.MethodPost, "/v1/maintenancePlans", f.manager.GetName(), map[string]any{
				"displayName": "x", "model": "CMP-1", "intervalUsage": "2000",
			})
			requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			require.Equal(t, []string{"maintenance_plan.usage_unit"}, jsonFieldViolations(r))

			plan, err := ms.CreateMaintenancePlan(mgr, &aftersalesv1.CreateMaintenancePlanRequest{MaintenancePlan: valid()})
			require.NoError(t, err)
			update := func(pl *aftersalesv1.MaintenancePlan, paths ...string) (*aftersalesv1.MaintenancePlan, error) {
				pl.Name = plan.GetName()
				return ms.UpdateMaintenancePlan(mgr, &aftersalesv1.UpdateMaintenancePlanRequest{MaintenancePlan: pl, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
			}
			// Checked together on the plan as it would be.
			_, err = update(&aftersalesv1.MaintenancePlan{UsageLead: 2500}, "usage_lead")
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			require.Equal(t, []string{"maintenance_plan.usage_lead"}, fieldsOf(err))
			_, err = update(&aftersalesv1.MaintenancePlan{}, "usage_unit")
			require.Equal(t, []string{"maintenance_plan.usage_unit"}, fieldsOf(err))
			_, err = update(&aftersalesv1.MaintenancePlan{}, "interval_usage", "usage_lead")
			require.Equal(t, []string{"maintenance_plan.interval_months", "maintenance_plan.interval_usage"}, fieldsOf(err))
			r = e.do(http.MethodPatch, "/v1/"+plan.GetName(), f.manager.GetName(), map[string]any{"usageLead": "1999", "intervalMonths": 24})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "1999", r.body["usageLead"])
			require.EqualValues(t, 24, r.body["intervalMonths"])
			plan, err = update(&aftersalesv1.MaintenancePlan{IntervalMonths: 0, UsageLead: 100}, "interval_months", "usage_lead")
			require.NoError(t, err, "usage alone is enough")

			// A product registered past its first due reading: due at
			// once. A negative reading is refused.
			_, err = e.customers.CreateProduct(e.admin(), &aftersalesv1.CreateProductRequest{
				Parent: f.customer.GetName(), Product: &aftersalesv1.Product{Model: "CMP-1", SerialNumber: "SN-NEG", UsageReading: -1},
			})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			used, err := e.customers.CreateProduct(e.admin(), &aftersalesv1.CreateProductRequest{
				Parent: f.customer.GetName(), Product: &aftersalesv1.Product{Model: "CMP-1", SerialNumber: "SN-USED", UsageReading: 2300},
			})
			require.NoError(t, err)
			require.EqualValues(t, 2300, used.GetUsageReading())
			require.Equal(t, used.GetCreateTime().AsTime(), used.GetUsageReadTime().AsTime())
			e.clock.Advance(2 * time.Minute)
			require.Equal(t, 1, e.pass())
			vs := e.visits(plan)
			require.Len(t, vs, 1)
			require.EqualValues(t, 2000, vs[used.GetName()][0].GetDueUsage())
		})
	}
}
