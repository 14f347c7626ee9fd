-- As mysql/00019_product_region_backfill.sql.

-- +goose Up
UPDATE products SET region = COALESCE(
    NULLIF(TRIM(CASE WHEN json_valid(install_address) THEN json_extract(install_address, '$.region') END), ''),
    NULLIF(TRIM((SELECT CASE WHEN json_valid(c.address) THEN json_extract(c.address, '$.region') END
                 FROM customers c WHERE c.id = products.customer_id)), ''),
    '')
WHERE region = '';

-- +goose Down
SELECT 1;
