package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/money"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	moneypb "google.golang.org/genproto/googleapis/type/money"
)

// Settlement statements: what the company owes a shop for a month. An
// open month is computed from the claims as they are; issuing it (once
// the month is over) writes the settlements row and marks its claims
// SETTLED with the month, after which neither changes again.
//
// No approved claim can become payable in a month already issued:
// approval makes a claim payable at the review time at the earliest, and
// a month is issued only after it has ended.

func (s *warrantyClaimServer) GetSettlementStatement(ctx context.Context, req *aftersalesv1.GetSettlementStatementRequest) (*aftersalesv1.SettlementStatement, error) {
	partnerID, month, start, end, err := parseSettlementName(req.GetName())
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	if err := partnerVisible(db, principal.FromContext(ctx), partnerID, req.GetName()); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	out, err := statement(db, partnerID, month, start, end)
	return out, s.toStatus(ctx, err)
}

func (s *warrantyClaimServer) IssueSettlementStatement(ctx context.Context, req *aftersalesv1.IssueSettlementStatementRequest) (*aftersalesv1.SettlementStatement, error) {
	partnerID, month, start, end, err := parseSettlementName(req.GetName())
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	name := settlementName(partnerID, month)
	return mutate(ctx, s.base, aftersalesv1.WarrantyClaimService_IssueSettlementStatement_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.SettlementStatement, error) {
		// The partner's row serialises the issues of its statements, so
		// that a second issue finds the first one's row.
		if err := lockRow(tx, &store.Partner{}, partnerID); err != nil {
			if isNotFound(err) {
				return nil, notFound(req.GetName())
			}
			return nil, err
		}
		now := s.now()
		if now.Before(end) {
			return nil, apierr.Precondition(aftersalesv1.ErrorReason_SETTLEMENT_NOT_READY, "TIME", name,
				fmt.Sprintf("%s can be issued from %s, once its month has ended", name, end.Format(time.RFC3339)))
		}
		var issued store.Settlement
		err := store.Translate(forUpdate(tx).Where("partner_id = ? AND month = ?", partnerID, month).Take(&issued).Error)
		if err == nil {
			return statement(tx, partnerID, month, start, end) // issued before: as issued
		} else if !isNotFound(err) {
			return nil, err
		}
		var claims []store.WarrantyClaim
		if err := forUpdate(payableIn(tx, partnerID, start, end)).Find(&claims).Error; err != nil {
			return nil, store.Translate(err)
		}
		totals, err := claimTotals(claims)
		if err != nil {
			return nil, err
		}
		row := &store.Settlement{
			PartnerID: partnerID, Month: month, ClaimCount: int64(len(claims)), Totals: formatTotals(totals),
			IssueTime: now, IssuedBy: caller.String(),
		}
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		lines, err := chargeLinesOf(tx, claimIDs(claims)...)
		if err != nil {
			return nil, err
		}
		for i := range claims {
			c := &claims[i]
			before := claimProto(c, lines[c.ID])
			c.State, c.SettlementMonth = claimSettled, month
			c.Touch(now)
			if err := store.Translate(tx.Save(c).Error); err != nil {
				return nil, err
			}
			if err := s.audit(ctx, tx, before.GetName(), before, claimProto(c, lines[c.ID])); err != nil {
				return nil, err
			}
		}
		out, err := statement(tx, partnerID, month, start, end)
		if err != nil {
			return nil, err
		}
		// The trail keeps the statement without its lines (each claim's
		// own record says it was settled), so a large month fits a record.
		kept := &aftersalesv1.SettlementStatement{
			Name: out.GetName(), Partner: out.GetPartner(), State: out.GetState(), StartTime: out.GetStartTime(),
			EndTime: out.GetEndTime(), Totals: out.GetTotals(), IssueTime: out.GetIssueTime(),
		}
		return out, s.audit(ctx, tx, name, nil, kept)
	})
}

// payableIn selects a partner's APPROVED claims that become payable in
// [start, end), oldest payable first.
func payableIn(tx *gorm.DB, partnerID string, start, end time.Time) *gorm.DB {
	return tx.Where("partner_id = ? AND state = ? AND payable_time >= ? AND payable_time < ?", partnerID, claimApproved, start, end).
		Order("payable_time").Order("id")
}

// statement returns a partner's statement of month: as issued, when it
// was; else computed from the claims now.
func statement(tx *gorm.DB, partnerID, month string, start, end time.Time) (*aftersalesv1.SettlementStatement, error) {
	out := &aftersalesv1.SettlementStatement{
		Name: settlementName(partnerID, month), Partner: resname.Format(resname.Partners, partnerID),
		StartTime: ts(start), EndTime: ts(end),
	}
	var issued store.Settlement
	err := store.Translate(tx.Where("partner_id = ? AND month = ?", partnerID, month).Take(&issued).Error)
	var claims []store.WarrantyClaim
	switch {
	case err == nil:
		out.State, out.IssueTime = aftersalesv1.SettlementStatement_ISSUED, ts(issued.IssueTime)
		if err := tx.Where("partner_id = ? AND settlement_month = ?", partnerID, month).
			Order("payable_time").Order("id").Find(&claims).Error; err != nil {
			return nil, store.Translate(err)
		}
		totals, err := parseTotals(issued.Totals)
		if err != nil {
			return nil, err
		}
		out.Totals = totals
	case isNotFound(err):
		out.State = aftersalesv1.SettlementStatement_OPEN
		if err := payableIn(tx, partnerID, start, end).Find(&claims).Error; err != nil {
			return nil, store.Translate(err)
		}
		totals, err := claimTotals(claims)
		if err != nil {
			return nil, err
		}
		for _, t := range totals {
			out.Totals = append(out.Totals, t.Proto())
		}
	default:
		return nil, err
	}
	for i := range claims {
		out.Lines = append(out.Lines, settlementLineProto(&claims[i]))
	}
	if err := tx.Model(&store.WarrantyClaim{}).Where("partner_id = ? AND state IN ?", partnerID, []int32{claimSubmitted, claimHeld}).
		Count(&out.PendingClaims).Error; err != nil {
		return nil, store.Translate(err)
	}
	return out, nil
}

// claimTotals adds up the approved amounts of claims, exactly, one
// amount per currency, by currency code.
func claimTotals(claims []store.WarrantyClaim) ([]money.Amount, error) {
	by := map[string][]money.Amount{}
	for _, c := range claims {
		by[c.Currency] = append(by[c.Currency], money.Amount{Currency: c.Currency, Minor: c.ApprovedMinor})
	}
	codes := make([]string, 0, len(by))
	for code := range by {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	out := make([]money.Amount, len(codes))
	for i, code := range codes {
		sum, err := money.Sum(code, by[code]...)
		if err != nil {
			return nil, fmt.Errorf("settlement total in %s: %w", code, err)
		}
		out[i] = sum
	}
	return out, nil
}

// formatTotals is totals as stored: "CUR:minor", space-separated.
func formatTotals(totals []money.Amount) string {
	parts := make([]string, len(totals))
	for i, t := range totals {
		parts[i] = t.Currency + ":" + strconv.FormatInt(t.Minor, 10)
	}
	return strings.Join(parts, " ")
}

// parseTotals reads totals as formatTotals stored them.
func parseTotals(s string) ([]*moneypb.Money, error) {
	var out []*moneypb.Money
	for _, part := range strings.Fields(s) {
		code, minor, ok := strings.Cut(part, ":")
		n, err := strconv.ParseInt(minor, 10, 64)
		if !ok || err != nil {
			return nil, errors.New("settlement: malformed stored totals " + strconv.Quote(s))
		}
		out = append(out, money.Amount{Currency: code, Minor: n}.Proto())
	}
	return out, nil
}

// claimIDs returns the ids of claims.
func claimIDs(claims []store.WarrantyClaim) []string {
	out := make([]string, len(claims))
	for i := range claims {
		out[i] = claims[i].ID
	}
	return out
}
