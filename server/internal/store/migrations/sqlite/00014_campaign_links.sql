-- As mysql/00014_campaign_links.sql.

-- +goose Up
ALTER TABLE tickets ADD COLUMN campaign_id TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN maintenance_plan_id TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN manufacture_time DATETIME NULL;
ALTER TABLE products ADD COLUMN region TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE products DROP COLUMN region;
ALTER TABLE products DROP COLUMN manufacture_time;
ALTER TABLE tickets DROP COLUMN maintenance_plan_id;
ALTER TABLE tickets DROP COLUMN campaign_id;
