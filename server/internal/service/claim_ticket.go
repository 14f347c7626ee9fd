package service

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/money"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/store"
)

// This file is where warranty claims and tickets meet: resolving a
// warranty ticket claims its work, and reopening it soon after holds the
// claim. Both run inside the ticket change's transaction, which has
// locked the ticket, so one ticket's claim changes one call at a time.

// claimWindow is how long after a ticket's resolution a reopening holds
// its claim, and when the claim becomes payable at the earliest
// (claim.proto).
const claimWindow = 30 * 24 * time.Hour

// Claim states, as stored.
const (
	claimSubmitted = int32(aftersalesv1.WarrantyClaim_SUBMITTED)
	claimHeld      = int32(aftersalesv1.WarrantyClaim_HELD)
	claimApproved  = int32(aftersalesv1.WarrantyClaim_APPROVED)
	claimRejected  = int32(aftersalesv1.WarrantyClaim_REJECTED)
	claimSettled   = int32(aftersalesv1.WarrantyClaim_SETTLED)
)

// warrantyWork reports whether the company pays for a ticket's work: the
// unit was in warranty when the ticket was opened, or it is a recall.
func warrantyWork(tk *store.Ticket) bool {
	return tk.WarrantyStatus == int32(aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY) ||
		tk.Type == int32(aftersalesv1.Ticket_RECALL)
}

// forUpdate locks what q reads for the rest of the transaction (MySQL;
// SQLite's write transactions are exclusive already).
func forUpdate(q *gorm.DB) *gorm.DB {
	if q.Dialector.Name() == store.DialectMySQL {
		return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return q
}

// ticketClaim reads the claim of a ticket the transaction has locked,
// and locks it when there is one. The lookup itself does not lock: a
// locking read that finds no row takes a gap lock on the ticket_id index,
// and two tickets resolved at once would then deadlock on each other's
// new claims. Only a transaction holding the ticket creates its claim,
// so nothing can appear in between; reviews lock the claim row, which the
// second read waits for and then reads as committed.
func ticketClaim(tx *gorm.DB, ticketID string) (store.WarrantyClaim, bool, error) {
	var row store.WarrantyClaim
	err := store.Translate(tx.Select("id").Where("ticket_id = ?", ticketID).Take(&row).Error)
	if isNotFound(err) {
		return row, false, nil
	}
	if err == nil {
		err = store.Translate(forUpdate(tx).Where("id = ?", row.ID).Take(&row).Error)
	}
	return row, err == nil, err
}

// claimResolved prices the warranty work of a ticket being resolved (tk
// carries its new resolution) by the fee schedule in effect now: a claim
// of the shop the ticket is dispatched to, SUBMITTED for review, or, for
// the company's own technicians, a cost record created APPROVED that no
// shop ever sees. Without a schedule in effect, or for work the customer
// pays for, nothing is claimed.
//
// The ticket's claim, when it was resolved before and reopened, is
// priced anew from this resolution (lines, amounts, resolve time) and
// submitted again, unless it was rejected or settled: those are final.
//
// A shop's claim needs every reported part in the schedule (an unknown
// part number fails the resolution: the shop must claim what the company
// can price). Company work has no claim to refuse, so an unknown part is
// left out of its cost.
func (b *base) claimResolved(ctx context.Context, tx *gorm.DB, tk *store.Ticket, parts []*aftersalesv1.PartUsage, now time.Time) error {
	if !warrantyWork(tk) {
		return nil
	}
	pl, err := priceListInEffect(tx, now)
	if err != nil || pl == nil {
		return err
	}
	existing, found, err := ticketClaim(tx, tk.ID)
	if err != nil {
		return err
	}
	if found && (existing.State == claimRejected || existing.State == claimSettled) {
		return nil
	}
	var product store.Product
	if tk.ProductID != "" {
		if err := store.Translate(tx.Select("model", "region").Where("id = ?", tk.ProductID).Take(&product).Error); err != nil && !isNotFound(err) {
			return err
		}
	}
	row := existing
	if !found {
		row = store.WarrantyClaim{ID: ids.New(), TicketID: tk.ID, CreateTime: now}
	}
	lines, err := claimLines(pl, row.ID, tk, &product, parts)
	if err != nil {
		return err
	}
	amounts := make([]money.Amount, len(lines))
	for i := range lines {
		amounts[i] = pl.amount(lines[i].AmountMinor)
	}
	claimed, err := money.Sum(pl.row.Currency, amounts...)
	if err != nil {
		return apierr.InvalidField("resolution.parts", "the claim's total is too large")
	}

	var before *aftersalesv1.WarrantyClaim
	if found && existing.PartnerID != "" {
		var old []store.ChargeLine
		if err := tx.Where("owner_id = ?", row.ID).Order("position").Find(&old).Error; err != nil {
			return store.Translate(err)
		}
		before = claimProto(&existing, old)
	}
	// The claim follows the ticket's current worker: a ticket reopened
	// and finished by another shop (or by the company) is theirs to claim.
	row.PartnerID, row.TicketType, row.ProductModel = tk.PartnerID, tk.Type, product.Model
	row.FaultCategory, row.FaultCode = tk.FaultCategory, tk.FaultCode
	row.ScheduleID, row.Currency, row.ClaimedMinor = pl.row.ID, pl.row.Currency, claimed.Minor
	row.ResolveTime, row.ReviewReason, row.ReviewerID, row.ReviewTime, row.PayableTime = now, "", "", nil, nil
	if row.PartnerID != "" {
		row.State, row.ApprovedMinor = claimSubmitted, 0
	} else {
		row.State, row.ApprovedMinor = claimApproved, claimed.Minor
	}
	if found {
		row.Touch(now)
		err = tx.Save(&row).Error
	} else {
		row.UpdateTime, row.Version = now, 1
		err = tx.Create(&row).Error
	}
	if err != nil {
		return store.Translate(err)
	}
	if err := writeChargeLines(tx, row.ID, lines); err != nil {
		return err
	}
	if row.PartnerID == "" {
		return nil // company cost: no API resource, nothing to audit
	}
	after := claimProto(&row, lines)
	if before == nil || before.GetName() != after.GetName() {
		// New, or another shop's claim now: new to them. (An untyped nil:
		// audit tells a creation by a nil interface.)
		return b.audit(ctx, tx, after.GetName(), nil, after)
	}
	return b.audit(ctx, tx, after.GetName(), before, after)
}

// claimLines prices a resolution: labour for the ticket's type and the
// product's category, each reported part, and the call-out of the
// product's region, as far as the schedule has them.
func claimLines(pl *priceList, owner string, tk *store.Ticket, product *store.Product, parts []*aftersalesv1.PartUsage) ([]store.ChargeLine, error) {
	var lines []store.ChargeLine
	add := func(l *store.FeeLine, quantity int64, field string) error {
		cl, err := priceLine(owner, int32(len(lines)), l, quantity)
		if err != nil {
			return apierr.InvalidField(field, "the amount is too large")
		}
		lines = append(lines, cl)
		return nil
	}
	if l := pl.labor(tk.Type, product.Model); l != nil {
		if err := add(l, 1, "resolution.labor"); err != nil {
			return nil, err
		}
	}
	for i, p := range parts {
		field := fmt.Sprintf("resolution.parts[%d]", i)
		l := pl.part(p.GetPartNumber())
		if l == nil {
			if tk.PartnerID == "" {
				continue
			}
			return nil, apierr.Invalid(aftersalesv1.ErrorReason_UNKNOWN_FEE_LINE, apierr.Violation{
				Field:       field + ".part_number",
				Description: fmt.Sprintf("part %q is not in the fee schedule in effect (%s); a warranty claim prices only parts it lists", p.GetPartNumber(), pl.name()),
			})
		}
		if err := add(l, int64(p.GetQuantity()), field+".quantity"); err != nil {
			return nil, err
		}
	}
	if l := pl.callOut(product.Region); l != nil {
		if err := add(l, 1, "resolution"); err != nil {
			return nil, err
		}
	}
	return lines, nil
}

// holdClaim puts the claim of a ticket being reopened within
// claimWindow of its resolution on hold: a shop's SUBMITTED or APPROVED
// claim becomes HELD and stops being payable; a company cost record is
// held too, so that cost figures leave it out until the ticket is
// resolved again.
func (b *base) holdClaim(ctx context.Context, tx *gorm.DB, ticketID string, now time.Time) error {
	row, found, err := ticketClaim(tx, ticketID)
	if err != nil || !found {
		return err
	}
	if !now.Before(row.ResolveTime.Add(claimWindow)) || (row.State != claimSubmitted && row.State != claimApproved) {
		return nil
	}
	var lines []store.ChargeLine
	if row.PartnerID != "" {
		if err := tx.Where("owner_id = ?", row.ID).Order("position").Find(&lines).Error; err != nil {
			return store.Translate(err)
		}
	}
	before := claimProto(&row, lines)
	row.State, row.PayableTime = claimHeld, nil
	row.Touch(now)
	if err := store.Translate(tx.Save(&row).Error); err != nil {
		return err
	}
	if row.PartnerID == "" {
		return nil
	}
	return b.audit(ctx, tx, before.GetName(), before, claimProto(&row, lines))
}
