package service

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/money"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// Quotes priced from the fee schedule (issue 16): QuoteTicket makes a
// revision, ApproveTicketQuote is a manager's approval of one that needs
// it, and ApproveTicketFee (ticket.go, through decideQuote) records the
// customer's decision. The ticket's FeeApproval column follows the
// quote, so that StartTicket's check holds for both kinds of quote.

// maxQuoteQuantity bounds a line's quantity (ChargeLine.quantity).
const maxQuoteQuantity = 10000

func (s *ticketServer) QuoteTicket(ctx context.Context, req *aftersalesv1.QuoteTicketRequest) (*aftersalesv1.Ticket, error) {
	actor := principal.FromContext(ctx)
	return s.transition(ctx, aftersalesv1.TicketService_QuoteTicket_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Quote, aftersalesv1.TicketEvent_QUOTED,
		func(tx *gorm.DB, row *store.Ticket, ev *event, now time.Time) error {
			pl, err := requirePriceList(tx, now)
			if err != nil {
				return err
			}
			next, err := priceQuote(pl, row.ID, req.GetQuote(), s.rules.QuoteDiscountApproval)
			if err != nil {
				return err
			}
			cur, err := loadQuote(tx, row.ID)
			if err != nil {
				return err
			}
			next.row.Revision = 1
			if cur != nil {
				// The customer's approval is of one revision: changing it
				// must be meant, and is approved again.
				if cur.state() == aftersalesv1.Quote_APPROVED && !req.GetRevise() {
					return apierr.Precondition(aftersalesv1.ErrorReason_QUOTE_ALREADY_APPROVED, "QUOTE", req.GetName(), fmt.Sprintf(
						"the customer approved revision %d of the quote; set revise to replace it with a new revision, which needs their approval again", cur.row.Revision))
				}
				next.row.Revision = cur.row.Revision + 1
			}
			state := aftersalesv1.Quote_OFFERED
			if next.row.ApprovalReasons != "" {
				if decidesPrices(actor) {
					// A manager's own quote needs no one else's approval.
					next.row.ApprovedBy = actor.String()
				} else {
					state = aftersalesv1.Quote_AWAITING_MANAGER
				}
			}
			next.row.State, next.row.QuotedBy, next.row.QuoteTime = int32(state), actor.String(), now
			if err := saveQuote(tx, next, cur != nil); err != nil {
				return err
			}
			// One quote per ticket: a free-form fee_quote gives way, and
			// the customer's decision starts over.
			row.FeeCurrency, row.FeeLaborMinor, row.FeePartsMinor, row.FeeDescription = "", 0, 0, ""
			row.FeeApproval, row.FeeDecideTime = int32(aftersalesv1.FeeQuote_PENDING), nil
			quoteEvent(ev, next, req.GetQuote().GetNote())
			// The customer does not see a quote before a manager approved
			// it, nor its entry in the timeline.
			ev.Internal = state == aftersalesv1.Quote_AWAITING_MANAGER
			return nil
		})
}

func (s *ticketServer) ApproveTicketQuote(ctx context.Context, req *aftersalesv1.ApproveTicketQuoteRequest) (*aftersalesv1.Ticket, error) {
	actor := principal.FromContext(ctx)
	return s.transition(ctx, aftersalesv1.TicketService_ApproveTicketQuote_FullMethodName, req, req.GetName(), req.GetEtag(), ticketflow.Quote, aftersalesv1.TicketEvent_QUOTE_APPROVED,
		func(tx *gorm.DB, row *store.Ticket, ev *event, _ time.Time) error {
			cur, err := loadQuote(tx, row.ID)
			if err != nil {
				return err
			}
			if cur == nil {
				return apierr.Precondition(aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED, "QUOTE", req.GetName(),
					"the ticket has no quote to approve; QuoteTicket makes one")
			}
			if cur.state() != aftersalesv1.Quote_AWAITING_MANAGER || cur.row.Revision != req.GetRevision() {
				return apierr.Precondition(aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED, "QUOTE", req.GetName(), fmt.Sprintf(
					"revision %d was asked for, but the current quote is revision %d, %s; only the current revision, AWAITING_MANAGER, can be approved",
					req.GetRevision(), cur.row.Revision, cur.state()))
			}
			cur.row.State, cur.row.ApprovedBy = int32(aftersalesv1.Quote_OFFERED), actor.String()
			if err := store.Translate(tx.Save(&cur.row).Error); err != nil {
				return err
			}
			quoteEvent(ev, cur, req.GetNote())
			ev.notifyName(cur.row.QuotedBy)
			return nil
		})
}

// decideQuote records the customer's decision (ApproveTicketFee) on the
// ticket's quote and keeps FeeApproval in step; handled is false when the
// ticket has no quote from the schedule, whose fee_quote is decided on
// instead.
func decideQuote(tx *gorm.DB, row *store.Ticket, ev *event, now time.Time, req *aftersalesv1.ApproveTicketFeeRequest) (handled bool, err error) {
	cur, err := loadQuote(tx, row.ID)
	if err != nil {
		return true, err
	}
	name := req.GetName()
	if cur == nil {
		if req.GetQuoteRevision() != 0 {
			return true, apierr.Precondition(aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED, "QUOTE", name,
				"the ticket has no quote from the fee schedule; leave quote_revision unset to decide on its fee_quote")
		}
		return false, nil
	}
	if cur.state() == aftersalesv1.Quote_AWAITING_MANAGER {
		return true, apierr.Precondition(aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED, "QUOTE", name, fmt.Sprintf(
			"revision %d of the quote awaits a manager's approval; the customer decides once it is offered", cur.row.Revision))
	}
	if rev := req.GetQuoteRevision(); rev != 0 && rev != cur.row.Revision {
		return true, apierr.Precondition(aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED, "QUOTE", name, fmt.Sprintf(
			"the decision is on revision %d, but the current quote is revision %d, %s; read the ticket again", rev, cur.row.Revision, cur.state()))
	}
	// Like a free-form fee_quote, a decided revision may be decided again
	// (a customer who declined changes their mind).
	state, fee := aftersalesv1.Quote_DECLINED, aftersalesv1.FeeQuote_DECLINED
	if req.GetApproved() {
		state, fee = aftersalesv1.Quote_APPROVED, aftersalesv1.FeeQuote_APPROVED
	}
	cur.row.State, cur.row.DecideTime = int32(state), &now
	if err := store.Translate(tx.Save(&cur.row).Error); err != nil {
		return true, err
	}
	row.FeeApproval, row.FeeDecideTime = int32(fee), &now
	ev.Message = req.GetNote()
	ev.setDetail("approval_state", fee.String())
	ev.setDetail("revision", itoa(int64(cur.row.Revision)))
	return true, nil
}

// quoteEvent describes a quote revision in its timeline event.
func quoteEvent(ev *event, q *storedQuote, note string) {
	ev.Message = note
	ev.setDetail("revision", itoa(int64(q.row.Revision)))
	ev.setDetail("total", q.row.Currency+" "+money.Amount{Currency: q.row.Currency, Minor: q.row.TotalMinor}.String())
	ev.setDetail("state", q.state().String())
}

// saveQuote writes a new revision over the current one (existing) and
// replaces its lines.
func saveQuote(tx *gorm.DB, q *storedQuote, existing bool) error {
	write := tx.Create
	if existing {
		write = tx.Save
	}
	if err := write(&q.row).Error; err != nil {
		return store.Translate(err)
	}
	return writeChargeLines(tx, q.row.TicketID, q.lines)
}

// decidesPrices reports whether caller may give any price or discount
// and set a free-form fee_quote once a schedule is published: managers
// and admins.
func decidesPrices(caller principal.Principal) bool {
	return caller.Role == principal.RoleManager || caller.Role == principal.RoleAdmin
}

// priceQuote prices the quote q of the ticket ticketID from the schedule
// pl: the lines from their schedule lines, the discount shared among them
// in proportion to their amounts. The result's ApprovalReasons say why a
// manager must approve it (a line outside the schedule, a discount above
// discountPercent of the subtotal); its revision, state and authorship
// are the caller's to set.
func priceQuote(pl *priceList, ticketID string, q *aftersalesv1.Quote, discountPercent int64) (*storedQuote, error) {
	cur := pl.row.Currency
	if n := len(q.GetLines()); n == 0 || n > 100 {
		return nil, apierr.InvalidField("quote.lines", "a quote has 1 to 100 lines")
	}
	out := &storedQuote{row: store.TicketQuote{TicketID: ticketID, ScheduleID: pl.row.ID, Currency: cur, Note: q.GetNote()}}
	var reasons []string
	subtotal := money.Zero(cur)
	weights := make([]int64, 0, len(q.GetLines()))
	for i, l := range q.GetLines() {
		cl, offSchedule, err := priceQuoteLine(pl, ticketID, int32(i), fmt.Sprintf("quote.lines[%d]", i), l)
		if err != nil {
			return nil, err
		}
		if offSchedule {
			reasons = append(reasons, fmt.Sprintf("line %d is not in the fee schedule", i+1))
		}
		if subtotal, err = subtotal.Add(pl.amount(cl.AmountMinor)); err != nil {
			return nil, apierr.InvalidField("quote.lines", "the lines add up to more than can be stored")
		}
		out.lines = append(out.lines, cl)
		weights = append(weights, cl.AmountMinor)
	}
	discount := money.Zero(cur)
	if d := q.GetDiscount(); d != nil && (d.GetCurrencyCode() != "" || d.GetUnits() != 0 || d.GetNanos() != 0) {
		var err error
		if discount, err = moneyIn("quote.discount", d, cur); err != nil {
			return nil, err
		}
		if discount.Minor > subtotal.Minor {
			return nil, apierr.InvalidField("quote.discount", "must not be more than the subtotal, "+cur+" "+subtotal.String())
		}
		if moreThanPercent(discount.Minor, subtotal.Minor, discountPercent) {
			reasons = append(reasons, fmt.Sprintf("the discount, %s %s, is more than %d%% of the subtotal, %s %s",
				cur, discount.String(), discountPercent, cur, subtotal.String()))
		}
	}
	// Each line's share is at most its amount (the discount is at most
	// the subtotal), and the shares add up to the discount exactly.
	for i, share := range money.Split(discount.Minor, weights) {
		out.lines[i].DiscountMinor = share
	}
	out.row.SubtotalMinor, out.row.DiscountMinor = subtotal.Minor, discount.Minor
	out.row.TotalMinor = subtotal.Minor - discount.Minor
	out.row.ApprovalReasons = strings.Join(reasons, "\n")
	return out, nil
}

// priceQuoteLine prices line l (field f) of a quote: a schedule line by
// its code, whose price and kind the caller may repeat but not change;
// a line outside the schedule (offSchedule) from its own price.
func priceQuoteLine(pl *priceList, owner string, pos int32, f string, l *aftersalesv1.ChargeLine) (_ store.ChargeLine, offSchedule bool, _ error) {
	cur := pl.row.Currency
	qty := l.GetQuantity()
	if qty < 1 || qty > maxQuoteQuantity {
		return store.ChargeLine{}, false, apierr.InvalidField(f+".quantity", "must be between 1 and 10000")
	}
	var price *money.Amount
	if l.GetUnitPrice() != nil {
		a, err := moneyIn(f+".unit_price", l.GetUnitPrice(), cur)
		if err != nil {
			return store.ChargeLine{}, false, err
		}
		price = &a
	}
	desc := strings.TrimSpace(l.GetDescription())
	if code := l.GetCode(); code != "" {
		fl := pl.line(code)
		if fl == nil {
			return store.ChargeLine{}, false, apierr.Invalid(aftersalesv1.ErrorReason_UNKNOWN_FEE_LINE,
				apierr.Violation{Field: f + ".code", Description: code + " is not a line of the fee schedule in effect, " + pl.name()})
		}
		if price != nil && price.Minor != fl.UnitPriceMinor {
			return store.ChargeLine{}, false, apierr.InvalidField(f+".unit_price",
				"must be unset or the schedule's price of "+code+", "+cur+" "+pl.amount(fl.UnitPriceMinor).String())
		}
		if k := l.GetKind(); k != aftersalesv1.FeeKind_FEE_KIND_UNSPECIFIED && int32(k) != fl.Kind {
			return store.ChargeLine{}, false, apierr.InvalidField(f+".kind",
				"must be unset or the schedule's kind of "+code+", "+aftersalesv1.FeeKind(fl.Kind).String())
		}
		cl, err := priceLine(owner, pos, fl, qty)
		if err != nil {
			return store.ChargeLine{}, false, apierr.InvalidField(f+".quantity", "the amount is too large")
		}
		if desc != "" {
			cl.Description = desc
		}
		return cl, false, nil
	}
	var vs []apierr.Violation
	if l.GetKind() == aftersalesv1.FeeKind_FEE_KIND_UNSPECIFIED {
		vs = append(vs, apierr.Violation{Field: f + ".kind", Description: "is required for a line outside the fee schedule (no code)"})
	}
	if price == nil {
		vs = append(vs, apierr.Violation{Field: f + ".unit_price", Description: "is required for a line outside the fee schedule (no code)"})
	}
	if desc == "" {
		// The customer must be able to tell what an unlisted charge is.
		vs = append(vs, apierr.Violation{Field: f + ".description", Description: "is required for a line outside the fee schedule (no code)"})
	}
	if len(vs) > 0 {
		return store.ChargeLine{}, false, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	amt, err := price.Mul(qty)
	if err != nil {
		return store.ChargeLine{}, false, apierr.InvalidField(f+".quantity", "the amount is too large")
	}
	return store.ChargeLine{
		OwnerID: owner, Position: pos, Kind: int32(l.GetKind()), Description: desc,
		Quantity: qty, UnitPriceMinor: price.Minor, AmountMinor: amt.Minor,
	}, true, nil
}

// moreThanPercent reports whether part is more than percent % of whole,
// exactly: part × 100 > percent × whole, in integers that cannot
// overflow.
func moreThanPercent(part, whole, percent int64) bool {
	l := new(big.Int).Mul(big.NewInt(part), big.NewInt(100))
	r := new(big.Int).Mul(big.NewInt(percent), big.NewInt(whole))
	return l.Cmp(r) > 0
}

// legacyFeeQuoteAllowed decides whether caller may set a free-form
// fee_quote: once a fee schedule is in effect, prices come from it
// (QuoteTicket), and only a manager may still give one by hand.
func legacyFeeQuoteAllowed(tx *gorm.DB, caller principal.Principal, now time.Time) error {
	if decidesPrices(caller) {
		return nil
	}
	pl, err := priceListInEffect(tx, now)
	if err != nil || pl == nil {
		return err
	}
	return apierr.Precondition(aftersalesv1.ErrorReason_QUOTE_FROM_SCHEDULE_REQUIRED, "FEE_SCHEDULE", pl.name(),
		"fee schedule "+pl.name()+" is in effect: price the work from it with QuoteTicket (POST /v1/tickets/{ticket}:quote); only a manager may set a free-form fee_quote")
}

// checkFeeQuoteUpdate decides on UpdateTicket's fee_quote value q for the
// ticket row (called name). A ticket with a quote from the schedule takes
// no fee_quote; an empty one changes nothing there (skip), so that an
// update of every field still works.
func checkFeeQuoteUpdate(tx *gorm.DB, caller principal.Principal, row *store.Ticket, name string, q *aftersalesv1.FeeQuote, now time.Time) (skip bool, err error) {
	var n int64
	if err := tx.Model(&store.TicketQuote{}).Where("ticket_id = ?", row.ID).Count(&n).Error; err != nil {
		return false, store.Translate(err)
	}
	if n > 0 {
		if q == nil {
			return true, nil
		}
		return false, apierr.Precondition(aftersalesv1.ErrorReason_QUOTE_FROM_SCHEDULE_REQUIRED, "QUOTE", name,
			"the ticket has a quote from the fee schedule (quote); change it with QuoteTicket, not fee_quote")
	}
	if q == nil && row.FeeApproval == int32(aftersalesv1.FeeQuote_APPROVAL_STATE_UNSPECIFIED) {
		return false, nil // clears nothing
	}
	return false, legacyFeeQuoteAllowed(tx, caller, now)
}

// chargeWithinQuote applies the customer's approval to what a resolution
// charges on a ticket with a quote from the schedule: an approved
// revision is the most that may be charged (and the charge when the
// resolution names none); without an approved revision nothing may be.
// Tickets with a free-form fee_quote or none keep the charge they are
// given.
func chargeWithinQuote(tx *gorm.DB, row *store.Ticket, name string, charged *aftersalesv1.Money) error {
	cur, err := loadQuote(tx, row.ID)
	if err != nil || cur == nil {
		return err
	}
	q := &cur.row
	approved := cur.state() == aftersalesv1.Quote_APPROVED
	if charged.GetCurrencyCode() == "" && charged.GetMinorUnits() == 0 {
		if approved {
			row.ChargedCurrency, row.ChargedMinor = q.Currency, q.TotalMinor
		}
		return nil
	}
	if !approved {
		if charged.GetMinorUnits() == 0 {
			return nil
		}
		return apierr.Precondition(aftersalesv1.ErrorReason_FEE_APPROVAL_REQUIRED, "FEE_QUOTE", name, fmt.Sprintf(
			"revision %d of the quote is %s: the customer approved nothing to charge", q.Revision, cur.state()))
	}
	if charged.GetCurrencyCode() != q.Currency {
		return apierr.Invalid(aftersalesv1.ErrorReason_CURRENCY_MISMATCH, apierr.Violation{
			Field: "resolution.fee_charged.currency_code", Description: "must be " + q.Currency + ", the quote's currency"})
	}
	if charged.GetMinorUnits() > q.TotalMinor {
		total := money.Amount{Currency: q.Currency, Minor: q.TotalMinor}
		return apierr.Precondition(aftersalesv1.ErrorReason_FEE_APPROVAL_REQUIRED, "FEE_QUOTE", name, fmt.Sprintf(
			"the customer approved %s %s (revision %d); a higher charge needs a revised quote and their approval", q.Currency, total, q.Revision))
	}
	return nil
}
