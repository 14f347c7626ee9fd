package service

import (
	"regexp"
	"time"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
)

// Names and API messages of warranty claims and settlement statements.

// claimName is a partner claim's resource name.
func claimName(row *store.WarrantyClaim) string {
	return resname.Format(resname.Partners, row.PartnerID, resname.Claims, row.ID)
}

// settlementName is the name of a partner's statement of month.
func settlementName(partnerID, month string) string {
	return resname.Format(resname.Partners, partnerID, resname.Settlements, month)
}

// approvedShown reports whether a claim's approval stands: a held claim
// waits to be submitted anew, and its earlier approval no longer counts.
func approvedShown(state int32) bool {
	return state == int32(aftersalesv1.WarrantyClaim_APPROVED) || state == int32(aftersalesv1.WarrantyClaim_SETTLED)
}

// claimProto is a partner claim as the API shows it, with its lines.
func claimProto(row *store.WarrantyClaim, lines []store.ChargeLine) *aftersalesv1.WarrantyClaim {
	name := claimName(row)
	out := &aftersalesv1.WarrantyClaim{
		Name:          name,
		Ticket:        resname.Format(resname.Tickets, row.TicketID),
		State:         aftersalesv1.WarrantyClaim_State(row.State),
		TicketType:    aftersalesv1.Ticket_Type(row.TicketType),
		ProductModel:  row.ProductModel,
		FaultCategory: row.FaultCategory,
		FaultCode:     row.FaultCode,
		ClaimedAmount: moneyOut(row.Currency, row.ClaimedMinor),
		ReviewReason:  row.ReviewReason,
		Reviewer:      refName(resname.Staff, row.ReviewerID),
		FeeSchedule:   refName(resname.FeeSchedules, row.ScheduleID),
		ResolveTime:   ts(row.ResolveTime),
		ReviewTime:    tsPtr(row.ReviewTime),
		PayableTime:   tsPtr(row.PayableTime),
		CreateTime:    ts(row.CreateTime),
		UpdateTime:    ts(row.UpdateTime),
		Etag:          etag.Of(name, row.Version),
	}
	if approvedShown(row.State) {
		out.ApprovedAmount = moneyOut(row.Currency, row.ApprovedMinor)
	}
	if row.SettlementMonth != "" {
		out.Settlement = settlementName(row.PartnerID, row.SettlementMonth)
	}
	for i := range lines {
		out.Lines = append(out.Lines, chargeLineProto(row.Currency, &lines[i]))
	}
	return out
}

// settlementLineProto is a claim as a line of a statement.
func settlementLineProto(row *store.WarrantyClaim) *aftersalesv1.SettlementLine {
	return &aftersalesv1.SettlementLine{
		Claim:          claimName(row),
		Ticket:         resname.Format(resname.Tickets, row.TicketID),
		ProductModel:   row.ProductModel,
		FaultCategory:  row.FaultCategory,
		FaultCode:      row.FaultCode,
		ResolveTime:    ts(row.ResolveTime),
		ClaimedAmount:  moneyOut(row.Currency, row.ClaimedMinor),
		ApprovedAmount: moneyOut(row.Currency, row.ApprovedMinor),
		ReviewReason:   row.ReviewReason,
	}
}

// monthPattern is a statement's month, "YYYY-MM".
var monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// parseSettlementName returns the partner id and the month of a
// statement's name, with the month's first instant and the next month's
// (UTC).
func parseSettlementName(name string) (partnerID, month string, start, end time.Time, err error) {
	parts, ok := resname.Parse(name, resname.Partners, resname.Settlements)
	if !ok || parts[0] == resname.Wildcard {
		return "", "", time.Time{}, time.Time{}, apierr.InvalidField("name", "must be a resource name of the form partners/{partner}/settlements/{YYYY-MM}")
	}
	if !monthPattern.MatchString(parts[1]) {
		return "", "", time.Time{}, time.Time{}, apierr.InvalidField("name", "the month must be YYYY-MM, for example 2026-03")
	}
	start, err = time.Parse("2006-01", parts[1])
	// A statement's end must be a valid Timestamp too (before year 10000).
	if err != nil || start.Year() < 1970 || start.Year() > 9998 {
		return "", "", time.Time{}, time.Time{}, apierr.InvalidField("name", "the month must be YYYY-MM from 1970-01 to 9998-12")
	}
	return parts[0], parts[1], start, start.AddDate(0, 1, 0), nil
}

// parseClaimName returns the partner id and the claim id of a claim's
// name.
func parseClaimName(field, name string) (partnerID, claimID string, err error) {
	parts, ok := resname.Parse(name, resname.Partners, resname.Claims)
	if !ok {
		return "", "", apierr.InvalidField(field, "must be a resource name of the form partners/{partner}/claims/{claim}")
	}
	return parts[0], parts[1], nil
}
