package service

import (
	"context"

	moneypb "google.golang.org/genproto/googleapis/type/money"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/money"
	"github.com/aftersales/aftersales/server/internal/store"
)

// Cost figures: what warranty work cost the company, read from the
// warranty claims (claim.go), which also price company technicians' work
// (partner_id ''). A claim counts at what the company pays: the approved
// amount once reviewed, the claimed amount while it waits; a rejected
// claim, or one held while its ticket is reopened, costs nothing.

// costKey groups claims by model and fault code.
type costKey struct{ model, category, code string }

// costCount is one aggregate row of warranty_claims.
type costCount struct {
	ProductModel  string
	FaultCategory string
	FaultCode     string
	ByPartner     int64
	N             int64
	Cost          int64
}

// costs sums the claims resolved in w in currency, by model, fault code
// and whether a partner did the work; partner and model narrow them when
// set.
func costs(db *gorm.DB, w window, currency, partner, model string) ([]costCount, error) {
	q := db.Model(&store.WarrantyClaim{}).
		Select("product_model, fault_category, fault_code, "+
			"CASE WHEN partner_id = '' THEN 0 ELSE 1 END AS by_partner, COUNT(*) AS n, "+
			"SUM(CASE WHEN state IN ? THEN approved_minor ELSE claimed_minor END) AS cost",
			[]int32{int32(aftersalesv1.WarrantyClaim_APPROVED), int32(aftersalesv1.WarrantyClaim_SETTLED)}).
		Where("resolve_time >= ? AND resolve_time < ? AND currency = ? AND state IN ?", dayStart(w.start), dayStart(w.end), currency,
			[]int32{int32(aftersalesv1.WarrantyClaim_SUBMITTED), int32(aftersalesv1.WarrantyClaim_APPROVED), int32(aftersalesv1.WarrantyClaim_SETTLED)})
	if partner != "" {
		q = q.Where("partner_id = ?", partner)
	}
	if model != "" {
		q = q.Where("product_model = ?", model)
	}
	var rows []costCount
	err := q.Group("product_model").Group("fault_category").Group("fault_code").Group("by_partner").
		Order("product_model").Order("fault_category").Order("fault_code").Scan(&rows).Error
	return rows, store.Translate(err)
}

func (s *reportServer) GetCostMetrics(ctx context.Context, req *aftersalesv1.GetCostMetricsRequest) (*aftersalesv1.CostMetrics, error) {
	w, err := parseWindow(req.GetStartTime(), req.GetEndTime())
	if err != nil {
		return nil, err
	}
	if _, err := money.Digits(req.GetCurrencyCode()); err != nil {
		return nil, apierr.InvalidField("currency_code", "is required: "+err.Error())
	}
	cur := req.GetCurrencyCode()
	rows, err := costs(s.db.Gorm(ctx), w, cur, "", req.GetProductModel())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var total, partners, company costTally
	byKey := map[costKey]*aftersalesv1.CostRow{}
	out := &aftersalesv1.CostMetrics{StartTime: req.GetStartTime(), EndTime: req.GetEndTime(), CurrencyCode: cur}
	partnerCost := map[costKey]int64{}
	cost := map[costKey]costTally{}
	for _, r := range rows {
		k := costKey{r.ProductModel, r.FaultCategory, r.FaultCode}
		if byKey[k] == nil {
			byKey[k] = &aftersalesv1.CostRow{ProductModel: r.ProductModel, FaultCategory: r.FaultCategory, FaultCode: r.FaultCode}
			out.Rows = append(out.Rows, byKey[k])
		}
		c := cost[k]
		c.add(r.N, r.Cost)
		cost[k] = c
		total.add(r.N, r.Cost)
		if r.ByPartner == 1 {
			partners.add(r.N, r.Cost)
			partnerCost[k] += r.Cost
		} else {
			company.add(r.N, r.Cost)
		}
	}
	for k, row := range byKey {
		c := cost[k]
		row.Tickets, row.Cost, row.CostPerTicket = c.tickets, moneyOut(cur, c.minor), c.perTicket(cur)
		row.PartnerCost = moneyOut(cur, partnerCost[k])
	}
	out.Total, out.Partners, out.Company = total.split(cur), partners.split(cur), company.split(cur)
	return out, nil
}

// costTally adds up tickets and their cost.
type costTally struct{ tickets, minor int64 }

func (c *costTally) add(n, minor int64) { c.tickets, c.minor = c.tickets+n, c.minor+minor }

// perTicket is the mean cost, to the minor unit, half to even; nil
// without tickets.
func (c costTally) perTicket(cur string) *moneypb.Money {
	if c.tickets == 0 {
		return nil
	}
	return money.Amount{Currency: cur, Minor: c.minor}.DivRound(c.tickets).Proto()
}

func (c costTally) split(cur string) *aftersalesv1.CostSplit {
	return &aftersalesv1.CostSplit{Tickets: c.tickets, Cost: moneyOut(cur, c.minor), CostPerTicket: c.perTicket(cur)}
}

// warrantyCosts gives each fault row its warranty cost in currency (the
// manufacturing report's view of GetCostMetrics).
func warrantyCosts(db *gorm.DB, w window, currency, partner, model string, rows []*aftersalesv1.FaultRow) error {
	counts, err := costs(db, w, currency, partner, model)
	if err != nil {
		return err
	}
	sum := map[costKey]int64{}
	for _, c := range counts {
		sum[costKey{c.ProductModel, c.FaultCategory, c.FaultCode}] += c.Cost
	}
	for _, r := range rows {
		r.WarrantyCost = moneyOut(currency, sum[costKey{r.GetProductModel(), r.GetFaultCategory(), r.GetFaultCode()}])
	}
	return nil
}
