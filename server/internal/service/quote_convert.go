package service

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// storedQuote is a ticket's current quote revision as stored: its row and
// its lines, in order.
type storedQuote struct {
	row   store.TicketQuote
	lines []store.ChargeLine
}

// state is the revision's state.
func (q *storedQuote) state() aftersalesv1.Quote_State { return aftersalesv1.Quote_State(q.row.State) }

// proto is the quote as staff see it.
func (q *storedQuote) proto() *aftersalesv1.Quote {
	r := &q.row
	out := &aftersalesv1.Quote{
		Revision:    r.Revision,
		State:       aftersalesv1.Quote_State(r.State),
		Subtotal:    moneyOut(r.Currency, r.SubtotalMinor),
		Total:       moneyOut(r.Currency, r.TotalMinor),
		FeeSchedule: resname.Format(resname.FeeSchedules, r.ScheduleID),
		Note:        r.Note,
		QuotedBy:    r.QuotedBy,
		ApprovedBy:  r.ApprovedBy,
		QuoteTime:   ts(r.QuoteTime),
		DecideTime:  tsPtr(r.DecideTime),
	}
	if r.DiscountMinor > 0 {
		out.Discount = moneyOut(r.Currency, r.DiscountMinor)
	}
	if r.ApprovalReasons != "" {
		out.ApprovalReasons = strings.Split(r.ApprovalReasons, "\n")
	}
	for i := range q.lines {
		out.Lines = append(out.Lines, chargeLineProto(r.Currency, &q.lines[i]))
	}
	return out
}

// loadQuotes reads the quotes of the tickets with ids, with their lines:
// two queries for a whole page of tickets, whatever its size.
func loadQuotes(tx *gorm.DB, ids []string) (map[string]*storedQuote, error) {
	out := map[string]*storedQuote{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []store.TicketQuote
	if err := tx.Where("ticket_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, store.Translate(err)
	}
	if len(rows) == 0 {
		return out, nil
	}
	owners := make([]string, len(rows))
	for i := range rows {
		out[rows[i].TicketID] = &storedQuote{row: rows[i]}
		owners[i] = rows[i].TicketID
	}
	lines, err := chargeLinesOf(tx, owners...)
	if err != nil {
		return nil, err
	}
	for owner, ls := range lines {
		out[owner].lines = ls
	}
	return out, nil
}

// loadQuote reads one ticket's quote; nil when it has none.
func loadQuote(tx *gorm.DB, ticketID string) (*storedQuote, error) {
	qs, err := loadQuotes(tx, []string{ticketID})
	if err != nil {
		return nil, err
	}
	return qs[ticketID], nil
}

// mayHaveQuote reports whether row can have a quote from the schedule:
// QuoteTicket leaves the customer's decision (FeeApproval) set, and
// nothing clears it while the quote exists. Tickets without one, nearly
// all of them, are read and changed without asking ticket_quotes.
func mayHaveQuote(row *store.Ticket) bool {
	return row.FeeApproval != int32(aftersalesv1.FeeQuote_APPROVAL_STATE_UNSPECIFIED)
}

// attachQuotes fills in the quotes of tickets, whole (as the audit trail
// keeps them); ticketView then trims them for the caller. It reports
// whether any ticket has one.
func attachQuotes(tx *gorm.DB, tickets ...*aftersalesv1.Ticket) (bool, error) {
	ids := make([]string, 0, len(tickets))
	for _, t := range tickets {
		if id, ok := resname.ID(t.GetName(), resname.Tickets); ok {
			ids = append(ids, id)
		}
	}
	qs, err := loadQuotes(tx, ids)
	if err != nil || len(qs) == 0 {
		return false, err
	}
	for _, t := range tickets {
		id, _ := resname.ID(t.GetName(), resname.Tickets)
		if q := qs[id]; q != nil {
			t.Quote = q.proto()
		}
	}
	return true, nil
}

// ticketView is t as caller may see it. A customer does not see a quote
// that still awaits a manager's approval, nor why one needed it (the
// company's discount rules are not theirs to read); everyone else sees
// the quote whole. t is left as it is: it may be what the audit trail
// recorded.
func ticketView(caller principal.Principal, t *aftersalesv1.Ticket) *aftersalesv1.Ticket {
	q := t.GetQuote()
	if caller.Role != principal.RoleCustomer || q == nil {
		return t
	}
	t = proto.CloneOf(t)
	if q.GetState() == aftersalesv1.Quote_AWAITING_MANAGER {
		t.Quote = nil
	} else {
		t.Quote.ApprovalReasons = nil
	}
	return t
}

// withoutHiddenQuote is t as the change feed carries it: the feed is read
// by the ticket's customer too, so it shows the quote as ticketView shows
// it to them.
func withoutHiddenQuote(t *aftersalesv1.Ticket) *aftersalesv1.Ticket {
	return ticketView(principal.Principal{Role: principal.RoleCustomer}, t)
}
