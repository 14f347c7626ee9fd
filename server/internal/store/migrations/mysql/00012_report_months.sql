-- Month rows of the report rollups: for each grouping, group_kind + 100
-- holds the totals of a calendar month (UTC) at the month's first day, so
-- a long window reads its whole months from 12 rows a year instead of 365
-- (server/internal/service/report_rollup.go, monthly). The rollup loop
-- keeps them from now on; this builds them from the day rows counted so
-- far. A server older than this migration still running against the
-- database afterwards would update only day rows: rebuild the reports
-- (aftersales rebuild-reports) once every replica runs this release.
-- Conventions as in 00001_init.sql.
--
-- day counts days since 1970-01-01, which TO_DAYS puts at 719528; the
-- month's first day is day - (day of month - 1).

-- +goose Up
INSERT INTO report_rollups (scope, group_kind, day, group_value,
    tickets_opened, tickets_resolved, response_count, response_seconds, resolution_seconds, sla_met, first_contact_resolved, first_resolved, reopened, surveys, satisfaction_sum, satisfied, nps_answers, promoters, detractors, complaints, ack_decided, ack_on_time, complaint_resolution_decided, complaint_resolved_on_time, follow_ups_ended, follow_ups_completed, response_b00, response_b01, response_b02, response_b03, response_b04, response_b05, response_b06, response_b07, response_b08, response_b09, response_b10, response_b11, response_b12, response_b13, resolution_b00, resolution_b01, resolution_b02, resolution_b03, resolution_b04, resolution_b05, resolution_b06, resolution_b07, resolution_b08, resolution_b09, resolution_b10, resolution_b11, resolution_b12, resolution_b13)
SELECT scope, group_kind + 100, day - DAYOFMONTH(FROM_DAYS(day + 719528)) + 1, group_value,
    SUM(tickets_opened),
    SUM(tickets_resolved),
    SUM(response_count),
    SUM(response_seconds),
    SUM(resolution_seconds),
    SUM(sla_met),
    SUM(first_contact_resolved),
    SUM(first_resolved),
    SUM(reopened),
    SUM(surveys),
    SUM(satisfaction_sum),
    SUM(satisfied),
    SUM(nps_answers),
    SUM(promoters),
    SUM(detractors),
    SUM(complaints),
    SUM(ack_decided),
    SUM(ack_on_time),
    SUM(complaint_resolution_decided),
    SUM(complaint_resolved_on_time),
    SUM(follow_ups_ended),
    SUM(follow_ups_completed),
    SUM(response_b00),
    SUM(response_b01),
    SUM(response_b02),
    SUM(response_b03),
    SUM(response_b04),
    SUM(response_b05),
    SUM(response_b06),
    SUM(response_b07),
    SUM(response_b08),
    SUM(response_b09),
    SUM(response_b10),
    SUM(response_b11),
    SUM(response_b12),
    SUM(response_b13),
    SUM(resolution_b00),
    SUM(resolution_b01),
    SUM(resolution_b02),
    SUM(resolution_b03),
    SUM(resolution_b04),
    SUM(resolution_b05),
    SUM(resolution_b06),
    SUM(resolution_b07),
    SUM(resolution_b08),
    SUM(resolution_b09),
    SUM(resolution_b10),
    SUM(resolution_b11),
    SUM(resolution_b12),
    SUM(resolution_b13)
FROM report_rollups
WHERE group_kind < 100
GROUP BY scope, group_kind, day - DAYOFMONTH(FROM_DAYS(day + 719528)) + 1, group_value;

-- +goose Down
DELETE FROM report_rollups WHERE group_kind >= 100;
