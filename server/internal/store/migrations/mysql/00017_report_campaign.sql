-- Campaign tickets counted apart in the service metrics (report.proto
-- MetricsRow fields 16-17): two more rollup counters. Campaign tickets
-- exist only from this release on, so no stored rollup needs recounting.
-- ADD COLUMN with a constant default is instant on MariaDB 10.3+ and
-- MySQL 8. Conventions as in 00001_init.sql.

-- +goose Up
ALTER TABLE report_rollups
    ADD COLUMN campaign_tickets_opened   BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN campaign_tickets_resolved BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE report_rollups DROP COLUMN campaign_tickets_resolved, DROP COLUMN campaign_tickets_opened;
