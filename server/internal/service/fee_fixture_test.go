package service_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	moneypb "google.golang.org/genproto/googleapis/type/money"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/money"
)

// yuan is an amount in CNY: yuan(150, 50) is ¥150.50.
func yuan(units int64, fen int32) *moneypb.Money {
	return &moneypb.Money{CurrencyCode: "CNY", Units: units, Nanos: fen * 10_000_000}
}

// testSchedule is the price list the fee tests publish: washers (the
// fixture's WM-8000 and WM-7000) in category WASHER.
func testSchedule() *aftersalesv1.FeeSchedule {
	return &aftersalesv1.FeeSchedule{
		DisplayName: "2027 price list", CurrencyCode: "CNY",
		Categories: []*aftersalesv1.ProductCategory{{Category: "WASHER", Models: []string{"WM-8000", "WM-7000"}}},
		Lines: []*aftersalesv1.FeeLine{
			{Code: "LAB-REPAIR-WASHER", Kind: aftersalesv1.FeeKind_FEE_KIND_LABOR, Description: "Washer repair", UnitPrice: yuan(150, 0), TicketType: aftersalesv1.Ticket_REPAIR, ProductCategory: "WASHER"},
			{Code: "LAB-ANY", Kind: aftersalesv1.FeeKind_FEE_KIND_LABOR, Description: "Standard job", UnitPrice: yuan(100, 0)},
			{Code: "P-BRUSH", Kind: aftersalesv1.FeeKind_FEE_KIND_PART, Description: "Motor brushes", UnitPrice: yuan(40, 0)},
			{Code: "P-PUMP", Kind: aftersalesv1.FeeKind_FEE_KIND_PART, Description: "Drain pump", UnitPrice: yuan(120, 50)},
			{Code: "CALL-PUDONG", Kind: aftersalesv1.FeeKind_FEE_KIND_CALL_OUT, Description: "Call-out, Pudong", UnitPrice: yuan(30, 0), Region: "Pudong"},
			{Code: "CALL-ANY", Kind: aftersalesv1.FeeKind_FEE_KIND_CALL_OUT, Description: "Call-out", UnitPrice: yuan(50, 0)},
		},
	}
}

// publishSchedule creates s through FeeService as an admin and publishes
// it, in effect now.
func (e *env) publishSchedule(s *aftersalesv1.FeeSchedule) *aftersalesv1.FeeSchedule {
	e.t.Helper()
	created, err := e.fees.CreateFeeSchedule(e.admin(), &aftersalesv1.CreateFeeScheduleRequest{FeeSchedule: s})
	require.NoError(e.t, err)
	published, err := e.fees.PublishFeeSchedule(e.admin(), &aftersalesv1.PublishFeeScheduleRequest{Name: created.GetName(), Etag: created.GetEtag()})
	require.NoError(e.t, err)
	return published
}

// minor is an amount in its currency's minor unit, exactly.
func minor(t *testing.T, m *moneypb.Money) int64 {
	t.Helper()
	a, err := money.FromProto(m)
	require.NoError(t, err, "%v", m)
	return a.Minor
}
