package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	moneypb "google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestFeeSchedule: a price list is drafted, published and then never
// changes; bad schedules are refused whole; customers read their
// products' prices and anyone the public lookup.
func TestFeeSchedule(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			manager, agent := as(f.manager.GetName()), as(f.agent.GetName())

			t.Run("nothing published yet", func(t *testing.T) {
				r := e.do("GET", "/v1/fees:lookup?model=WM-8000", "", nil)
				requireHTTP(t, r, http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_NO_FEE_SCHEDULE)
			})

			draft, err := e.fees.CreateFeeSchedule(manager, &aftersalesv1.CreateFeeScheduleRequest{FeeSchedule: testSchedule()})
			require.NoError(t, err)
			assert.Equal(t, aftersalesv1.FeeSchedule_DRAFT, draft.GetState())
			require.Len(t, draft.GetLines(), 6)
			assert.True(t, proto.Equal(yuan(120, 50), draft.GetLines()[3].GetUnitPrice()), "prices are exact: %v", draft.GetLines()[3].GetUnitPrice())

			t.Run("drafts are the managers'", func(t *testing.T) {
				_, err := e.fees.GetFeeSchedule(agent, &aftersalesv1.GetFeeScheduleRequest{Name: draft.GetName()})
				requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
				got, err := e.fees.ListFeeSchedules(agent, &aftersalesv1.ListFeeSchedulesRequest{})
				require.NoError(t, err)
				assert.Empty(t, got.GetFeeSchedules())
			})

			t.Run("edit a draft", func(t *testing.T) {
				_, err := e.fees.UpdateFeeSchedule(manager, &aftersalesv1.UpdateFeeScheduleRequest{
					FeeSchedule: &aftersalesv1.FeeSchedule{Name: draft.GetName(), DisplayName: "stale", Etag: "W/\"x\""},
					UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
				})
				requireCode(t, err, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
				draft, err = e.fees.UpdateFeeSchedule(manager, &aftersalesv1.UpdateFeeScheduleRequest{
					FeeSchedule: &aftersalesv1.FeeSchedule{Name: draft.GetName(), DisplayName: "2027 price list (final)", Etag: draft.GetEtag()},
					UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
				})
				require.NoError(t, err)
				assert.Equal(t, "2027 price list (final)", draft.GetDisplayName())
				assert.Len(t, draft.GetLines(), 6, "lines stay when not in the mask")
			})

			published, err := e.fees.PublishFeeSchedule(manager, &aftersalesv1.PublishFeeScheduleRequest{Name: draft.GetName(), Etag: draft.GetEtag()})
			require.NoError(t, err)
			assert.Equal(t, aftersalesv1.FeeSchedule_PUBLISHED, published.GetState())
			assert.NotNil(t, published.GetEffectiveTime())

			t.Run("published never changes", func(t *testing.T) {
				_, err := e.fees.UpdateFeeSchedule(manager, &aftersalesv1.UpdateFeeScheduleRequest{
					FeeSchedule: &aftersalesv1.FeeSchedule{Name: published.GetName(), Lines: testSchedule().GetLines()[:1]},
					UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"lines"}},
				})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_FEE_SCHEDULE_PUBLISHED)
				_, err = e.fees.PublishFeeSchedule(manager, &aftersalesv1.PublishFeeScheduleRequest{Name: published.GetName()})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_FEE_SCHEDULE_PUBLISHED)
				got, err := e.fees.GetFeeSchedule(as(f.partnerTech.GetName()), &aftersalesv1.GetFeeScheduleRequest{Name: published.GetName()})
				require.NoError(t, err)
				assert.Len(t, got.GetLines(), 6)
				assert.Equal(t, published.GetEtag(), got.GetEtag())
			})

			t.Run("bad schedules", func(t *testing.T) {
				before, err := e.fees.ListFeeSchedules(manager, &aftersalesv1.ListFeeSchedulesRequest{})
				require.NoError(t, err)
				cases := []struct {
					name   string
					edit   func(s *aftersalesv1.FeeSchedule)
					reason aftersalesv1.ErrorReason
					field  string
				}{
					{"price in another currency", func(s *aftersalesv1.FeeSchedule) {
						s.Lines[2].UnitPrice = &moneypb.Money{CurrencyCode: "EUR", Units: 4}
					}, aftersalesv1.ErrorReason_CURRENCY_MISMATCH, "fee_schedule.lines[2].unit_price.currency_code"},
					{"a fraction of a fen", func(s *aftersalesv1.FeeSchedule) {
						s.Lines[0].UnitPrice = &moneypb.Money{CurrencyCode: "CNY", Units: 1, Nanos: 5_000_000}
					}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "fee_schedule.lines[0].unit_price"},
					{"negative price", func(s *aftersalesv1.FeeSchedule) {
						s.Lines[1].UnitPrice = &moneypb.Money{CurrencyCode: "CNY", Units: -1}
					}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "fee_schedule.lines[1].unit_price"},
					{"unknown currency", func(s *aftersalesv1.FeeSchedule) {
						s.CurrencyCode = "ABC"
					}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "fee_schedule.currency_code"},
					{"code twice", func(s *aftersalesv1.FeeSchedule) {
						s.Lines[3].Code = "P-BRUSH"
					}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "fee_schedule.lines[3].code"},
					{"model in two categories", func(s *aftersalesv1.FeeSchedule) {
						s.Categories = append(s.Categories, &aftersalesv1.ProductCategory{Category: "DRYER", Models: []string{"WM-8000"}})
					}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "fee_schedule.categories[1].models[0]"},
					{"labour for an unknown category", func(s *aftersalesv1.FeeSchedule) {
						s.Lines[0].ProductCategory = "FRIDGE"
					}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "fee_schedule.lines[0].product_category"},
					{"part with a ticket type", func(s *aftersalesv1.FeeSchedule) {
						s.Lines[2].TicketType = aftersalesv1.Ticket_REPAIR
					}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "fee_schedule.lines[2]"},
					{"two call-outs for a region", func(s *aftersalesv1.FeeSchedule) {
						s.Lines[5].Region = "Pudong"
					}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "fee_schedule.lines[5].region"},
					{"no kind", func(s *aftersalesv1.FeeSchedule) {
						s.Lines[1].Kind = aftersalesv1.FeeKind_FEE_KIND_UNSPECIFIED
					}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "fee_schedule.lines[1].kind"},
				}
				for _, c := range cases {
					s := testSchedule()
					c.edit(s)
					_, err := e.fees.CreateFeeSchedule(manager, &aftersalesv1.CreateFeeScheduleRequest{FeeSchedule: s, RequestId: ids.New()})
					requireCode(t, err, codes.InvalidArgument, c.reason)
					fields := []string{}
					for _, v := range apierr.FieldViolations(err) {
						fields = append(fields, v.Field)
					}
					assert.Contains(t, fields, c.field, c.name)
				}
				after, err := e.fees.ListFeeSchedules(manager, &aftersalesv1.ListFeeSchedulesRequest{})
				require.NoError(t, err)
				assert.Len(t, after.GetFeeSchedules(), len(before.GetFeeSchedules()), "a refused schedule leaves nothing behind")
			})

			t.Run("the change feed", func(t *testing.T) {
				filter := `resource_type = "fee_schedule"`
				assert.Equal(t, []string{"fee_schedule.created", "fee_schedule.updated", "fee_schedule.state_changed"},
					types(e.feed(manager, 0, filter), published.GetName()), "those who set prices follow the price list")
				assert.Empty(t, e.feed(agent, 0, filter), "drafts are not the call center's")
				assert.Empty(t, e.feed(as(f.partner.GetName()), 0, filter))
			})

			t.Run("a customer reads the prices of their product", func(t *testing.T) {
				pf, err := e.fees.GetProductFees(as(f.customer.GetName()), &aftersalesv1.GetProductFeesRequest{Product: f.inWarranty.GetName()})
				require.NoError(t, err)
				assert.Equal(t, published.GetName(), pf.GetFeeSchedule())
				assert.Equal(t, "WASHER", pf.GetProductCategory())
				var labour []string
				for _, l := range pf.GetLabor() {
					labour = append(labour, l.GetCode())
				}
				assert.ElementsMatch(t, []string{"LAB-REPAIR-WASHER", "LAB-ANY"}, labour)
				assert.Len(t, pf.GetParts(), 2)
				assert.Equal(t, "CALL-ANY", pf.GetCallOut().GetCode(), "a product without a region gets the default call-out")

				other, err := e.customers.CreateCustomer(e.admin(), &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{
					DisplayName: "Li Na", Phone: "+8613900139000", ExternalId: "login-" + ids.New(),
				}})
				require.NoError(t, err)
				e.login(other)
				_, err = e.fees.GetProductFees(as(other.GetName()), &aftersalesv1.GetProductFeesRequest{Product: f.inWarranty.GetName()})
				requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			})

			t.Run("anyone looks prices up without signing in", func(t *testing.T) {
				r := e.do("GET", "/v1/fees:lookup?model=WM-8000&region=Pudong", "", nil)
				require.Equal(t, http.StatusOK, r.status, string(r.raw))
				callOut := r.body["callOut"].(map[string]any)
				assert.Equal(t, "CALL-PUDONG", callOut["code"])
				assert.Equal(t, map[string]any{"currencyCode": "CNY", "units": "30"}, callOut["unitPrice"])
				r = e.do("GET", "/v1/fees:lookup", "", nil)
				assert.Equal(t, http.StatusBadRequest, r.status, "model is required: %s", r.raw)
			})

			t.Run("a later price list takes effect at its time", func(t *testing.T) {
				next := testSchedule()
				next.Lines[3].UnitPrice = yuan(99, 99)
				d, err := e.fees.CreateFeeSchedule(manager, &aftersalesv1.CreateFeeScheduleRequest{FeeSchedule: next})
				require.NoError(t, err)
				_, err = e.fees.PublishFeeSchedule(manager, &aftersalesv1.PublishFeeScheduleRequest{Name: d.GetName(), EffectiveTime: timestamp(e.clock.Now().Add(-time.Hour))})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				_, err = e.fees.PublishFeeSchedule(manager, &aftersalesv1.PublishFeeScheduleRequest{Name: d.GetName(), EffectiveTime: timestamp(e.clock.Now().Add(24 * time.Hour))})
				require.NoError(t, err)
				pf, err := e.fees.LookupFees(as(""), &aftersalesv1.LookupFeesRequest{Model: "WM-8000"})
				require.NoError(t, err)
				assert.Equal(t, published.GetName(), pf.GetFeeSchedule(), "not yet in effect")
				e.clock.Advance(25 * time.Hour)
				pf, err = e.fees.LookupFees(as(""), &aftersalesv1.LookupFeesRequest{Model: "WM-8000"})
				require.NoError(t, err)
				assert.Equal(t, d.GetName(), pf.GetFeeSchedule())
				assert.True(t, proto.Equal(yuan(99, 99), pf.GetParts()[1].GetUnitPrice()))
			})
		})
	}
}
