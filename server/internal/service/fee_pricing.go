package service

import (
	"errors"
	"sync"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/money"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
	moneypb "google.golang.org/genproto/googleapis/type/money"
)

// The pricing core shared by the fee schedule, quotes and warranty
// claims: the schedule in effect, its lines, and money in and out of the
// API.

// priceList is a published fee schedule, loaded whole. Published
// schedules never change, so a loaded one is kept for the life of the
// process (priceLists) and every replica agrees on it.
type priceList struct {
	row      store.FeeSchedule
	lines    map[string]*store.FeeLine // by code
	ordered  []*store.FeeLine          // as given
	category map[string]string         // model → category
}

// priceLists caches loaded published schedules by id.
var priceLists sync.Map

// priceListInEffect returns the published schedule in effect at at, or
// nil when there is none.
func priceListInEffect(tx *gorm.DB, at time.Time) (*priceList, error) {
	var row store.FeeSchedule
	err := tx.Where("state = ? AND effective_time <= ?", int32(aftersalesv1.FeeSchedule_PUBLISHED), at).
		Order("effective_time DESC").Order("id DESC").Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Translate(err)
	}
	return loadPriceList(tx, &row)
}

// requirePriceList is priceListInEffect where a schedule is needed:
// none is FAILED_PRECONDITION NO_FEE_SCHEDULE.
func requirePriceList(tx *gorm.DB, at time.Time) (*priceList, error) {
	pl, err := priceListInEffect(tx, at)
	if err == nil && pl == nil {
		err = apierr.Precondition(aftersalesv1.ErrorReason_NO_FEE_SCHEDULE, "FEE_SCHEDULE", "feeSchedules",
			"no fee schedule is in effect; publish one (FeeService.PublishFeeSchedule) first")
	}
	return pl, err
}

// loadPriceList returns the published schedule row with its lines, from
// the cache when loaded before.
func loadPriceList(tx *gorm.DB, row *store.FeeSchedule) (*priceList, error) {
	if v, ok := priceLists.Load(row.ID); ok {
		return v.(*priceList), nil
	}
	var lines []store.FeeLine
	if err := tx.Where("schedule_id = ?", row.ID).Order("position").Find(&lines).Error; err != nil {
		return nil, store.Translate(err)
	}
	var cats []store.FeeCategory
	if err := tx.Where("schedule_id = ?", row.ID).Find(&cats).Error; err != nil {
		return nil, store.Translate(err)
	}
	pl := &priceList{row: *row, lines: make(map[string]*store.FeeLine, len(lines)), category: make(map[string]string, len(cats))}
	for i := range lines {
		pl.lines[lines[i].Code] = &lines[i]
		pl.ordered = append(pl.ordered, &lines[i])
	}
	for _, c := range cats {
		pl.category[c.Model] = c.Category
	}
	if row.State == int32(aftersalesv1.FeeSchedule_PUBLISHED) {
		priceLists.Store(row.ID, pl)
	}
	return pl, nil
}

// name is the schedule's resource name.
func (p *priceList) name() string { return resname.Format(resname.FeeSchedules, p.row.ID) }

// amount is minor units in the schedule's currency.
func (p *priceList) amount(minor int64) money.Amount {
	return money.Amount{Currency: p.row.Currency, Minor: minor}
}

// line returns the line with code, or nil.
func (p *priceList) line(code string) *store.FeeLine { return p.lines[code] }

// part returns the PART line of a part number, or nil.
func (p *priceList) part(number string) *store.FeeLine {
	if l := p.lines[number]; l != nil && l.Kind == int32(aftersalesv1.FeeKind_FEE_KIND_PART) {
		return l
	}
	return nil
}

// labor returns the LABOR line that prices a job of ticketType on model:
// one for the model's category wins over one for any category, then one
// for the type over one for any type; nil when none applies.
func (p *priceList) labor(ticketType int32, model string) *store.FeeLine {
	cat := p.category[model]
	var best *store.FeeLine
	bestScore := -1
	for _, l := range p.ordered {
		if l.Kind != int32(aftersalesv1.FeeKind_FEE_KIND_LABOR) {
			continue
		}
		if (l.ProductCategory != "" && l.ProductCategory != cat) || (l.TicketType != 0 && l.TicketType != ticketType) {
			continue
		}
		score := 0
		if l.ProductCategory != "" {
			score += 2
		}
		if l.TicketType != 0 {
			score++
		}
		if score > bestScore {
			best, bestScore = l, score
		}
	}
	return best
}

// callOut returns the CALL_OUT line of region, else the one for every
// region, else nil.
func (p *priceList) callOut(region string) *store.FeeLine {
	var fallback *store.FeeLine
	for _, l := range p.ordered {
		if l.Kind != int32(aftersalesv1.FeeKind_FEE_KIND_CALL_OUT) {
			continue
		}
		if l.Region == region && region != "" {
			return l
		}
		if l.Region == "" && fallback == nil {
			fallback = l
		}
	}
	return fallback
}

// moneyIn converts an amount from the API exactly, as a field violation
// on field when it is malformed, finer than its currency's minor unit,
// negative, or (when currency is set) in another currency
// (CURRENCY_MISMATCH).
func moneyIn(field string, m *moneypb.Money, currency string) (money.Amount, error) {
	a, err := money.FromProto(m)
	if err != nil {
		return money.Amount{}, apierr.InvalidField(field, err.Error())
	}
	if a.Minor < 0 {
		return money.Amount{}, apierr.InvalidField(field, "must not be negative")
	}
	if currency != "" && a.Currency != currency {
		return money.Amount{}, apierr.Invalid(aftersalesv1.ErrorReason_CURRENCY_MISMATCH,
			apierr.Violation{Field: field + ".currency_code", Description: "must be " + currency + ", the fee schedule's currency"})
	}
	return a, nil
}

// moneyOut is minor units of currency as google.type.Money.
func moneyOut(currency string, minor int64) *moneypb.Money {
	return money.Amount{Currency: currency, Minor: minor}.Proto()
}

// chargeLineProto is a stored line as the API shows it.
func chargeLineProto(currency string, l *store.ChargeLine) *aftersalesv1.ChargeLine {
	return &aftersalesv1.ChargeLine{
		Code: l.Code, Description: l.Description, Quantity: l.Quantity, Kind: aftersalesv1.FeeKind(l.Kind),
		UnitPrice: moneyOut(currency, l.UnitPriceMinor), Amount: moneyOut(currency, l.AmountMinor),
		Discount: moneyOut(currency, l.DiscountMinor),
	}
}

// priceLine makes a charge line of quantity × a schedule line.
func priceLine(owner string, pos int32, l *store.FeeLine, quantity int64) (store.ChargeLine, error) {
	amt, err := money.Amount{Minor: l.UnitPriceMinor}.Mul(quantity)
	if err != nil {
		return store.ChargeLine{}, apierr.InvalidField("quantity", "the amount is too large")
	}
	return store.ChargeLine{
		OwnerID: owner, Position: pos, Code: l.Code, Kind: l.Kind, Description: l.Description,
		Quantity: quantity, UnitPriceMinor: l.UnitPriceMinor, AmountMinor: amt.Minor,
	}, nil
}

// writeChargeLines makes lines the charge lines of owner (a ticket's
// quote or a claim), whose row the transaction has locked: it updates the
// positions owner had, inserts the new ones and deletes those past the
// end, each by its primary key. Deleting owner's whole range and
// inserting it again would take InnoDB gap locks, and two owners written
// at once then deadlock on each other's inserts (measured: most
// concurrent quotes were ABORTED).
func writeChargeLines(tx *gorm.DB, owner string, lines []store.ChargeLine) error {
	var had []int32
	if err := tx.Model(&store.ChargeLine{}).Where("owner_id = ?", owner).Pluck("position", &had).Error; err != nil {
		return store.Translate(err)
	}
	stale := map[int32]bool{}
	for _, p := range had {
		stale[p] = true
	}
	var fresh []store.ChargeLine
	for i := range lines {
		l := &lines[i]
		l.OwnerID = owner
		if !stale[l.Position] {
			fresh = append(fresh, *l)
			continue
		}
		delete(stale, l.Position)
		if err := tx.Model(l).Select("*").Updates(l).Error; err != nil {
			return store.Translate(err)
		}
	}
	if len(fresh) > 0 {
		if err := tx.Create(&fresh).Error; err != nil {
			return store.Translate(err)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	gone := make([]int32, 0, len(stale))
	for p := range stale {
		gone = append(gone, p)
	}
	return store.Translate(tx.Where("owner_id = ? AND position IN ?", owner, gone).Delete(&store.ChargeLine{}).Error)
}

// chargeLinesOf returns the charge lines of owners (claims or tickets
// with quotes) by owner id, in order: one query for any number.
func chargeLinesOf(db *gorm.DB, owners ...string) (map[string][]store.ChargeLine, error) {
	out := make(map[string][]store.ChargeLine, len(owners))
	if len(owners) == 0 {
		return out, nil
	}
	var lines []store.ChargeLine
	if err := db.Where("owner_id IN ?", owners).Order("owner_id").Order("position").Find(&lines).Error; err != nil {
		return nil, store.Translate(err)
	}
	for _, l := range lines {
		out[l.OwnerID] = append(out[l.OwnerID], l)
	}
	return out, nil
}
