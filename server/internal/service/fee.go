package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/money"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// FeeService: the price list. Pricing from it (quotes, claims) is in
// fee_pricing.go.

// feeServer implements FeeService.
type feeServer struct {
	aftersalesv1.UnimplementedFeeServiceServer
	*base
}

var feeScheduleUpdatable = []string{"display_name", "currency_code", "categories", "lines"}

var feeScheduleList = listSpec{columns: []column{
	{field: filter.Field{Name: "state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.FeeSchedule_State_name)}, name: "state", conv: enumValue(aftersalesv1.FeeSchedule_State_value)},
	{field: filter.Field{Name: "currency_code"}, name: "currency"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

// feeScheduleScope: those who set prices (managers, admins) see drafts;
// everyone else sees only what was published.
func feeScheduleScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	if p.Role == principal.RoleAdmin || p.Role == principal.RoleManager {
		return q
	}
	return q.Where("state = ?", int32(aftersalesv1.FeeSchedule_PUBLISHED))
}

// draftSchedule is a schedule being written: the row and its lines and
// categories, replaced whole.
type draftSchedule struct {
	row   store.FeeSchedule
	lines []store.FeeLine
	cats  []store.FeeCategory
}

func (s *feeServer) CreateFeeSchedule(ctx context.Context, req *aftersalesv1.CreateFeeScheduleRequest) (*aftersalesv1.FeeSchedule, error) {
	d := &draftSchedule{}
	if err := d.apply(req.GetFeeSchedule(), feeScheduleUpdatable); err != nil {
		return nil, err
	}
	return mutate(ctx, s.base, aftersalesv1.FeeService_CreateFeeSchedule_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.FeeSchedule, error) {
		now := s.now()
		d.row.ID, d.row.State, d.row.CreateTime, d.row.UpdateTime, d.row.Version = ids.New(), int32(aftersalesv1.FeeSchedule_DRAFT), now, now, 1
		if err := store.Translate(tx.Create(&d.row).Error); err != nil {
			return nil, err
		}
		if err := d.saveLines(tx, true); err != nil {
			return nil, err
		}
		return d.proto(), nil
	})
}

func (s *feeServer) GetFeeSchedule(ctx context.Context, req *aftersalesv1.GetFeeScheduleRequest) (*aftersalesv1.FeeSchedule, error) {
	id, err := parseName("name", req.GetName(), resname.FeeSchedules)
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	row, err := getRow[store.FeeSchedule](ctx, s.base, feeScheduleScope(db, principal.FromContext(ctx)), id, req.GetName())
	if err != nil {
		return nil, err
	}
	d, err := loadDraft(db, row)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return d.proto(), nil
}

func (s *feeServer) ListFeeSchedules(ctx context.Context, req *aftersalesv1.ListFeeSchedulesRequest) (*aftersalesv1.ListFeeSchedulesResponse, error) {
	q := feeScheduleScope(s.db.Gorm(ctx).Model(&store.FeeSchedule{}), principal.FromContext(ctx))
	rows, next, err := list[store.FeeSchedule](q, feeScheduleList, listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListFeeSchedulesResponse{NextPageToken: next}
	for i := range rows {
		resp.FeeSchedules = append(resp.FeeSchedules, (&draftSchedule{row: rows[i]}).proto())
	}
	return resp, nil
}

func (s *feeServer) UpdateFeeSchedule(ctx context.Context, req *aftersalesv1.UpdateFeeScheduleRequest) (*aftersalesv1.FeeSchedule, error) {
	p := req.GetFeeSchedule()
	id, err := parseName("fee_schedule.name", p.GetName(), resname.FeeSchedules)
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(req.GetUpdateMask(), feeScheduleUpdatable)
	if err != nil {
		return nil, err
	}
	// Stored prices are minor units of the schedule's currency, so a new
	// currency needs its prices with it.
	if slices.Contains(paths, "currency_code") && !slices.Contains(paths, "lines") {
		return nil, apierr.InvalidField("update_mask", "currency_code changes the meaning of every price: update lines with it")
	}
	var d *draftSchedule
	out, err := updateRow(ctx, s.base, unscoped, id, p.GetName(), p.GetEtag(), func(row *store.FeeSchedule) *aftersalesv1.FeeSchedule {
		if d != nil && d.row.ID == row.ID {
			d.row = *row
			return d.proto()
		}
		return (&draftSchedule{row: *row}).proto()
	}, func(tx *gorm.DB, row *store.FeeSchedule) error {
		if row.State != int32(aftersalesv1.FeeSchedule_DRAFT) {
			return apierr.Precondition(aftersalesv1.ErrorReason_FEE_SCHEDULE_PUBLISHED, "STATE", p.GetName(),
				"the fee schedule is "+aftersalesv1.FeeSchedule_State(row.State).String()+" and never changes; create and publish a new schedule")
		}
		cur, err := loadDraft(tx, row)
		if err != nil {
			return err
		}
		if err := cur.apply(p, paths); err != nil {
			return err
		}
		d = cur
		*row = cur.row
		if !slices.Contains(paths, "lines") && !slices.Contains(paths, "categories") {
			return nil
		}
		return cur.saveLines(tx, true)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *feeServer) PublishFeeSchedule(ctx context.Context, req *aftersalesv1.PublishFeeScheduleRequest) (*aftersalesv1.FeeSchedule, error) {
	id, err := parseName("name", req.GetName(), resname.FeeSchedules)
	if err != nil {
		return nil, err
	}
	now := s.now()
	effective := now
	if req.GetEffectiveTime() != nil {
		effective = req.GetEffectiveTime().AsTime().UTC().Truncate(time.Microsecond)
		// A price list cannot take effect in the past: quotes and claims
		// already priced would disagree with it.
		if effective.Before(now.Add(-time.Minute)) {
			return nil, apierr.InvalidField("effective_time", "must not be in the past")
		}
		if effective.Before(now) {
			effective = now
		}
	}
	return mutate(ctx, s.base, aftersalesv1.FeeService_PublishFeeSchedule_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.FeeSchedule, error) {
		var row store.FeeSchedule
		if err := lockRow(tx, &row, id); err != nil {
			return nil, orErr(ignoreNotFound(err), notFound(req.GetName()))
		}
		if err := checkEtag(req.GetEtag(), req.GetName(), row.Version); err != nil {
			return nil, err
		}
		if row.State != int32(aftersalesv1.FeeSchedule_DRAFT) {
			return nil, apierr.Precondition(aftersalesv1.ErrorReason_FEE_SCHEDULE_PUBLISHED, "STATE", req.GetName(),
				"the fee schedule is already PUBLISHED; only a DRAFT can be published")
		}
		d, err := loadDraft(tx, &row)
		if err != nil {
			return nil, err
		}
		if len(d.lines) == 0 {
			return nil, apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "LINES", req.GetName(),
				"a fee schedule without lines cannot be published")
		}
		before := d.proto()
		d.row.State, d.row.EffectiveTime, d.row.PublishTime = int32(aftersalesv1.FeeSchedule_PUBLISHED), &effective, &now
		d.row.Touch(now)
		if err := store.Translate(tx.Save(&d.row).Error); err != nil {
			return nil, err
		}
		out := d.proto()
		return out, s.audit(ctx, tx, req.GetName(), before, out)
	})
}

func (s *feeServer) GetProductFees(ctx context.Context, req *aftersalesv1.GetProductFeesRequest) (*aftersalesv1.ProductFees, error) {
	customerID, productID, err := parseProductName("product", req.GetProduct())
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	q := productScope(db, principal.FromContext(ctx)).Where("customer_id = ?", customerID)
	product, err := getRow[store.Product](ctx, s.base, q, productID, req.GetProduct())
	if err != nil {
		return nil, err
	}
	return s.productFees(ctx, product.Model, product.Region)
}

// LookupFees needs no credentials (auth.Public): the price list is public
// by design (收费标准透明), and it reveals nothing about any customer.
func (s *feeServer) LookupFees(ctx context.Context, req *aftersalesv1.LookupFeesRequest) (*aftersalesv1.ProductFees, error) {
	return s.productFees(ctx, strings.TrimSpace(req.GetModel()), strings.TrimSpace(req.GetRegion()))
}

// productFees is what paid work on a model in region costs now.
func (s *feeServer) productFees(ctx context.Context, model, region string) (*aftersalesv1.ProductFees, error) {
	pl, err := requirePriceList(s.db.Gorm(ctx), s.now())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	cur := pl.row.Currency
	out := &aftersalesv1.ProductFees{
		FeeSchedule: pl.name(), CurrencyCode: cur, EffectiveTime: tsPtr(pl.row.EffectiveTime),
		Model: model, ProductCategory: pl.category[model], Region: region,
	}
	// Per ticket type, the labour line that applies (the same choice as
	// pricing makes), each line once.
	seen := map[string]bool{}
	for t := range aftersalesv1.Ticket_Type_name {
		if t == 0 {
			continue
		}
		if l := pl.labor(t, model); l != nil && !seen[l.Code] {
			seen[l.Code] = true
		}
	}
	for _, l := range pl.ordered {
		switch {
		case seen[l.Code]:
			out.Labor = append(out.Labor, feeLineProto(cur, l))
		case l.Kind == int32(aftersalesv1.FeeKind_FEE_KIND_PART):
			out.Parts = append(out.Parts, feeLineProto(cur, l))
		}
	}
	if l := pl.callOut(region); l != nil {
		out.CallOut = feeLineProto(cur, l)
	}
	return out, nil
}

// loadDraft reads a schedule's lines and categories.
func loadDraft(tx *gorm.DB, row *store.FeeSchedule) (*draftSchedule, error) {
	d := &draftSchedule{row: *row}
	if err := tx.Where("schedule_id = ?", row.ID).Order("position").Find(&d.lines).Error; err != nil {
		return nil, store.Translate(err)
	}
	if err := tx.Where("schedule_id = ?", row.ID).Order("position").Find(&d.cats).Error; err != nil {
		return nil, store.Translate(err)
	}
	return d, nil
}

// saveLines writes the draft's lines and categories, replacing what the
// schedule had (replace=false on creation skips the delete).
func (d *draftSchedule) saveLines(tx *gorm.DB, replace bool) error {
	if replace {
		if err := tx.Where("schedule_id = ?", d.row.ID).Delete(&store.FeeLine{}).Error; err != nil {
			return store.Translate(err)
		}
		if err := tx.Where("schedule_id = ?", d.row.ID).Delete(&store.FeeCategory{}).Error; err != nil {
			return store.Translate(err)
		}
	}
	for i := range d.lines {
		d.lines[i].ScheduleID = d.row.ID
	}
	for i := range d.cats {
		d.cats[i].ScheduleID = d.row.ID
	}
	if len(d.lines) > 0 {
		if err := tx.CreateInBatches(d.lines, 500).Error; err != nil {
			return store.Translate(err)
		}
	}
	if len(d.cats) > 0 {
		if err := tx.CreateInBatches(d.cats, 500).Error; err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

// apply copies the named fields of p onto the draft and checks the
// schedule as a whole: codes unique, a model in one category, each line's
// fields fit its kind, one labour line per type and category and one
// call-out per region, every price exact in the schedule's currency.
func (d *draftSchedule) apply(p *aftersalesv1.FeeSchedule, paths []string) error {
	var vs []apierr.Violation
	bad := func(field, desc string) {
		vs = append(vs, apierr.Violation{Field: "fee_schedule." + field, Description: desc})
	}
	for _, path := range paths {
		switch path {
		case "display_name":
			d.row.DisplayName = strings.TrimSpace(p.GetDisplayName())
			if d.row.DisplayName == "" {
				bad(path, "is required")
			}
		case "currency_code":
			d.row.Currency = p.GetCurrencyCode()
			if _, err := money.Digits(d.row.Currency); err != nil {
				bad(path, err.Error())
			}
		case "categories":
			d.cats = nil
			where := map[string]string{}
			for i, c := range p.GetCategories() {
				for j, m := range c.GetModels() {
					m = strings.TrimSpace(m)
					if prev, ok := where[m]; ok {
						bad(fmt.Sprintf("categories[%d].models[%d]", i, j), fmt.Sprintf("model %s is already in category %s", m, prev))
						continue
					}
					where[m] = c.GetCategory()
					d.cats = append(d.cats, store.FeeCategory{Model: m, Category: c.GetCategory(), Position: int32(len(d.cats))})
				}
			}
		}
	}
	if len(vs) > 0 {
		return apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	cats := map[string]bool{}
	for _, c := range d.cats {
		cats[c.Category] = true
	}
	if !slices.Contains(paths, "lines") {
		// New categories must still hold every labour line's category.
		for i, l := range d.lines {
			if l.ProductCategory != "" && !cats[l.ProductCategory] {
				bad(fmt.Sprintf("lines[%d].product_category", i), "no category "+l.ProductCategory+" in categories")
			}
		}
		if len(vs) > 0 {
			return apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
		}
		return nil
	}
	d.lines = nil
	codes := map[string]bool{}
	labour := map[string]string{}  // type/category → code
	callOut := map[string]string{} // region → code
	for i, l := range p.GetLines() {
		f := fmt.Sprintf("lines[%d]", i)
		price, err := moneyIn("fee_schedule."+f+".unit_price", l.GetUnitPrice(), d.row.Currency)
		if err != nil {
			return err
		}
		if codes[l.GetCode()] {
			bad(f+".code", "code "+l.GetCode()+" appears twice")
		}
		codes[l.GetCode()] = true
		switch l.GetKind() {
		case aftersalesv1.FeeKind_FEE_KIND_LABOR:
			if l.GetRegion() != "" {
				bad(f+".region", "only a CALL_OUT line has a region")
			}
			if c := l.GetProductCategory(); c != "" && !cats[c] {
				bad(f+".product_category", "no category "+c+" in categories")
			}
			key := l.GetTicketType().String() + "/" + l.GetProductCategory()
			if prev, ok := labour[key]; ok {
				bad(f, "line "+prev+" already prices this ticket type and category")
			}
			labour[key] = l.GetCode()
		case aftersalesv1.FeeKind_FEE_KIND_PART, aftersalesv1.FeeKind_FEE_KIND_CALL_OUT:
			if l.GetTicketType() != 0 || l.GetProductCategory() != "" {
				bad(f, "only a LABOR line has a ticket_type or product_category")
			}
			if l.GetKind() == aftersalesv1.FeeKind_FEE_KIND_PART && l.GetRegion() != "" {
				bad(f+".region", "only a CALL_OUT line has a region")
			}
			if l.GetKind() == aftersalesv1.FeeKind_FEE_KIND_CALL_OUT {
				if prev, ok := callOut[l.GetRegion()]; ok {
					bad(f+".region", "line "+prev+" already prices this region")
				}
				callOut[l.GetRegion()] = l.GetCode()
			}
		default:
			bad(f+".kind", "must be LABOR, PART or CALL_OUT")
		}
		d.lines = append(d.lines, store.FeeLine{
			Code: l.GetCode(), Position: int32(i), Kind: int32(l.GetKind()), Description: l.GetDescription(),
			UnitPriceMinor: price.Minor, TicketType: int32(l.GetTicketType()), ProductCategory: l.GetProductCategory(),
			Region: strings.TrimSpace(l.GetRegion()),
		})
	}
	if len(vs) > 0 {
		return apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	return nil
}

// proto is the schedule as the API shows it.
func (d *draftSchedule) proto() *aftersalesv1.FeeSchedule {
	r := &d.row
	out := &aftersalesv1.FeeSchedule{
		Name: resname.Format(resname.FeeSchedules, r.ID), DisplayName: r.DisplayName, CurrencyCode: r.Currency,
		State: aftersalesv1.FeeSchedule_State(r.State), EffectiveTime: tsPtr(r.EffectiveTime),
		PublishTime: tsPtr(r.PublishTime), CreateTime: ts(r.CreateTime), UpdateTime: ts(r.UpdateTime),
		Etag: etag.Of(resname.Format(resname.FeeSchedules, r.ID), r.Version),
	}
	var cur *aftersalesv1.ProductCategory
	for _, c := range d.cats {
		if cur == nil || cur.Category != c.Category {
			cur = &aftersalesv1.ProductCategory{Category: c.Category}
			out.Categories = append(out.Categories, cur)
		}
		cur.Models = append(cur.Models, c.Model)
	}
	for i := range d.lines {
		out.Lines = append(out.Lines, feeLineProto(r.Currency, &d.lines[i]))
	}
	return out
}

// feeLineProto is a stored line as the API shows it.
func feeLineProto(currency string, l *store.FeeLine) *aftersalesv1.FeeLine {
	return &aftersalesv1.FeeLine{
		Code: l.Code, Kind: aftersalesv1.FeeKind(l.Kind), Description: l.Description,
		UnitPrice: moneyOut(currency, l.UnitPriceMinor), TicketType: aftersalesv1.Ticket_Type(l.TicketType),
		ProductCategory: l.ProductCategory, Region: l.Region,
	}
}
