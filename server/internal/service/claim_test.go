package service_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	moneypb "google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/aftersales/aftersales/client"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/money"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// claimCase is a server with the usual cast, for the warranty claim
// tests; nothing is published until a test publishes testSchedule.
type claimCase struct {
	*env
	f           *fixture
	mgr, shop   context.Context
	agent, tech context.Context
}

func startClaims(t *testing.T, dialect string) *claimCase {
	e := start(t, dialect)
	f := e.seed()
	return &claimCase{env: e, f: f, mgr: as(f.manager.GetName()), shop: as(f.partner.GetName()),
		agent: as(f.agent.GetName()), tech: as(f.technician.GetName())}
}

// openTicket opens a ticket of typ on product as the agent.
func (c *claimCase) openTicket(product *aftersalesv1.Product, typ aftersalesv1.Ticket_Type) string {
	c.t.Helper()
	tk, err := c.tickets.CreateTicket(c.agent, &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
		Customer: c.f.customer.GetName(), Product: product.GetName(), Type: typ, Channel: aftersalesv1.Ticket_PHONE, Title: "Washer leaks",
	}})
	require.NoError(c.t, err)
	return tk.GetName()
}

// shopWork dispatches ticket (new or reopened) to the partner shop's
// technician and has the shop accept, start and resolve it with res; the
// resolution's error is returned.
func (c *claimCase) shopWork(ticket string, res *aftersalesv1.Resolution) error {
	c.t.Helper()
	return c.workAs(ticket, c.f.partnerTech.GetName(), c.shop, res)
}

// techWork is shopWork for the company's technician.
func (c *claimCase) techWork(ticket string, res *aftersalesv1.Resolution) error {
	c.t.Helper()
	return c.workAs(ticket, c.f.technician.GetName(), c.tech, res)
}

func (c *claimCase) workAs(ticket, assignee string, worker context.Context, res *aftersalesv1.Resolution) error {
	c.t.Helper()
	_, err := c.tickets.AssignTicket(c.agent, &aftersalesv1.AssignTicketRequest{Name: ticket, Assignee: assignee})
	require.NoError(c.t, err)
	_, err = c.tickets.AcceptTicket(worker, &aftersalesv1.AcceptTicketRequest{Name: ticket})
	require.NoError(c.t, err)
	_, err = c.tickets.StartTicket(worker, &aftersalesv1.StartTicketRequest{Name: ticket})
	require.NoError(c.t, err)
	_, err = c.tickets.ResolveTicket(worker, &aftersalesv1.ResolveTicketRequest{Name: ticket, Resolution: res})
	return err
}

// claimOf returns the claim of ticket as a manager lists it, nil when
// there is none.
func (c *claimCase) claimOf(ticket string) *aftersalesv1.WarrantyClaim {
	c.t.Helper()
	got, err := c.claims.ListWarrantyClaims(c.mgr, &aftersalesv1.ListWarrantyClaimsRequest{Parent: "partners/-", Filter: `ticket = "` + ticket + `"`})
	require.NoError(c.t, err)
	require.LessOrEqual(c.t, len(got.GetClaims()), 1, "one claim per ticket")
	if len(got.GetClaims()) == 0 {
		return nil
	}
	return got.GetClaims()[0]
}

// allClaims lists every claim under parent as actor.
func (c *claimCase) allClaims(actor context.Context, parent, filter string) []*aftersalesv1.WarrantyClaim {
	c.t.Helper()
	var out []*aftersalesv1.WarrantyClaim
	token := ""
	for {
		got, err := c.claims.ListWarrantyClaims(actor, &aftersalesv1.ListWarrantyClaimsRequest{Parent: parent, Filter: filter, PageSize: 7, PageToken: token})
		require.NoError(c.t, err)
		out = append(out, got.GetClaims()...)
		if token = got.GetNextPageToken(); token == "" {
			return out
		}
	}
}

// withParts is a resolution reporting parts (part number → quantity).
func withParts(parts ...any) *aftersalesv1.Resolution {
	r := validResolution()
	for i := 0; i < len(parts); i += 2 {
		r.Parts = append(r.Parts, &aftersalesv1.PartUsage{PartNumber: parts[i].(string), Quantity: int32(parts[i+1].(int))})
	}
	return r
}

// pudongUnit registers an in-warranty washer installed in Pudong, whose
// call-out the schedule prices apart.
func (c *claimCase) pudongUnit() *aftersalesv1.Product {
	c.t.Helper()
	p, err := c.customers.CreateProduct(c.admin(), &aftersalesv1.CreateProductRequest{Parent: c.f.customer.GetName(), Product: &aftersalesv1.Product{
		Model: "WM-8000", SerialNumber: "SN-PD-" + c.clock.Now().Format("150405.000000"), WarrantyEndTime: timestamp(c.clock.Now().AddDate(2, 0, 0)),
		InstallAddress: &aftersalesv1.PostalAddress{City: "Shanghai", Region: "Pudong"},
	}})
	require.NoError(c.t, err)
	return p
}

// TestWarrantyClaimCreation: a shop resolving in-warranty (or recall)
// work claims it, priced by the schedule in effect: labour for the type
// and category, the reported parts, the region's call-out. Work the
// customer pays for, work done before any schedule and the company's own
// technicians' work make no claim a shop or the API sees. An unknown part
// number fails the shop's resolution and writes nothing.
func TestWarrantyClaimCreation(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			c := startClaims(t, dialect)
			f := c.f

			// Before any schedule: no claim, the resolution as before.
			early := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			require.NoError(t, c.shopWork(early, withParts("P-BRUSH", 1)))
			assert.Nil(t, c.claimOf(early))

			schedule := c.publishSchedule(testSchedule())
			pudong := c.pudongUnit()
			tk := c.openTicket(pudong, aftersalesv1.Ticket_REPAIR)
			resolveAt := c.clock.Now()
			require.NoError(t, c.shopWork(tk, withParts("P-BRUSH", 2, "P-PUMP", 1)))
			claim := c.claimOf(tk)
			require.NotNil(t, claim)
			assert.True(t, strings.HasPrefix(claim.GetName(), f.partner.GetName()+"/claims/"), claim.GetName())
			assert.Equal(t, aftersalesv1.WarrantyClaim_SUBMITTED, claim.GetState())
			assert.Equal(t, tk, claim.GetTicket())
			assert.Equal(t, aftersalesv1.Ticket_REPAIR, claim.GetTicketType())
			assert.Equal(t, "WM-8000", claim.GetProductModel())
			assert.Equal(t, "PLUMBING", claim.GetFaultCategory())
			assert.Equal(t, "P1", claim.GetFaultCode())
			assert.Equal(t, schedule.GetName(), claim.GetFeeSchedule())
			assert.True(t, resolveAt.Equal(claim.GetResolveTime().AsTime()))
			assert.Nil(t, claim.GetPayableTime(), "payable once approved")
			assert.Nil(t, claim.GetApprovedAmount())
			type line struct {
				code         string
				qty          int64
				unit, amount int64
				kind         aftersalesv1.FeeKind
			}
			var lines []line
			for _, l := range claim.GetLines() {
				lines = append(lines, line{l.GetCode(), l.GetQuantity(), minor(t, l.GetUnitPrice()), minor(t, l.GetAmount()), l.GetKind()})
			}
			assert.Equal(t, []line{
				{"LAB-REPAIR-WASHER", 1, 15000, 15000, aftersalesv1.FeeKind_FEE_KIND_LABOR},
				{"P-BRUSH", 2, 4000, 8000, aftersalesv1.FeeKind_FEE_KIND_PART},
				{"P-PUMP", 1, 12050, 12050, aftersalesv1.FeeKind_FEE_KIND_PART},
				{"CALL-PUDONG", 1, 3000, 3000, aftersalesv1.FeeKind_FEE_KIND_CALL_OUT},
			}, lines)
			assert.True(t, proto.Equal(yuan(380, 50), claim.GetClaimedAmount()), "%v", claim.GetClaimedAmount())

			// The shop reads it, over gRPC and JSON.
			own, err := c.claims.GetWarrantyClaim(c.shop, &aftersalesv1.GetWarrantyClaimRequest{Name: claim.GetName()})
			require.NoError(t, err)
			assert.True(t, proto.Equal(claim, own))
			r := c.do(http.MethodGet, "/v1/"+claim.GetName(), f.partner.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			assert.Equal(t, map[string]any{"currencyCode": "CNY", "units": "380", "nanos": float64(500000000)}, r.body["claimedAmount"])

			// A recall on a unit of unknown warranty is claimed too, at
			// the labour for any job and the call-out for any region.
			unknown, err := c.customers.CreateProduct(c.admin(), &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{
				Model: "WM-8000", SerialNumber: "SN-UNK-1"}})
			require.NoError(t, err)
			recall := c.openTicket(unknown, aftersalesv1.Ticket_RECALL)
			require.NoError(t, c.shopWork(recall, withParts()))
			rc := c.claimOf(recall)
			require.NotNil(t, rc)
			assert.True(t, proto.Equal(yuan(150, 0), rc.GetClaimedAmount()), "LAB-ANY 100 + CALL-ANY 50: %v", rc.GetClaimedAmount())

			// Out of warranty (a consultation, which needs no quote): the
			// customer pays, nothing is claimed.
			paid := c.openTicket(f.outOfWarranty, aftersalesv1.Ticket_CONSULTATION)
			require.NoError(t, c.shopWork(paid, withParts("P-BRUSH", 1)))
			assert.Nil(t, c.claimOf(paid))

			// The company's own technician: a cost record, which is no
			// shop's claim and never listed. Unknown parts are left out.
			own1 := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			require.NoError(t, c.techWork(own1, withParts("P-BRUSH", 1, "P-NOT-LISTED", 3)))
			assert.Nil(t, c.claimOf(own1))
			all := c.allClaims(c.mgr, "partners/-", "")
			assert.Len(t, all, 2, "the shop's two claims only")
			var cost store.WarrantyClaim
			require.NoError(t, c.app.DB().Gorm(context.Background()).Where("ticket_id = ?", accID(own1)).Take(&cost).Error)
			assert.Equal(t, "", cost.PartnerID)
			assert.Equal(t, int32(aftersalesv1.WarrantyClaim_APPROVED), cost.State)
			assert.Equal(t, int64(15000+4000+5000), cost.ClaimedMinor, "labour, the known part, call-out")
			assert.Equal(t, cost.ClaimedMinor, cost.ApprovedMinor)

			// An unknown part number on the shop's resolution: refused,
			// nothing written.
			bad := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			err = c.shopWork(bad, withParts("P-BRUSH", 1, "P-NOPE", 2))
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_UNKNOWN_FEE_LINE)
			require.Len(t, apierr.FieldViolations(err), 1)
			assert.Equal(t, "resolution.parts[1].part_number", apierr.FieldViolations(err)[0].Field)
			got, err := c.tickets.GetTicket(c.shop, &aftersalesv1.GetTicketRequest{Name: bad})
			require.NoError(t, err)
			assert.Equal(t, aftersalesv1.Ticket_IN_PROGRESS, got.GetState())
			assert.Nil(t, c.claimOf(bad))
			var n int64
			require.NoError(t, c.app.DB().Gorm(context.Background()).Model(&store.WarrantyClaim{}).Where("ticket_id = ?", accID(bad)).Count(&n).Error)
			assert.Zero(t, n)
			_, err = c.tickets.ResolveTicket(c.shop, &aftersalesv1.ResolveTicketRequest{Name: bad, Resolution: withParts("P-BRUSH", 1)})
			require.NoError(t, err, "with the part fixed it resolves")
			assert.NotNil(t, c.claimOf(bad))
		})
	}
}

// TestWarrantyClaimReview: a reviewer approves, adjusts (with a reason,
// in the claim's currency) or rejects; decisions in the wrong state,
// with a stale etag or bad amounts are refused; retries with the same
// request_id do nothing twice. Another shop sees none of it.
func TestWarrantyClaimReview(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			c := startClaims(t, dialect)
			f := c.f
			c.publishSchedule(testSchedule())
			var claims []*aftersalesv1.WarrantyClaim
			for range 3 {
				tk := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
				require.NoError(t, c.shopWork(tk, withParts("P-PUMP", 1)))
				claims = append(claims, c.claimOf(tk))
				c.clock.Advance(time.Minute)
			}
			a, b, r := claims[0], claims[1], claims[2]
			resolved := a.GetResolveTime().AsTime()

			t.Run("approve", func(t *testing.T) {
				c.clock.Advance(time.Hour)
				_, err := c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: a.GetName(), Etag: `W/"stale"`})
				requireCode(t, err, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
				req := &aftersalesv1.ApproveWarrantyClaimRequest{Name: a.GetName(), Etag: a.GetEtag(), RequestId: "approve-a"}
				got, err := c.claims.ApproveWarrantyClaim(c.mgr, req)
				require.NoError(t, err)
				assert.Equal(t, aftersalesv1.WarrantyClaim_APPROVED, got.GetState())
				assert.True(t, proto.Equal(a.GetClaimedAmount(), got.GetApprovedAmount()))
				assert.Equal(t, f.manager.GetName(), got.GetReviewer())
				assert.True(t, c.clock.Now().Equal(got.GetReviewTime().AsTime()))
				assert.True(t, resolved.Add(30*24*time.Hour).Equal(got.GetPayableTime().AsTime()), "30 days after the resolution")
				again, err := c.claims.ApproveWarrantyClaim(c.mgr, req)
				require.NoError(t, err, "a retry answers as the first call")
				assert.True(t, proto.Equal(got, again))
				_, err = c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: a.GetName()})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
				pv := apierr.PreconditionViolations(err)
				require.Len(t, pv, 1)
				assert.Equal(t, "APPROVED", pv[0].GetSubject())
				assert.Contains(t, pv[0].GetDescription(), "SUBMITTED")
				_, err = c.claims.RejectWarrantyClaim(c.mgr, &aftersalesv1.RejectWarrantyClaimRequest{Name: a.GetName(), Reason: "late"})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
				a = got
			})

			t.Run("adjust", func(t *testing.T) {
				adjust := func(amount *moneypb.Money, reason string) error {
					_, err := c.claims.AdjustWarrantyClaim(c.mgr, &aftersalesv1.AdjustWarrantyClaimRequest{Name: b.GetName(), ApprovedAmount: amount, Reason: reason})
					return err
				}
				requireCode(t, adjust(&moneypb.Money{CurrencyCode: "USD", Units: 10}, "fx"), codes.InvalidArgument, aftersalesv1.ErrorReason_CURRENCY_MISMATCH)
				requireCode(t, adjust(&moneypb.Money{CurrencyCode: "CNY", Units: -1}, "less"), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				requireCode(t, adjust(&moneypb.Money{CurrencyCode: "CNY", Units: 1, Nanos: 1}, "fine"), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				requireCode(t, adjust(yuan(1, 0), "   "), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				c.clock.Advance(40 * 24 * time.Hour) // reviewed after the 30 days: payable at once
				got, err := c.claims.AdjustWarrantyClaim(c.mgr, &aftersalesv1.AdjustWarrantyClaimRequest{
					Name: b.GetName(), Etag: b.GetEtag(), ApprovedAmount: yuan(99, 99), Reason: "pump price capped"})
				require.NoError(t, err)
				assert.Equal(t, aftersalesv1.WarrantyClaim_APPROVED, got.GetState())
				assert.True(t, proto.Equal(yuan(99, 99), got.GetApprovedAmount()))
				assert.True(t, proto.Equal(b.GetClaimedAmount(), got.GetClaimedAmount()), "the claim stays as claimed")
				assert.Equal(t, "pump price capped", got.GetReviewReason())
				assert.True(t, c.clock.Now().Equal(got.GetPayableTime().AsTime()))
				requireCode(t, adjust(yuan(1, 0), "again"), codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
				b = got
			})

			t.Run("reject", func(t *testing.T) {
				_, err := c.claims.RejectWarrantyClaim(c.mgr, &aftersalesv1.RejectWarrantyClaimRequest{Name: r.GetName(), Reason: "no"})
				require.NoError(t, err)
				got, err := c.claims.GetWarrantyClaim(c.shop, &aftersalesv1.GetWarrantyClaimRequest{Name: r.GetName()})
				require.NoError(t, err)
				assert.Equal(t, aftersalesv1.WarrantyClaim_REJECTED, got.GetState())
				assert.Equal(t, "no", got.GetReviewReason())
				assert.Nil(t, got.GetApprovedAmount())
				assert.Nil(t, got.GetPayableTime())
				_, err = c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: r.GetName()})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			})

			t.Run("the shop's view", func(t *testing.T) {
				mine := c.allClaims(c.shop, f.partner.GetName(), "")
				require.Len(t, mine, 3)
				assert.Equal(t, []string{r.GetName(), b.GetName(), a.GetName()}, []string{mine[0].GetName(), mine[1].GetName(), mine[2].GetName()}, "newest first")
				approved := c.allClaims(c.shop, "partners/-", `state = APPROVED`)
				assert.Len(t, approved, 2)
				// The same through the Go client shops import.
				gc, err := client.New(context.Background(), c.app.GRPCAddr(), client.WithInsecure(), client.WithBearerToken(bearer(f.partner.GetName())))
				require.NoError(t, err)
				defer gc.Close()
				var walked []string
				for cl, err := range gc.AllWarrantyClaims(context.Background(), &aftersalesv1.ListWarrantyClaimsRequest{Parent: f.partner.GetName(), PageSize: 1}) {
					require.NoError(t, err)
					walked = append(walked, cl.GetName())
				}
				assert.Equal(t, []string{mine[0].GetName(), mine[1].GetName(), mine[2].GetName()}, walked)
				_, err = c.claims.ApproveWarrantyClaim(c.shop, &aftersalesv1.ApproveWarrantyClaimRequest{Name: a.GetName()})
				requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
				_, err = c.claims.ListWarrantyClaims(c.mgr, &aftersalesv1.ListWarrantyClaimsRequest{Parent: "partners/-", Filter: "amount = 3"})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_FILTER)
			})

			t.Run("another shop sees none of it", func(t *testing.T) {
				other := c.otherShop()
				them := as(other.GetName())
				for _, cl := range claims {
					_, err := c.claims.GetWarrantyClaim(them, &aftersalesv1.GetWarrantyClaimRequest{Name: cl.GetName()})
					requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
					// Not under its own name either.
					_, id, _ := strings.Cut(strings.TrimPrefix(cl.GetName(), f.partner.GetName()+"/"), "/")
					_, err = c.claims.GetWarrantyClaim(them, &aftersalesv1.GetWarrantyClaimRequest{Name: other.GetName() + "/claims/" + id})
					requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
				}
				assert.Empty(t, c.allClaims(them, other.GetName(), ""))
				assert.Empty(t, c.allClaims(them, "partners/-", ""))
				_, err := c.claims.ListWarrantyClaims(them, &aftersalesv1.ListWarrantyClaimsRequest{Parent: f.partner.GetName()})
				requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
				_, err = c.claims.GetSettlementStatement(them, &aftersalesv1.GetSettlementStatementRequest{Name: f.partner.GetName() + "/settlements/2026-04"})
				requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
				r := c.do(http.MethodGet, "/v1/"+a.GetName(), other.GetName(), nil)
				requireHTTP(t, r, http.StatusNotFound, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
				assert.Empty(t, c.feed(them, 0, `resource_type = "warranty_claim"`), "nor its events")
			})

			t.Run("the change feed", func(t *testing.T) {
				filter := `resource_type = "warranty_claim"`
				shopEvents := c.feed(c.shop, 0, filter)
				assert.Equal(t, []string{"warranty_claim.created", "warranty_claim.state_changed"}, types(shopEvents, a.GetName()))
				assert.Equal(t, []string{"warranty_claim.created", "warranty_claim.state_changed"}, types(shopEvents, b.GetName()))
				assert.Len(t, c.feed(c.mgr, 0, filter), len(shopEvents), "reviewers follow every claim")
				assert.Empty(t, c.feed(c.agent, 0, filter), "the call center does not")
			})
		})
	}
}

// TestWarrantyClaimReopen: a ticket reopened within 30 days of its
// resolution holds its claim (approved or not; the company's cost record
// too); resolving it again submits the claim anew, priced from the new
// resolution. A reopening after 30 days leaves the claim as it is.
func TestWarrantyClaimReopen(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			c := startClaims(t, dialect)
			f := c.f
			c.publishSchedule(testSchedule())
			reopen := func(tk string) {
				t.Helper()
				_, err := c.tickets.ReopenTicket(c.agent, &aftersalesv1.ReopenTicketRequest{Name: tk, Reason: "leaks again"})
				require.NoError(t, err)
			}
			tk := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			require.NoError(t, c.shopWork(tk, withParts("P-BRUSH", 1)))
			claim := c.claimOf(tk)
			approved, err := c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: claim.GetName()})
			require.NoError(t, err)
			require.NotNil(t, approved.GetPayableTime())

			c.clock.Advance(10 * 24 * time.Hour)
			reopen(tk)
			held := c.claimOf(tk)
			assert.Equal(t, aftersalesv1.WarrantyClaim_HELD, held.GetState())
			assert.Nil(t, held.GetPayableTime())
			assert.Nil(t, held.GetApprovedAmount(), "the approval no longer stands")
			_, err = c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: claim.GetName()})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)

			c.clock.Advance(24 * time.Hour)
			require.NoError(t, c.shopWork(tk, withParts("P-BRUSH", 1, "P-PUMP", 2)))
			again := c.claimOf(tk)
			assert.Equal(t, claim.GetName(), again.GetName(), "the same claim")
			assert.Equal(t, aftersalesv1.WarrantyClaim_SUBMITTED, again.GetState())
			assert.True(t, c.clock.Now().Equal(again.GetResolveTime().AsTime()))
			assert.True(t, proto.Equal(yuan(150+40+241+50, 0), again.GetClaimedAmount()), "%v", again.GetClaimedAmount())
			assert.Len(t, again.GetLines(), 4)
			assert.Empty(t, again.GetReviewer())
			assert.Nil(t, again.GetReviewTime())

			// Rejected while held: final, a later resolution leaves it.
			reopen(tk)
			assert.Equal(t, aftersalesv1.WarrantyClaim_HELD, c.claimOf(tk).GetState(), "a SUBMITTED claim is held too")
			_, err = c.claims.RejectWarrantyClaim(c.mgr, &aftersalesv1.RejectWarrantyClaimRequest{Name: claim.GetName(), Reason: "repeat repair"})
			require.NoError(t, err)
			require.NoError(t, c.shopWork(tk, withParts("P-PUMP", 1)))
			final := c.claimOf(tk)
			assert.Equal(t, aftersalesv1.WarrantyClaim_REJECTED, final.GetState())
			assert.True(t, proto.Equal(again.GetClaimedAmount(), final.GetClaimedAmount()))

			// After 30 days a reopening holds nothing.
			late := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			require.NoError(t, c.shopWork(late, withParts()))
			lc := c.claimOf(late)
			_, err = c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: lc.GetName()})
			require.NoError(t, err)
			c.clock.Advance(31 * 24 * time.Hour)
			reopen(late)
			assert.Equal(t, aftersalesv1.WarrantyClaim_APPROVED, c.claimOf(late).GetState())

			// The company's cost record is held as well.
			own := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
			require.NoError(t, c.techWork(own, withParts()))
			reopen(own)
			var cost store.WarrantyClaim
			require.NoError(t, c.app.DB().Gorm(context.Background()).Where("ticket_id = ?", accID(own)).Take(&cost).Error)
			assert.Equal(t, int32(aftersalesv1.WarrantyClaim_HELD), cost.State)
			require.NoError(t, c.techWork(own, withParts("P-BRUSH", 1)))
			require.NoError(t, c.app.DB().Gorm(context.Background()).Where("ticket_id = ?", accID(own)).Take(&cost).Error)
			assert.Equal(t, int32(aftersalesv1.WarrantyClaim_APPROVED), cost.State)
			assert.Equal(t, int64(15000+4000+5000), cost.ApprovedMinor)
		})
	}
}

// TestSettlementStatement: a month's statement lists the shop's approved
// claims that became payable in it, oldest first, with totals to the
// cent; it is issued only after the month, once (a second issue returns
// it), and then never changes; its lines come as CSV too.
func TestSettlementStatement(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			c := startClaims(t, dialect)
			f := c.f
			c.publishSchedule(testSchedule())
			// Clock: 2026-03-02. Three claims resolved now become payable
			// on 2026-04-01; one is adjusted, one left for review.
			var names []string
			for i := range 4 {
				tk := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
				require.NoError(t, c.shopWork(tk, withParts("P-PUMP", i+1)))
				names = append(names, c.claimOf(tk).GetName())
				c.clock.Advance(time.Minute)
			}
			_, err := c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: names[0]})
			require.NoError(t, err)
			_, err = c.claims.AdjustWarrantyClaim(c.mgr, &aftersalesv1.AdjustWarrantyClaimRequest{Name: names[1], ApprovedAmount: yuan(200, 1), Reason: "one pump"})
			require.NoError(t, err)
			_, err = c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: names[2]})
			require.NoError(t, err)
			april := f.partner.GetName() + "/settlements/2026-04"

			for _, bad := range []string{f.partner.GetName() + "/settlements/2026-13", f.partner.GetName() + "/settlements/26-04", "partners/-/settlements/2026-04", f.partner.GetName() + "/claims/2026-04", f.partner.GetName() + "/settlements/9999-12"} {
				_, err := c.claims.GetSettlementStatement(c.mgr, &aftersalesv1.GetSettlementStatementRequest{Name: bad})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			}
			_, err = c.claims.GetSettlementStatement(c.mgr, &aftersalesv1.GetSettlementStatementRequest{Name: "partners/nobody/settlements/2026-04"})
			requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)

			open, err := c.claims.GetSettlementStatement(c.shop, &aftersalesv1.GetSettlementStatementRequest{Name: april})
			require.NoError(t, err)
			assert.Equal(t, aftersalesv1.SettlementStatement_OPEN, open.GetState())
			assert.Equal(t, f.partner.GetName(), open.GetPartner())
			assert.True(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Equal(open.GetStartTime().AsTime()))
			assert.True(t, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Equal(open.GetEndTime().AsTime()))
			require.Len(t, open.GetLines(), 3)
			assert.Equal(t, names[:3], []string{open.GetLines()[0].GetClaim(), open.GetLines()[1].GetClaim(), open.GetLines()[2].GetClaim()}, "oldest payable first")
			assert.Equal(t, int64(1), open.GetPendingClaims())
			march, err := c.claims.GetSettlementStatement(c.shop, &aftersalesv1.GetSettlementStatementRequest{Name: f.partner.GetName() + "/settlements/2026-03"})
			require.NoError(t, err)
			assert.Empty(t, march.GetLines())
			assert.Empty(t, march.GetTotals())

			// Before the month has ended: refused, saying when.
			_, err = c.claims.IssueSettlementStatement(c.mgr, &aftersalesv1.IssueSettlementStatementRequest{Name: april})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_SETTLEMENT_NOT_READY)
			assert.Contains(t, err.Error(), "2026-05-01T00:00:00Z")
			c.clock.Advance(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Sub(c.clock.Now()) - time.Second)
			_, err = c.claims.IssueSettlementStatement(c.mgr, &aftersalesv1.IssueSettlementStatementRequest{Name: april})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_SETTLEMENT_NOT_READY)
			c.clock.Advance(time.Second)

			// The expected total from the claims as the API shows them.
			var want int64
			for _, n := range names[:3] {
				cl, err := c.claims.GetWarrantyClaim(c.mgr, &aftersalesv1.GetWarrantyClaimRequest{Name: n})
				require.NoError(t, err)
				want += minor(t, cl.GetApprovedAmount())
			}
			issued, err := c.claims.IssueSettlementStatement(c.mgr, &aftersalesv1.IssueSettlementStatementRequest{Name: april, RequestId: "issue-april"})
			require.NoError(t, err)
			assert.Equal(t, aftersalesv1.SettlementStatement_ISSUED, issued.GetState())
			assert.True(t, c.clock.Now().Equal(issued.GetIssueTime().AsTime()))
			require.Len(t, issued.GetTotals(), 1)
			assert.Equal(t, want, minor(t, issued.GetTotals()[0]))
			assert.Equal(t, int64(32050+20001+56150), want, "¥320.50 and ¥561.50 as claimed, ¥200.01 adjusted")
			for _, n := range names[:3] {
				cl, err := c.claims.GetWarrantyClaim(c.shop, &aftersalesv1.GetWarrantyClaimRequest{Name: n})
				require.NoError(t, err)
				assert.Equal(t, aftersalesv1.WarrantyClaim_SETTLED, cl.GetState())
				assert.Equal(t, april, cl.GetSettlement())
			}
			second, err := c.claims.IssueSettlementStatement(c.mgr, &aftersalesv1.IssueSettlementStatementRequest{Name: april})
			require.NoError(t, err, "issued once; a second issue returns it")
			assert.True(t, proto.Equal(issued, second))
			retry, err := c.claims.IssueSettlementStatement(c.mgr, &aftersalesv1.IssueSettlementStatementRequest{Name: april, RequestId: "issue-april"})
			require.NoError(t, err)
			assert.True(t, proto.Equal(issued, retry))

			// Settled claims never change: no review, no hold.
			_, err = c.claims.RejectWarrantyClaim(c.mgr, &aftersalesv1.RejectWarrantyClaimRequest{Name: names[0], Reason: "too late"})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			// The pending claim, approved now, is payable now: in May.
			_, err = c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: names[3]})
			require.NoError(t, err)
			read, err := c.claims.GetSettlementStatement(c.shop, &aftersalesv1.GetSettlementStatementRequest{Name: april})
			require.NoError(t, err)
			read.PendingClaims, issued.PendingClaims = 0, 0
			assert.True(t, proto.Equal(issued, read), "as issued")
			may, err := c.claims.GetSettlementStatement(c.mgr, &aftersalesv1.GetSettlementStatementRequest{Name: f.partner.GetName() + "/settlements/2026-05"})
			require.NoError(t, err)
			require.Len(t, may.GetLines(), 1)
			assert.Equal(t, names[3], may.GetLines()[0].GetClaim())

			// CSV through the gateway: one row per claim, money as the
			// currency and an exact decimal.
			code, ctype, raw := c.getAs("/v1/"+april, f.partner.GetName(), "text/csv")
			require.Equal(t, http.StatusOK, code, string(raw))
			assert.True(t, strings.HasPrefix(ctype, "text/csv"), ctype)
			head, rows := csvTable(t, raw)
			assert.Equal(t, []string{"claim", "ticket", "product_model", "fault_category", "fault_code", "resolve_time",
				"claimed_amount_currency_code", "claimed_amount", "approved_amount_currency_code", "approved_amount", "review_reason"}, head)
			require.Len(t, rows, 3)
			assert.Equal(t, names[1], rows[1]["claim"])
			assert.Equal(t, "CNY", rows[1]["approved_amount_currency_code"])
			assert.Equal(t, "200.01", rows[1]["approved_amount"])
			assert.Equal(t, "441.00", rows[1]["claimed_amount"], "150 + 2 × 120.50 + 50")
			assert.Equal(t, "one pump", rows[1]["review_reason"])
			code, _, raw = c.getAs("/v1/"+april, "", "text/csv")
			assert.Equal(t, http.StatusUnauthorized, code, string(raw))
		})
	}
}

// TestSettlementRandomised: many claims with random part quantities,
// random adjustments (random minor units) and some rejected or left for
// review, across two months: every approved claim lands in exactly one
// issued statement, and each statement's total is the exact sum of its
// claims' approved amounts, as read back through the API.
func TestSettlementRandomised(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			c := startClaims(t, dialect)
			f := c.f
			c.publishSchedule(testSchedule())
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 0))
			approvedIn := map[string]bool{} // claims approved
			// Two batches: resolved from 2026-03-02 (payable in April) and
			// from 2026-04-06 (payable in May).
			for batch := range 2 {
				if batch == 1 {
					c.clock.Advance(35 * 24 * time.Hour)
				}
				for range 12 {
					tk := c.openTicket(f.inWarranty, aftersalesv1.Ticket_REPAIR)
					require.NoError(t, c.shopWork(tk, withParts("P-BRUSH", 1+rng.IntN(9), "P-PUMP", 1+rng.IntN(5))))
					cl := c.claimOf(tk)
					switch k := rng.IntN(10); {
					case k < 4:
						_, err := c.claims.ApproveWarrantyClaim(c.mgr, &aftersalesv1.ApproveWarrantyClaimRequest{Name: cl.GetName()})
						require.NoError(t, err)
						approvedIn[cl.GetName()] = true
					case k < 8:
						amount := money.Amount{Currency: "CNY", Minor: rng.Int64N(200_000)}
						_, err := c.claims.AdjustWarrantyClaim(c.mgr, &aftersalesv1.AdjustWarrantyClaimRequest{Name: cl.GetName(), ApprovedAmount: amount.Proto(), Reason: "adjusted"})
						require.NoError(t, err)
						approvedIn[cl.GetName()] = true
					case k < 9:
						_, err := c.claims.RejectWarrantyClaim(c.mgr, &aftersalesv1.RejectWarrantyClaimRequest{Name: cl.GetName(), Reason: "no"})
						require.NoError(t, err)
					}
					c.clock.Advance(time.Duration(1+rng.IntN(180)) * time.Minute)
				}
			}
			c.clock.Advance(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Sub(c.clock.Now()))
			seen := map[string]int{}
			for _, m := range []string{"2026-04", "2026-05"} {
				name := f.partner.GetName() + "/settlements/" + m
				st, err := c.claims.IssueSettlementStatement(c.mgr, &aftersalesv1.IssueSettlementStatementRequest{Name: name})
				require.NoError(t, err)
				var want int64
				for _, l := range st.GetLines() {
					seen[l.GetClaim()]++
					cl, err := c.claims.GetWarrantyClaim(c.shop, &aftersalesv1.GetWarrantyClaimRequest{Name: l.GetClaim()})
					require.NoError(t, err)
					assert.Equal(t, name, cl.GetSettlement())
					assert.True(t, proto.Equal(cl.GetApprovedAmount(), l.GetApprovedAmount()))
					want += minor(t, cl.GetApprovedAmount())
				}
				require.NotEmpty(t, st.GetLines(), "%s: most claims are approved (seed %d)", m, seed)
				require.Len(t, st.GetTotals(), 1)
				assert.Equal(t, want, minor(t, st.GetTotals()[0]), "%s: the total is the sum of the approved amounts, to the cent", m)
			}
			for n := range approvedIn {
				assert.Equal(t, 1, seen[n], "%s is in exactly one statement", n)
			}
			assert.Len(t, seen, len(approvedIn), "only approved claims are settled")
			for _, cl := range c.allClaims(c.mgr, f.partner.GetName(), "") {
				if approvedIn[cl.GetName()] {
					assert.Equal(t, aftersalesv1.WarrantyClaim_SETTLED, cl.GetState())
				} else {
					assert.NotEqual(t, aftersalesv1.WarrantyClaim_SETTLED, cl.GetState())
				}
			}
		})
	}
}
