package service_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestCostMetrics: warranty work costs what its claims say (the approved
// amount once reviewed, the claimed one while pending, nothing once
// rejected), company technicians' work what the schedule prices it at,
// and paid work nothing; per ticket rounded half to even; the fault
// statistics carry the same cost; managers only.
func TestCostMetrics(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, fastReports)
			f := e.seed()
			c := &claimCase{env: e, f: f, mgr: as(f.manager.GetName()), shop: as(f.partner.GetName()),
				agent: as(f.agent.GetName()), tech: as(f.technician.GetName())}
			e.publishSchedule(testSchedule())
			res := func(category, code string, parts ...any) *aftersalesv1.Resolution {
				r := withParts(parts...)
				r.FaultCategory, r.FaultCode = category, code
				return r
			}

			// Shop, pump ×2: 150 + 241.00 + 50 = 441.00, adjusted to 400.00.
			a := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			require.NoError(t, c.shopWork(a, res("PLUMBING", "P1", "P-PUMP", 2)))
			ca := c.claimOf(a)
			require.Equal(t, int64(44100), minor(t, ca.GetClaimedAmount()))
			_, err := c.claims.AdjustWarrantyClaim(c.mgr, &aftersalesv1.AdjustWarrantyClaimRequest{Name: ca.GetName(), ApprovedAmount: yuan(400, 0), Reason: "pump price capped"})
			require.NoError(t, err)
			// Shop, pump ×1, pending: 150 + 120.50 + 50 = 320.50.
			b := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			require.NoError(t, c.shopWork(b, res("ELECTRICAL", "E1", "P-PUMP", 1)))
			// Company technician, no parts: 150 + 50 = 200.00.
			d := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			require.NoError(t, c.techWork(d, res("PLUMBING", "P1")))
			// Shop, rejected: costs nothing.
			r := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			require.NoError(t, c.shopWork(r, res("PLUMBING", "P1", "P-BRUSH", 1)))
			_, err = c.claims.RejectWarrantyClaim(c.mgr, &aftersalesv1.RejectWarrantyClaimRequest{Name: c.claimOf(r).GetName(), Reason: "not a warranty fault"})
			require.NoError(t, err)
			// Paid work (out of warranty, quoted and approved) is no cost.
			p := c.openTicket(f.outOfWarranty, aftersalesv1.Ticket_REPAIR)
			q, err := e.tickets.QuoteTicket(c.agent, &aftersalesv1.QuoteTicketRequest{Name: p, Quote: &aftersalesv1.Quote{
				Lines: []*aftersalesv1.ChargeLine{{Code: "LAB-REPAIR-WASHER", Quantity: 1}}}})
			require.NoError(t, err)
			_, err = e.tickets.ApproveTicketFee(as(f.customer.GetName()), &aftersalesv1.ApproveTicketFeeRequest{Name: p, Approved: true, QuoteRevision: q.GetQuote().GetRevision()})
			require.NoError(t, err)
			require.NoError(t, c.shopWork(p, res("PLUMBING", "P1")))
			require.Nil(t, c.claimOf(p))

			req := &aftersalesv1.GetCostMetricsRequest{StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 1)), CurrencyCode: "CNY"}
			m, err := e.reports.GetCostMetrics(c.mgr, req)
			require.NoError(t, err)
			split := func(s *aftersalesv1.CostSplit) []int64 {
				return []int64{s.GetTickets(), minor(t, s.GetCost()), minor(t, s.GetCostPerTicket())}
			}
			assert.Equal(t, []int64{3, 92050, 30683}, split(m.GetTotal()), "920.50 / 3 = 306.833… → 306.83")
			assert.Equal(t, []int64{2, 72050, 36025}, split(m.GetPartners()))
			assert.Equal(t, []int64{1, 20000, 20000}, split(m.GetCompany()))
			require.Len(t, m.GetRows(), 2)
			e1, p1 := m.GetRows()[0], m.GetRows()[1]
			assert.Equal(t, []string{"WM-8000", "ELECTRICAL", "E1"}, []string{e1.GetProductModel(), e1.GetFaultCategory(), e1.GetFaultCode()})
			assert.Equal(t, []int64{1, 32050, 32050}, []int64{e1.GetTickets(), minor(t, e1.GetCost()), minor(t, e1.GetPartnerCost())})
			assert.Equal(t, []int64{2, 60000, 40000, 30000}, []int64{p1.GetTickets(), minor(t, p1.GetCost()), minor(t, p1.GetPartnerCost()), minor(t, p1.GetCostPerTicket())})

			t.Run("another currency has no cost", func(t *testing.T) {
				eur, err := e.reports.GetCostMetrics(c.mgr, &aftersalesv1.GetCostMetricsRequest{StartTime: req.GetStartTime(), EndTime: req.GetEndTime(), CurrencyCode: "EUR"})
				require.NoError(t, err)
				assert.Zero(t, eur.GetTotal().GetTickets())
				assert.Nil(t, eur.GetTotal().GetCostPerTicket())
			})
			t.Run("bad requests", func(t *testing.T) {
				_, err := e.reports.GetCostMetrics(c.mgr, &aftersalesv1.GetCostMetricsRequest{StartTime: req.GetStartTime(), EndTime: req.GetEndTime()})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				_, err = e.reports.GetCostMetrics(c.mgr, &aftersalesv1.GetCostMetricsRequest{StartTime: req.GetStartTime(), EndTime: req.GetEndTime(), CurrencyCode: "XYZ"})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				_, err = e.reports.GetCostMetrics(c.shop, req)
				requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
			})
			t.Run("as CSV", func(t *testing.T) {
				got := e.doWith("GET", "/v1/costMetrics?startTime="+day(e, 0).Format("2006-01-02T15:04:05Z")+"&endTime="+day(e, 1).Format("2006-01-02T15:04:05Z")+"&currencyCode=CNY",
					f.manager.GetName(), nil, http.Header{"Accept": {"text/csv"}})
				require.Equal(t, http.StatusOK, got.status, string(got.raw))
				lines := strings.Split(strings.TrimSpace(string(got.raw)), "\n")
				require.Len(t, lines, 3)
				assert.Equal(t, "product_model,fault_category,fault_code,tickets,cost_currency_code,cost,partner_cost_currency_code,partner_cost,cost_per_ticket_currency_code,cost_per_ticket", lines[0])
				assert.Equal(t, "WM-8000,PLUMBING,P1,2,CNY,600.00,CNY,400.00,CNY,300.00", lines[2])
			})
			t.Run("the fault statistics carry it", func(t *testing.T) {
				e.caughtUp(f.manager.GetName())
				fs, err := e.reports.GetFaultStatistics(c.mgr, &aftersalesv1.GetFaultStatisticsRequest{StartTime: req.GetStartTime(), EndTime: req.GetEndTime(), CurrencyCode: "CNY"})
				require.NoError(t, err)
				cost := map[string]int64{}
				for _, row := range fs.GetRows() {
					cost[row.GetProductModel()+"/"+row.GetFaultCode()] = minor(t, row.GetWarrantyCost())
				}
				// WM-7000/P1 is the paid repair: a fault, at no warranty cost.
				assert.Equal(t, map[string]int64{"WM-8000/E1": 32050, "WM-8000/P1": 60000, "WM-7000/P1": 0}, cost)
				plain, err := e.reports.GetFaultStatistics(c.mgr, &aftersalesv1.GetFaultStatisticsRequest{StartTime: req.GetStartTime(), EndTime: req.GetEndTime()})
				require.NoError(t, err)
				assert.Nil(t, plain.GetRows()[0].GetWarrantyCost(), "no currency, no cost")
			})
		})
	}
}
