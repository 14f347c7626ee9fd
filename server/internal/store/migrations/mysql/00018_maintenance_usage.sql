-- Maintenance plans by usage (issue 15): a product's usage meter and a
-- plan's interval in usage, alongside or instead of months. Conventions
-- as in 00001_init.sql; ADD COLUMN with a constant default is instant on
-- MariaDB 10.3+ and MySQL 8.
--
-- products.usage_reading is the unit's meter (hours, cycles, km), never
-- lowered; usage_read_time when it last changed.
--
-- maintenance_schedule.next_due_usage is the product's next due reading
-- under a usage plan, NULL for a plan by months only. A schedule row with
-- a visit open has both next_due_time and next_due_usage NULL; a row of a
-- usage-only plan waiting for its reading has next_due_time NULL and
-- next_due_usage set. The reading reaching it sets next_due_time to now,
-- so the loop's existing range on idx_maintenance_schedule_due opens the
-- visit. idx_maintenance_schedule_product finds a product's rows when its
-- reading changes.
--
-- maintenance_visits.due_usage is the reading the visit was due at (0 when
-- due by date); next_due_usage the next due reading its end set.

-- +goose Up
ALTER TABLE products
    ADD COLUMN usage_reading   BIGINT      NOT NULL DEFAULT 0,
    ADD COLUMN usage_read_time DATETIME(6) NULL;
ALTER TABLE maintenance_plans
    ADD COLUMN interval_usage BIGINT      NOT NULL DEFAULT 0,
    ADD COLUMN usage_unit     VARCHAR(20) NOT NULL DEFAULT '',
    ADD COLUMN usage_lead     BIGINT      NOT NULL DEFAULT 0;
ALTER TABLE maintenance_schedule
    ADD COLUMN next_due_usage BIGINT NULL,
    ADD KEY idx_maintenance_schedule_product (product_id);
ALTER TABLE maintenance_visits
    ADD COLUMN due_usage      BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN next_due_usage BIGINT NULL;

-- +goose Down
ALTER TABLE maintenance_visits DROP COLUMN next_due_usage, DROP COLUMN due_usage;
ALTER TABLE maintenance_schedule DROP KEY idx_maintenance_schedule_product, DROP COLUMN next_due_usage;
ALTER TABLE maintenance_plans DROP COLUMN usage_lead, DROP COLUMN usage_unit, DROP COLUMN interval_usage;
ALTER TABLE products DROP COLUMN usage_read_time, DROP COLUMN usage_reading;
