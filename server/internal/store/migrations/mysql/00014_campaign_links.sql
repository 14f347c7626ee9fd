-- Links for proactive service (campaigns and maintenance plans, issue 15):
-- which campaign or maintenance plan opened a ticket ('' for the others),
-- and what campaigns target products by besides model and serial number.
-- ADD COLUMN with a constant default is instant on MariaDB 10.3+ and
-- MySQL 8, so this does not rewrite a large tickets table.
-- Conventions as in 00001_init.sql.

-- +goose Up
ALTER TABLE tickets
    ADD COLUMN campaign_id          VARCHAR(32) NOT NULL DEFAULT '',
    ADD COLUMN maintenance_plan_id VARCHAR(32) NOT NULL DEFAULT '';
ALTER TABLE products
    ADD COLUMN manufacture_time DATETIME(6)  NULL,
    ADD COLUMN region           VARCHAR(100) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE products DROP COLUMN region, DROP COLUMN manufacture_time;
ALTER TABLE tickets DROP COLUMN maintenance_plan_id, DROP COLUMN campaign_id;
