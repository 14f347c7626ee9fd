package service

import (
	"context"
	"sort"

	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/money"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// scorecardHistory bounds the lists of a scorecard.
const scorecardHistory = 50

// scorecardScope narrows staff to whose scorecard the caller may read:
// managers and admins anyone's, a partner its own technicians', other
// staff their own. Out of scope reads as missing.
func scorecardScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager:
		return q
	case principal.RolePartner:
		return q.Where("partner_id = ?", p.ID())
	default:
		return q.Where("id = ?", p.ID())
	}
}

func (s *reportServer) GetStaffScorecard(ctx context.Context, req *aftersalesv1.GetStaffScorecardRequest) (*aftersalesv1.StaffScorecard, error) {
	id, err := parseName("name", req.GetName(), resname.Staff)
	if err != nil {
		return nil, err
	}
	w, err := parseWindow(req.GetStartTime(), req.GetEndTime())
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	var st store.Staff
	if err := store.Translate(scorecardScope(db, principal.FromContext(ctx)).Where("id = ?", id).Take(&st).Error); err != nil {
		if isNotFound(err) {
			return nil, s.toStatus(ctx, notFound(req.GetName()))
		}
		return nil, s.toStatus(ctx, err)
	}
	out, err := s.scorecard(db, &st, w)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	out.StartTime, out.EndTime = req.GetStartTime(), req.GetEndTime()
	return out, nil
}

func (s *reportServer) scorecard(db *gorm.DB, st *store.Staff, w window) (*aftersalesv1.StaffScorecard, error) {
	name := resname.Format(resname.Staff, st.ID)
	out := &aftersalesv1.StaffScorecard{
		Staff: name, DisplayName: st.DisplayName, Role: aftersalesv1.Staff_Role(st.Role), Team: st.Team,
		QualificationState: aftersalesv1.Qualification_State(st.QualificationState),
	}
	own, err := sumRollups(db, w, "", groupStaff, []string{st.ID}, byValue, levelYear)
	if err != nil {
		return nil, err
	}
	c := own[st.ID]
	if c == nil {
		c = &counters{}
	}
	out.Metrics = metricsRow(name, c)

	var reports []string
	if err := db.Model(&store.Staff{}).Where("manager_id = ?", st.ID).Pluck("id", &reports).Error; err != nil {
		return nil, store.Translate(err)
	}
	if len(reports) > 0 {
		sums, err := sumRollups(db, w, "", groupStaff, reports, byValue, levelYear)
		if err != nil {
			return nil, err
		}
		sort.Strings(reports)
		for _, r := range reports {
			c := sums[r]
			if c == nil {
				c = &counters{}
			}
			out.TeamMetrics = append(out.TeamMetrics, metricsRow(resname.Format(resname.Staff, r), c))
		}
	}

	var assessments []store.Assessment
	if err := db.Where("staff_id = ?", st.ID).Order("create_time DESC").Order("id DESC").Limit(scorecardHistory).Find(&assessments).Error; err != nil {
		return nil, store.Translate(err)
	}
	for i := range assessments {
		out.Assessments = append(out.Assessments, assessmentProto(&assessments[i]))
	}
	var changes []store.QualificationChange
	if err := db.Where("staff_id = ?", st.ID).Order("create_time DESC").Order("id DESC").Limit(scorecardHistory).Find(&changes).Error; err != nil {
		return nil, store.Translate(err)
	}
	// qualification_history is deprecated (GetQualification's history is
	// the same list) but clients read it: it stays filled until v2.
	for _, ch := range changes {
		out.QualificationHistory = append(out.QualificationHistory, &aftersalesv1.QualificationChange{
			FromState: aftersalesv1.Qualification_State(ch.FromState), ToState: aftersalesv1.Qualification_State(ch.ToState),
			Reason: ch.Reason, Assessment: refAssessment(st.ID, ch.AssessmentID), CreateTime: ts(ch.CreateTime),
		})
	}
	var records []store.AccountabilityRecord
	if err := db.Where("staff_id = ?", st.ID).Order("create_time DESC").Order("id DESC").Limit(scorecardHistory).Find(&records).Error; err != nil {
		return nil, store.Translate(err)
	}
	for i := range records {
		out.AccountabilityRecords = append(out.AccountabilityRecords, accountabilityProto(&records[i]))
	}
	if err := db.Model(&store.AccountabilityRecord{}).Where("staff_id = ? AND create_time >= ? AND create_time < ?", st.ID, dayStart(w.start), dayStart(w.end)).
		Count(&out.AccountabilityRecordsInWindow).Error; err != nil {
		return nil, store.Translate(err)
	}
	t, err := dataTime(db)
	if err != nil {
		return nil, err
	}
	out.DataTime = timestamppb.New(t)
	return out, nil
}

func (s *reportServer) GetFaultStatistics(ctx context.Context, req *aftersalesv1.GetFaultStatisticsRequest) (*aftersalesv1.FaultStatistics, error) {
	w, err := parseWindow(req.GetStartTime(), req.GetEndTime())
	if err != nil {
		return nil, err
	}
	scope, err := partnerScopeOf(principal.FromContext(ctx), req.GetPartner())
	if err != nil {
		return nil, err
	}
	top := int(req.GetTop())
	switch {
	case top < 0 || top > 100:
		return nil, apierr.InvalidField("top", "must be between 0 and 100")
	case top == 0:
		top = 10
	}
	if cur := req.GetCurrencyCode(); cur != "" {
		if _, err := money.Digits(cur); err != nil {
			return nil, apierr.InvalidField("currency_code", err.Error())
		}
	}
	db := s.db.Gorm(ctx)
	out, err := faultStatistics(db, w, scope, req.GetProductModel(), top)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	if cur := req.GetCurrencyCode(); cur != "" {
		if err := warrantyCosts(db, w, cur, scope, req.GetProductModel(), out.GetRows()); err != nil {
			return nil, s.toStatus(ctx, err)
		}
	}
	out.StartTime, out.EndTime = req.GetStartTime(), req.GetEndTime()
	t, err := dataTime(db)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	out.DataTime = timestamppb.New(t)
	return out, nil
}

// faultCount is one aggregate row of report_faults.
type faultCount struct {
	ProductModel  string
	FaultCategory string
	FaultCode     string
	PurchaseMonth string
	N             int64
	MinSerial     string
	MaxSerial     string
}

// faultStatistics reads the fault rows of the window and of the window
// before it: the rows of resolved faults in those days, not every
// ticket.
func faultStatistics(db *gorm.DB, w window, partner, model string, top int) (*aftersalesv1.FaultStatistics, error) {
	query := func(from, to int32, cols string, group ...string) ([]faultCount, error) {
		q := db.Model(&store.ReportFault{}).Select(cols).Where("day >= ? AND day < ?", from, to)
		if partner != "" {
			q = q.Where("partner_id = ?", partner)
		}
		if model != "" {
			q = q.Where("product_model = ?", model)
		}
		for _, g := range group {
			q = q.Group(g)
		}
		var rows []faultCount
		return rows, store.Translate(q.Scan(&rows).Error)
	}
	const keyCols = "product_model, fault_category, fault_code"
	cur, err := query(w.start, w.end, keyCols+", COUNT(*) AS n, MIN(serial_number) AS min_serial, MAX(serial_number) AS max_serial", "product_model", "fault_category", "fault_code")
	if err != nil {
		return nil, err
	}
	length := w.end - w.start
	prev, err := query(w.start-length, w.start, keyCols+", COUNT(*) AS n", "product_model", "fault_category", "fault_code")
	if err != nil {
		return nil, err
	}
	months, err := query(w.start, w.end, keyCols+", purchase_month, COUNT(*) AS n", "product_model", "fault_category", "fault_code", "purchase_month")
	if err != nil {
		return nil, err
	}
	type key struct{ model, category, code string }
	prevN, modelN := map[key]int64{}, map[string]int64{}
	for _, r := range prev {
		prevN[key{r.ProductModel, r.FaultCategory, r.FaultCode}] = r.N
	}
	for _, r := range cur {
		modelN[r.ProductModel] += r.N
	}
	byMonth := map[key][]*aftersalesv1.PeriodCount{}
	for _, r := range months {
		k := key{r.ProductModel, r.FaultCategory, r.FaultCode}
		byMonth[k] = append(byMonth[k], &aftersalesv1.PeriodCount{Period: r.PurchaseMonth, Count: r.N})
	}
	out := &aftersalesv1.FaultStatistics{}
	codes := map[key]*aftersalesv1.FaultRow{}
	for _, r := range cur {
		k := key{r.ProductModel, r.FaultCategory, r.FaultCode}
		ms := byMonth[k]
		sort.Slice(ms, func(i, j int) bool { return ms[i].GetPeriod() < ms[j].GetPeriod() })
		out.Rows = append(out.Rows, &aftersalesv1.FaultRow{
			ProductModel: r.ProductModel, FaultCategory: r.FaultCategory, FaultCode: r.FaultCode,
			Count: r.N, PreviousCount: prevN[k], ChangePercent: change(r.N, prevN[k]),
			ShareOfModelPercent: ratio(r.N, modelN[r.ProductModel], 100),
			MinSerialNumber:     r.MinSerial, MaxSerialNumber: r.MaxSerial, PurchaseMonths: ms,
		})
		ck := key{"", r.FaultCategory, r.FaultCode}
		if codes[ck] == nil {
			codes[ck] = &aftersalesv1.FaultRow{FaultCategory: r.FaultCategory, FaultCode: r.FaultCode}
		}
		row := codes[ck]
		row.Count += r.N
		if row.MinSerialNumber == "" || r.MinSerial < row.MinSerialNumber {
			row.MinSerialNumber = r.MinSerial
		}
		row.MaxSerialNumber = max(row.MaxSerialNumber, r.MaxSerial)
	}
	for _, r := range prev {
		if row := codes[key{"", r.FaultCategory, r.FaultCode}]; row != nil {
			row.PreviousCount += r.N
		}
	}
	sort.Slice(out.Rows, func(i, j int) bool {
		a, b := out.Rows[i], out.Rows[j]
		if a.GetProductModel() != b.GetProductModel() {
			return a.GetProductModel() < b.GetProductModel()
		}
		if a.GetFaultCategory() != b.GetFaultCategory() {
			return a.GetFaultCategory() < b.GetFaultCategory()
		}
		return a.GetFaultCode() < b.GetFaultCode()
	})
	for _, row := range codes {
		row.ChangePercent = change(row.Count, row.PreviousCount)
		out.TopCodes = append(out.TopCodes, row)
	}
	sort.Slice(out.TopCodes, func(i, j int) bool {
		a, b := out.TopCodes[i], out.TopCodes[j]
		if a.GetCount() != b.GetCount() {
			return a.GetCount() > b.GetCount()
		}
		return a.GetFaultCategory()+"/"+a.GetFaultCode() < b.GetFaultCategory()+"/"+b.GetFaultCode()
	})
	if len(out.TopCodes) > top {
		out.TopCodes = out.TopCodes[:top]
	}
	return out, nil
}

// change is count against previous in percent; 0 without a previous
// count.
func change(count, previous int64) float64 {
	if previous == 0 {
		return 0
	}
	return (float64(count)/float64(previous) - 1) * 100
}
