package service_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// getAs sends a GET to the gateway with an Accept header, acting as
// actor, and returns the status, the Content-Type and the body.
func (e *env) getAs(path, actor, accept string) (int, string, []byte) {
	e.t.Helper()
	r := e.doWith(http.MethodGet, path, actor, nil, http.Header{"Accept": {accept}})
	return r.status, r.contentType, r.raw
}

// csvTable parses a CSV answer into its header and rows keyed by column.
func csvTable(t *testing.T, raw []byte) ([]string, []map[string]string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	require.NoError(t, err, string(raw))
	require.NotEmpty(t, recs, "a header row")
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, c := range recs[0] {
			row[c] = rec[i]
		}
		rows = append(rows, row)
	}
	return recs[0], rows
}

// TestReportCSV checks the CSV form of the metrics tables over the
// gateway (report.proto: Accept: text/csv): a header row, one row per
// group or per model × fault code with the same figures as the gRPC
// answer, numerators and denominators included; errors and other
// answers stay JSON.
func TestReportCSV(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, fastReports)
			f := e.seed()
			mgr := f.manager.GetName()
			agent := as(f.agent.GetName())
			// Two tickets resolved by the technician (30 min and 1 h), one
			// left unassigned.
			for i, fault := range []string{"E21", "W01"} {
				tk := e.newTicket(f, f.inWarranty)
				_, err := e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.technician.GetName()})
				require.NoError(t, err)
				tech := as(f.technician.GetName())
				_, err = e.tickets.AcceptTicket(tech, &aftersalesv1.AcceptTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				e.clock.Advance(time.Duration(i+1) * 30 * time.Minute)
				_, err = e.tickets.ResolveTicket(tech, &aftersalesv1.ResolveTicketRequest{Name: tk.GetName(), Resolution: &aftersalesv1.Resolution{
					FaultCategory: "ELECTRICAL", FaultCode: fault, Summary: "fixed"}})
				require.NoError(t, err)
			}
			e.newTicket(f, f.inWarranty)
			e.caughtUp(mgr)

			window := "startTime=" + day(e, 0).Format(time.RFC3339) + "&endTime=" + day(e, 7).Format(time.RFC3339)
			want, err := e.reports.GetServiceMetrics(as(mgr), &aftersalesv1.GetServiceMetricsRequest{
				StartTime: timestamp(day(e, 0)), EndTime: timestamp(day(e, 7)), GroupBy: aftersalesv1.Dimension_STAFF,
			})
			require.NoError(t, err)
			require.Len(t, want.GetRows(), 2, "the technician and the unassigned ticket")

			code, ctype, raw := e.getAs("/v1/serviceMetrics?groupBy=STAFF&"+window, mgr, "text/csv")
			require.Equal(t, http.StatusOK, code, string(raw))
			require.True(t, strings.HasPrefix(ctype, "text/csv"), ctype)
			head, rows := csvTable(t, raw)
			for _, c := range []string{
				"group", "tickets_opened", "tickets_resolved", "time_to_resolution_count", "time_to_resolution_total",
				"time_to_resolution_mean", "time_to_resolution_p90", "time_to_resolution_bucket_counts",
				"sla_compliance_percent_numerator", "sla_compliance_percent_denominator", "sla_compliance_percent_value",
				"csat_mean_numerator", "nps_promoters", "nps_score", "follow_up_completion_percent_denominator",
			} {
				require.Contains(t, head, c)
			}
			require.Len(t, rows, len(want.GetRows()), "one row per group")
			for i, w := range want.GetRows() {
				r := rows[i]
				require.Equal(t, w.GetGroup(), r["group"])
				require.Equal(t, strconv.FormatInt(w.GetTicketsOpened(), 10), r["tickets_opened"])
				require.Equal(t, strconv.FormatInt(w.GetTicketsResolved(), 10), r["tickets_resolved"])
				sla := w.GetSlaCompliancePercent()
				require.Equal(t, []string{strconv.FormatInt(sla.GetNumerator(), 10), strconv.FormatInt(sla.GetDenominator(), 10)},
					[]string{r["sla_compliance_percent_numerator"], r["sla_compliance_percent_denominator"]})
			}
			techRow := rows[1]
			require.Equal(t, f.technician.GetName(), techRow["group"])
			require.Equal(t, "2", techRow["tickets_resolved"])
			require.Equal(t, "2", techRow["sla_compliance_percent_denominator"])
			require.Equal(t, "100", techRow["sla_compliance_percent_value"])
			require.Equal(t, "2700", techRow["time_to_resolution_mean"], "seconds: (30 min + 1 h) / 2")
			require.Equal(t, "3600", techRow["time_to_resolution_p90"])
			require.Equal(t, "0 1 1 0 0 0 0 0 0 0 0 0 0 0", techRow["time_to_resolution_bucket_counts"])
			require.Equal(t, "", rows[0]["time_to_resolution_mean"], "no resolution: no mean")
			require.Equal(t, "0", rows[0]["csat_mean_denominator"])

			// The fault table: one row per model × code.
			code, ctype, raw = e.getAs("/v1/faultStatistics?"+window, mgr, "text/csv")
			require.Equal(t, http.StatusOK, code, string(raw))
			require.True(t, strings.HasPrefix(ctype, "text/csv"), ctype)
			head, rows = csvTable(t, raw)
			require.Equal(t, []string{"product_model", "fault_category", "fault_code", "count", "previous_count", "change_percent",
				"share_of_model_percent_numerator", "share_of_model_percent_denominator", "share_of_model_percent_value",
				"min_serial_number", "max_serial_number", "purchase_months", "warranty_cost_currency_code", "warranty_cost"}, head)
			require.Len(t, rows, 2)
			require.Equal(t, []string{"WM-8000", "E21", "1", "1", "2", "50"}, []string{rows[0]["product_model"], rows[0]["fault_code"],
				rows[0]["count"], rows[0]["share_of_model_percent_numerator"], rows[0]["share_of_model_percent_denominator"],
				rows[0]["share_of_model_percent_value"]})
			require.Equal(t, "W01", rows[1]["fault_code"])

			// An empty table is its header alone.
			code, _, raw = e.getAs("/v1/serviceMetrics?groupBy=CHANNEL&startTime="+day(e, 100).Format(time.RFC3339)+
				"&endTime="+day(e, 101).Format(time.RFC3339), mgr, "text/csv")
			require.Equal(t, http.StatusOK, code)
			_, rows = csvTable(t, raw)
			require.Empty(t, rows)

			// Errors stay JSON (google.rpc.Status), as do other answers.
			code, ctype, raw = e.getAs("/v1/serviceMetrics?startTime=2026-03-02T10:00:00Z&endTime=2026-03-05T00:00:00Z", mgr, "text/csv")
			require.Equal(t, http.StatusBadRequest, code)
			require.Equal(t, "application/json", ctype)
			r := httpResult{status: code, raw: raw}
			require.NoError(t, json.Unmarshal(raw, &r.body), string(raw))
			requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			code, ctype, raw = e.getAs("/v1/serviceMetrics?"+window, f.customer.GetName(), "text/csv")
			require.Equal(t, http.StatusForbidden, code, string(raw))
			require.Equal(t, "application/json", ctype)
			code, ctype, raw = e.getAs("/v1/"+f.technician.GetName()+"/scorecard?"+window, mgr, "text/csv")
			require.Equal(t, http.StatusOK, code, string(raw))
			require.Equal(t, "application/json", ctype)
			require.True(t, json.Valid(raw))
		})
	}
}
