-- The rollup loop follows product changes too: a corrected model, serial
-- number or purchase date is recounted in the facts of the unit's tickets
-- and complaints. See server/internal/service/report_rollup.go.
-- Conventions as in 00001_init.sql.

-- +goose Up
CREATE INDEX idx_products_update ON products (update_time, id);
CREATE INDEX idx_complaints_product ON complaints (product_id);

-- +goose Down
DROP INDEX idx_complaints_product;
DROP INDEX idx_products_update;
