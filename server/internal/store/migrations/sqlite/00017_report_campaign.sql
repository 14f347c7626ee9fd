-- As mysql/00017_report_campaign.sql.

-- +goose Up
ALTER TABLE report_rollups ADD COLUMN campaign_tickets_opened INTEGER NOT NULL DEFAULT 0;
ALTER TABLE report_rollups ADD COLUMN campaign_tickets_resolved INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE report_rollups DROP COLUMN campaign_tickets_resolved;
ALTER TABLE report_rollups DROP COLUMN campaign_tickets_opened;
