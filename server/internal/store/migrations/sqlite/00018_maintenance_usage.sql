-- As mysql/00018_maintenance_usage.sql, which explains the columns.

-- +goose Up
ALTER TABLE products ADD COLUMN usage_reading INTEGER NOT NULL DEFAULT 0;
ALTER TABLE products ADD COLUMN usage_read_time DATETIME NULL;
ALTER TABLE maintenance_plans ADD COLUMN interval_usage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE maintenance_plans ADD COLUMN usage_unit TEXT NOT NULL DEFAULT '';
ALTER TABLE maintenance_plans ADD COLUMN usage_lead INTEGER NOT NULL DEFAULT 0;
ALTER TABLE maintenance_schedule ADD COLUMN next_due_usage INTEGER NULL;
CREATE INDEX idx_maintenance_schedule_product ON maintenance_schedule (product_id);
ALTER TABLE maintenance_visits ADD COLUMN due_usage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE maintenance_visits ADD COLUMN next_due_usage INTEGER NULL;

-- +goose Down
ALTER TABLE maintenance_visits DROP COLUMN next_due_usage;
ALTER TABLE maintenance_visits DROP COLUMN due_usage;
DROP INDEX idx_maintenance_schedule_product;
ALTER TABLE maintenance_schedule DROP COLUMN next_due_usage;
ALTER TABLE maintenance_plans DROP COLUMN usage_lead;
ALTER TABLE maintenance_plans DROP COLUMN usage_unit;
ALTER TABLE maintenance_plans DROP COLUMN interval_usage;
ALTER TABLE products DROP COLUMN usage_read_time;
ALTER TABLE products DROP COLUMN usage_reading;
