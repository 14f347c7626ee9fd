-- Year rows of the report rollups: for each grouping, group_kind + 200
-- holds the totals of a calendar year (UTC) at the year's first day, so
-- that a long window reads a year row less a month or two instead of
-- twelve month rows (server/internal/service/report_rollup.go, yearly and
-- planRollups). The rollup loop keeps them from now on; this builds them
-- from the month rows (00012) counted so far. As after 00012, a server
-- older than this migration still running against the database afterwards
-- would not update year rows: rebuild the reports (aftersales
-- rebuild-reports) once every replica runs this release.
-- Conventions as in 00001_init.sql.
--
-- day counts days since 1970-01-01, which TO_DAYS puts at 719528; the
-- year's first day is day - (day of year - 1).

-- +goose Up
INSERT INTO report_rollups (scope, group_kind, day, group_value,
    tickets_opened, tickets_resolved, response_count, response_seconds, resolution_seconds, sla_met, first_contact_resolved, first_resolved, reopened, surveys, satisfaction_sum, satisfied, nps_answers, promoters, detractors, complaints, ack_decided, ack_on_time, complaint_resolution_decided, complaint_resolved_on_time, follow_ups_ended, follow_ups_completed, campaign_tickets_opened, campaign_tickets_resolved, response_b00, response_b01, response_b02, response_b03, response_b04, response_b05, response_b06, response_b07, response_b08, response_b09, response_b10, response_b11, response_b12, response_b13, resolution_b00, resolution_b01, resolution_b02, resolution_b03, resolution_b04, resolution_b05, resolution_b06, resolution_b07, resolution_b08, resolution_b09, resolution_b10, resolution_b11, resolution_b12, resolution_b13)
SELECT scope, group_kind + 100, day - DAYOFYEAR(FROM_DAYS(day + 719528)) + 1, group_value,
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
    SUM(campaign_tickets_opened),
    SUM(campaign_tickets_resolved),
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
WHERE group_kind >= 100 AND group_kind < 200
GROUP BY scope, group_kind, day - DAYOFYEAR(FROM_DAYS(day + 719528)) + 1, group_value;

-- +goose Down
DELETE FROM report_rollups WHERE group_kind >= 200;
