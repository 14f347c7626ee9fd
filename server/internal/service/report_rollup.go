package service

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store"
)

// The rollup loop. Write paths are untouched: every change of a ticket,
// follow-up or complaint bumps its update_time, and the loop reads the
// rows changed since its watermark per source table, in (update_time, id)
// order, in bounded batches. Each batch runs in one transaction: for every
// ticket touched (a changed ticket, or the ticket of a changed follow-up
// or complaint) it recomputes the facts of the ticket, its follow-ups and
// its complaints (and of complaints without a ticket), subtracts the
// contributions of the stored facts from the rollups, adds the new ones,
// stores the new facts and moves the watermarks. A late change (a reopen,
// a corrected survey, an overdue mark) is therefore exact, and processing
// a row twice changes nothing.
//
// Watermark race: a transaction stamps update_time when it runs and
// becomes visible when it commits, so a row stamped just before the
// watermark could appear after the loop passed it. The loop therefore
// reads only rows stamped before now − rollupSettle; a transaction that
// commits later than that after stamping its rows (far beyond any call
// deadline in practice) is picked up only by its row's next change or by
// a rebuild.

// reportLease makes one replica at a time maintain the rollups.
const reportLease = "report-rollups"

const (
	// rollupSettle is how long after its update_time a change is
	// counted, unless Rules.RollupSettle says otherwise.
	rollupSettle = time.Minute
	// rollupBatch bounds the rows read per source in one transaction.
	rollupBatch = 500
	// rollupMaxBatches bounds one pass; the next tick goes on.
	rollupMaxBatches = 200
)

// Fact kinds, the sources of the rollups.
const (
	kindTicket    = "ticket"
	kindFollowUp  = "follow_up"
	kindComplaint = "complaint"
)

// The groupings stored in the rollups (TEAM is derived from STAFF when
// read).
const (
	groupNone int32 = iota
	groupStaff
	groupPartner
	groupModel
	groupChannel
	groupType
)

var storedGroups = []int32{groupNone, groupStaff, groupPartner, groupModel, groupChannel, groupType}

// monthly is added to a grouping's kind for its month rows: the totals of
// a calendar month (UTC), at the month's first day; yearly for its year
// rows, the totals of a calendar year at its first day. A report reads its
// window from the coarsest rows that fit (planRollups), so a 12-month
// window reads a few rows per group value instead of 365. The loop keeps
// all three (apply); 00012_report_months.sql and 00023_report_years.sql
// built the month and year rows of the rollups counted before them.
const (
	monthly int32 = 100
	yearly  int32 = 200
)

// monthOf returns the first day of the month of day.
func monthOf(day int32) int32 {
	t := dayStart(day)
	return dayOf(time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC))
}

// nextMonth returns the first day of the month after day's.
func nextMonth(day int32) int32 {
	t := dayStart(day)
	return dayOf(time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC))
}

// yearOf returns the first day of the year of day.
func yearOf(day int32) int32 {
	return dayOf(time.Date(dayStart(day).Year(), 1, 1, 0, 0, 0, 0, time.UTC))
}

// nextYear returns the first day of the year after day's.
func nextYear(day int32) int32 {
	return dayOf(time.Date(dayStart(day).Year()+1, 1, 1, 0, 0, 0, 0, time.UTC))
}

// level is the span of a rollup row: a day, a month or a year.
type level int32

const (
	levelDay level = iota
	levelMonth
	levelYear
)

// offset is what the level adds to a grouping's kind.
func (l level) offset() int32 { return [...]int32{0, monthly, yearly}[l] }

// unit returns the first day of the level's row holding day, and the
// first day of the next one.
func (l level) unit(day int32) (start, next int32) {
	switch l {
	case levelMonth:
		return monthOf(day), nextMonth(day)
	case levelYear:
		return yearOf(day), nextYear(day)
	}
	return day, day + 1
}

// planKey is one rollup row of a grouping value: its level and first day.
type planKey struct {
	level level
	day   int32
}

// rollupPlan is which rollup rows sum to a window, each with its sign: +1
// for a row to add, -1 for one to take away (a day row outside the window
// from its month row, say).
type rollupPlan map[planKey]int64

// planRollups picks few rows, of levels up to top, that add up to every
// day of the window once and to no other day: for each year, and within
// it for each month, the window touches, either the rows inside the window
// or the year's (month's) row less the rows outside the window, whichever
// is fewer. The last 12 months, 2025-12-03 to 2026-12-03, read the month
// row of December 2025 less its 2 first days, and the year row of 2026
// less the month row of December 2026 plus its 2 first days: 7 rows per
// group value, against 16 from months and days, 365 from days.
func planRollups(w window, top level) rollupPlan {
	p := rollupPlan{}
	for _, r := range cover(w.start, w.end, top) {
		if p[r.planKey] += r.sign; p[r.planKey] == 0 {
			delete(p, r.planKey) // taken away as often as added
		}
	}
	return p
}

// signedRow is one row of a cover.
type signedRow struct {
	planKey
	sign int64
}

// cover returns rows of levels up to top that add up to the days [from,
// to): the fewer of the two choices of planRollups in each row of level
// top that the days touch.
func cover(from, to int32, top level) []signedRow {
	var out []signedRow
	if top == levelDay {
		for d := from; d < to; d++ {
			out = append(out, signedRow{planKey{levelDay, d}, 1})
		}
		return out
	}
	for u := from; u < to; {
		start, next := top.unit(u)
		a, b := max(start, from), min(next, to)
		if a == start && b == next {
			out = append(out, signedRow{planKey{top, start}, 1})
		} else {
			inside := cover(a, b, top-1)
			outside := append([]signedRow{{planKey{top, start}, 1}}, cover(start, a, top-1)...)
			outside = append(outside, cover(b, next, top-1)...)
			for i := 1; i < len(outside); i++ {
				outside[i].sign = -outside[i].sign
			}
			if len(outside) < len(inside) {
				inside = outside
			}
			out = append(out, inside...)
		}
		u = next
	}
	return out
}

func (d dims) value(group int32) string {
	switch group {
	case groupStaff:
		return d.Staff
	case groupPartner:
		return d.Partner
	case groupModel:
		return d.Model
	case groupChannel:
		return d.Channel
	case groupType:
		return d.Type
	}
	return ""
}

// rollupColumns are the counter columns of store.ReportRollup, by counter
// index.
var rollupColumns = func() []string {
	cols := []string{
		"tickets_opened", "tickets_resolved", "response_count", "response_seconds", "resolution_seconds", "sla_met",
		"first_contact_resolved", "first_resolved", "reopened", "surveys", "satisfaction_sum", "satisfied", "nps_answers",
		"promoters", "detractors", "complaints", "ack_decided", "ack_on_time", "complaint_resolution_decided",
		"complaint_resolved_on_time", "follow_ups_ended", "follow_ups_completed",
		"campaign_tickets_opened", "campaign_tickets_resolved",
	}
	for _, prefix := range []string{"response_b", "resolution_b"} {
		for i := range numBuckets {
			cols = append(cols, fmt.Sprintf("%s%02d", prefix, i))
		}
	}
	if len(cols) != numCounters {
		panic("rollupColumns does not match the counters")
	}
	return cols
}()

// rollupKey is one rollup row.
type rollupKey struct {
	scope string
	group int32
	day   int32
	value string
}

// deltas are pending changes of rollup rows.
type deltas map[rollupKey]*counters

// apply adds sign × the contributions to every grouping, in the scope of
// everything and in the scope of the contribution's partner.
func (d deltas) apply(cs []contribution, sign int64) {
	for i := range cs {
		c := &cs[i]
		scopes := []string{""}
		if c.dims.Partner != "" {
			scopes = append(scopes, c.dims.Partner)
		}
		month, year := monthOf(c.day), yearOf(c.day)
		for _, scope := range scopes {
			for _, g := range storedGroups {
				v := c.dims.value(g)
				d.add(rollupKey{scope: scope, group: g, day: c.day, value: v}, &c.c, sign)
				d.add(rollupKey{scope: scope, group: g + monthly, day: month, value: v}, &c.c, sign)
				d.add(rollupKey{scope: scope, group: g + yearly, day: year, value: v}, &c.c, sign)
			}
		}
	}
}

// add adds sign × c to the row of k.
func (d deltas) add(k rollupKey, c *counters, sign int64) {
	row := d[k]
	if row == nil {
		row = &counters{}
		d[k] = row
	}
	row.add(c, sign)
}

type factor interface{ contributions() []contribution }

// RollUpReports brings the rollups up to date with the changes stamped
// before now − rollupSettle; it returns how many source rows it read.
func (b *base) RollUpReports(ctx context.Context) (int, error) {
	total := 0
	for range rollupMaxBatches {
		n, more, err := b.rollupBatch(ctx)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
	return total, nil
}

// rollupSources are the tables the loop follows. A product counts in
// the facts of its tickets and complaints (model, serial number, purchase
// month), so a corrected product is recounted through them.
var rollupSources = []string{"tickets", "follow_ups", "complaints", "products"}

// changedRow is a changed source row and the ticket it belongs to.
type changedRow struct {
	ID         string
	TicketID   string
	UpdateTime time.Time
}

// rollupBatch processes one batch of changes; more is true when a source
// has more rows waiting.
func (b *base) rollupBatch(ctx context.Context) (n int, more bool, err error) {
	settle := b.rules.RollupSettle
	if settle <= 0 {
		settle = rollupSettle
	}
	horizon := b.now().Add(-settle)
	err = b.db.InTx(ctx, func(tx *gorm.DB) error {
		n, more = 0, false // InTx may rerun this
		marks, err := lockWatermarks(tx)
		if err != nil {
			return err
		}
		tickets, complaints, products := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, src := range rollupSources {
			wm := marks[src]
			q := tx.Table(src).
				Where("update_time < ? AND (update_time > ? OR (update_time = ? AND id > ?))", horizon, wm.UpdateTime, wm.UpdateTime, wm.LastID)
			switch src {
			case "tickets":
				q = q.Select("id, update_time, id AS ticket_id")
			case "products":
				// A product never changed since it was created was
				// already counted as it is by every ticket and complaint
				// about it, which came later.
				q = q.Select("id, update_time").Where("update_time > create_time")
			default:
				q = q.Select("id, update_time, ticket_id")
			}
			var rows []changedRow
			if err := q.Order("update_time").Order("id").Limit(rollupBatch).Scan(&rows).Error; err != nil {
				return store.Translate(err)
			}
			n += len(rows)
			for _, r := range rows {
				switch {
				case r.TicketID != "":
					tickets[r.TicketID] = true
				case src == "complaints":
					complaints[r.ID] = true
				case src == "products":
					products[r.ID] = true
				}
			}
			if len(rows) == rollupBatch {
				more = true
				last := rows[len(rows)-1]
				wm.UpdateTime, wm.LastID = last.UpdateTime, last.ID
			} else if horizon.After(wm.UpdateTime) {
				// Caught up: everything stamped before the horizon is in.
				wm.UpdateTime, wm.LastID = horizon, ""
			}
		}
		if err := unitsOf(tx, keys(products), tickets, complaints); err != nil {
			return err
		}
		if err := b.refresh(tx, keys(tickets), keys(complaints)); err != nil {
			return err
		}
		for _, wm := range marks {
			if err := store.Translate(tx.Save(wm).Error); err != nil {
				return err
			}
		}
		return nil
	})
	return n, more, err
}

// unitsOf adds what counts the products to tickets and complaints: the
// tickets about them, and the complaints about them (through their
// ticket, when they have one).
func unitsOf(tx *gorm.DB, productIDs []string, tickets, complaints map[string]bool) error {
	if len(productIDs) == 0 {
		return nil
	}
	var ids []string
	if err := tx.Model(&store.Ticket{}).Where("product_id IN ?", productIDs).Pluck("id", &ids).Error; err != nil {
		return store.Translate(err)
	}
	for _, id := range ids {
		tickets[id] = true
	}
	// A complaint is counted with its ticket, when it has one.
	var rows []struct{ ID, TicketID string }
	if err := tx.Model(&store.Complaint{}).Select("id", "ticket_id").Where("product_id IN ?", productIDs).Scan(&rows).Error; err != nil {
		return store.Translate(err)
	}
	for _, r := range rows {
		if r.TicketID != "" {
			tickets[r.TicketID] = true
		} else {
			complaints[r.ID] = true
		}
	}
	return nil
}

// lockWatermarks reads the watermarks under a lock, creating them at the
// epoch: whoever holds them is the one batch running.
func lockWatermarks(tx *gorm.DB) (map[string]*store.ReportWatermark, error) {
	var init []store.ReportWatermark
	for _, src := range rollupSources {
		init = append(init, store.ReportWatermark{Source: src, UpdateTime: time.Unix(0, 0).UTC()})
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&init).Error; err != nil {
		return nil, store.Translate(err)
	}
	q := tx
	if tx.Dialector.Name() == store.DialectMySQL {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var rows []store.ReportWatermark
	if err := q.Find(&rows).Error; err != nil {
		return nil, store.Translate(err)
	}
	out := map[string]*store.ReportWatermark{}
	for i := range rows {
		out[rows[i].Source] = &rows[i]
	}
	return out, nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// refresh recomputes the facts of the tickets (with their follow-ups and
// complaints) and of the complaints without a ticket, and applies the
// difference to the rollups, inside tx.
func (b *base) refresh(tx *gorm.DB, ticketIDs, complaintIDs []string) error {
	if len(ticketIDs) == 0 && len(complaintIDs) == 0 {
		return nil
	}
	var tickets []store.Ticket
	var followUps []store.FollowUp
	var complaints []store.Complaint
	var events []store.TicketEvent
	if len(ticketIDs) > 0 {
		if err := tx.Where("id IN ?", ticketIDs).Find(&tickets).Error; err != nil {
			return store.Translate(err)
		}
		if err := tx.Where("ticket_id IN ?", ticketIDs).Find(&followUps).Error; err != nil {
			return store.Translate(err)
		}
		if err := tx.Where("ticket_id IN ?", ticketIDs).Find(&complaints).Error; err != nil {
			return store.Translate(err)
		}
		if err := tx.Select("ticket_id", "type", "create_time").
			Where("ticket_id IN ? AND type IN ?", ticketIDs, []int32{int32(aftersalesv1.TicketEvent_RESOLVED), int32(aftersalesv1.TicketEvent_REOPENED)}).
			Find(&events).Error; err != nil {
			return store.Translate(err)
		}
	}
	if len(complaintIDs) > 0 {
		var more []store.Complaint
		if err := tx.Where("id IN ? AND ticket_id = ?", complaintIDs, "").Find(&more).Error; err != nil {
			return store.Translate(err)
		}
		complaints = append(complaints, more...)
	}

	// The units' products, for models, serial numbers and purchase dates.
	productIDs := map[string]bool{}
	for i := range tickets {
		productIDs[tickets[i].ProductID] = true
	}
	for i := range complaints {
		productIDs[complaints[i].ProductID] = true
	}
	delete(productIDs, "")
	products := map[string]*store.Product{}
	if len(productIDs) > 0 {
		var rows []store.Product
		if err := tx.Select("id", "model", "serial_number", "purchase_time").Where("id IN ?", keys(productIDs)).Find(&rows).Error; err != nil {
			return store.Translate(err)
		}
		for i := range rows {
			products[rows[i].ID] = &rows[i]
		}
	}
	model := func(id string) string {
		if p := products[id]; p != nil {
			return p.Model
		}
		return ""
	}

	history := map[string]*ticketHistory{}
	for _, ev := range events {
		h := history[ev.TicketID]
		if h == nil {
			h = &ticketHistory{}
			history[ev.TicketID] = h
		}
		if ev.Type == int32(aftersalesv1.TicketEvent_REOPENED) {
			h.reopens++
		} else if h.firstResolved == nil || ev.CreateTime.Before(*h.firstResolved) {
			t := ev.CreateTime
			h.firstResolved = &t
		}
	}

	facts := map[[2]string]factor{}
	byID := map[string]*store.Ticket{}
	var faults []store.ReportFault
	for i := range tickets {
		t := &tickets[i]
		byID[t.ID] = t
		var h ticketHistory
		if p := history[t.ID]; p != nil {
			h = *p
		}
		facts[[2]string{kindTicket, t.ID}] = factOfTicket(t, model(t.ProductID), h)
		if isResolved(t) && t.FaultCode != "" {
			faults = append(faults, faultOf(t, products[t.ProductID]))
		}
	}
	for i := range followUps {
		fu := &followUps[i]
		if t := byID[fu.TicketID]; t != nil {
			facts[[2]string{kindFollowUp, fu.ID}] = factOfFollowUp(fu, t, model(t.ProductID))
		}
	}
	for i := range complaints {
		c := &complaints[i]
		pid := c.ProductID
		t := byID[c.TicketID]
		if pid == "" && t != nil {
			pid = t.ProductID
		}
		facts[[2]string{kindComplaint, c.ID}] = factOfComplaint(c, t, model(pid))
	}
	if err := applyFacts(tx, facts); err != nil {
		return err
	}
	return replaceFaults(tx, ticketIDs, faults)
}

// applyFacts replaces the stored facts with facts and applies the
// difference of their contributions to the rollups.
func applyFacts(tx *gorm.DB, facts map[[2]string]factor) error {
	old := map[[2]string]string{}
	byKind := map[string][]string{}
	for k := range facts {
		byKind[k[0]] = append(byKind[k[0]], k[1])
	}
	for kind, ids := range byKind {
		var rows []store.ReportFact
		if err := tx.Where("kind = ? AND id IN ?", kind, ids).Find(&rows).Error; err != nil {
			return store.Translate(err)
		}
		for _, r := range rows {
			old[[2]string{r.Kind, r.ID}] = r.Data
		}
	}
	d := deltas{}
	var changed []store.ReportFact
	for k, f := range facts {
		data, err := json.Marshal(f)
		if err != nil {
			return err
		}
		was, ok := old[k]
		if ok && was == string(data) {
			continue
		}
		if ok {
			prev, err := decodeFact(k[0], was)
			if err != nil {
				return err
			}
			d.apply(prev.contributions(), -1)
		}
		d.apply(f.contributions(), 1)
		changed = append(changed, store.ReportFact{Kind: k[0], ID: k[1], Data: string(data)})
	}
	if len(changed) > 0 {
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).CreateInBatches(changed, 200).Error; err != nil {
			return store.Translate(err)
		}
	}
	return upsertRollups(tx, d)
}

func decodeFact(kind, data string) (factor, error) {
	var f factor
	switch kind {
	case kindTicket:
		f = &ticketFact{}
	case kindFollowUp:
		f = &followUpFact{}
	default:
		f = &complaintFact{}
	}
	return f, json.Unmarshal([]byte(data), f)
}

// upsertRollups adds the deltas to the rollup rows, creating missing
// ones, in a fixed order (so concurrent writers, should a rebuild run
// beside the loop, lock rows in the same order).
func upsertRollups(tx *gorm.DB, d deltas) error {
	ks := make([]rollupKey, 0, len(d))
	for k, c := range d {
		if !c.zero() {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if a.scope != b.scope {
			return a.scope < b.scope
		}
		if a.group != b.group {
			return a.group < b.group
		}
		if a.day != b.day {
			return a.day < b.day
		}
		return a.value < b.value
	})
	mysql := tx.Dialector.Name() == store.DialectMySQL
	var update []string
	for _, c := range rollupColumns {
		if mysql {
			update = append(update, fmt.Sprintf("%s = %s + VALUES(%s)", c, c, c))
		} else {
			update = append(update, fmt.Sprintf("%s = %s + excluded.%s", c, c, c))
		}
	}
	head := "INSERT INTO report_rollups (scope, group_kind, day, group_value, " + strings.Join(rollupColumns, ", ") + ") VALUES "
	tail := " ON CONFLICT (scope, group_kind, day, group_value) DO UPDATE SET " + strings.Join(update, ", ")
	if mysql {
		tail = " ON DUPLICATE KEY UPDATE " + strings.Join(update, ", ")
	}
	row := "(?, ?, ?, ?" + strings.Repeat(", ?", numCounters) + ")"
	const chunk = 200
	for start := 0; start < len(ks); start += chunk {
		part := ks[start:min(start+chunk, len(ks))]
		args := make([]any, 0, len(part)*(4+numCounters))
		rows := make([]string, len(part))
		for i, k := range part {
			rows[i] = row
			args = append(args, k.scope, k.group, k.day, k.value)
			for _, v := range d[k] {
				args = append(args, v)
			}
		}
		if err := tx.Exec(head+strings.Join(rows, ", ")+tail, args...).Error; err != nil {
			return store.Translate(err)
		}
	}
	return nil
}

// faultOf is the fault row of a resolved ticket.
func faultOf(t *store.Ticket, p *store.Product) store.ReportFault {
	f := store.ReportFault{
		TicketID: t.ID, PartnerID: t.PartnerID, Day: dayOf(*t.ResolveTime),
		FaultCategory: t.FaultCategory, FaultCode: t.FaultCode,
	}
	if p != nil {
		f.ProductModel, f.SerialNumber = p.Model, p.SerialNumber
		if p.PurchaseTime != nil {
			f.PurchaseMonth = p.PurchaseTime.UTC().Format("2006-01")
		}
	}
	return f
}

// replaceFaults makes the fault rows of the tickets equal faults.
func replaceFaults(tx *gorm.DB, ticketIDs []string, faults []store.ReportFault) error {
	if len(ticketIDs) == 0 {
		return nil
	}
	if err := tx.Where("ticket_id IN ?", ticketIDs).Delete(&store.ReportFault{}).Error; err != nil {
		return store.Translate(err)
	}
	if len(faults) == 0 {
		return nil
	}
	return store.Translate(tx.CreateInBatches(faults, 200).Error)
}

// RebuildReports drops every fact, rollup and fault row and resets the
// watermarks, so that the loop recounts everything from the source
// tables: after a definition change, or to count changes the loop missed
// (see the watermark race above).
func (s *Services) RebuildReports(ctx context.Context) error { return s.reports.rebuildReports(ctx) }

func (b *base) rebuildReports(ctx context.Context) error {
	return b.db.InTx(ctx, func(tx *gorm.DB) error {
		if _, err := lockWatermarks(tx); err != nil {
			return err
		}
		for _, m := range []any{&store.ReportFact{}, &store.ReportRollup{}, &store.ReportFault{}} {
			if err := tx.Session(&gorm.Session{AllowGlobalUpdate: true}).Delete(m).Error; err != nil {
				return store.Translate(err)
			}
		}
		return store.Translate(tx.Session(&gorm.Session{AllowGlobalUpdate: true}).Model(&store.ReportWatermark{}).
			Updates(map[string]any{"update_time": time.Unix(0, 0).UTC(), "last_id": ""}).Error)
	})
}

// dataTime is up to when the rollups have counted every change: the
// earliest watermark (the epoch before the first pass).
func dataTime(tx *gorm.DB) (time.Time, error) {
	var marks []store.ReportWatermark
	if err := tx.Find(&marks).Error; err != nil {
		return time.Time{}, store.Translate(err)
	}
	if len(marks) < len(rollupSources) {
		return time.Unix(0, 0).UTC(), nil
	}
	t := marks[0].UpdateTime
	for _, m := range marks[1:] {
		if m.UpdateTime.Before(t) {
			t = m.UpdateTime
		}
	}
	return t.UTC(), nil
}
