-- Product.region (00014) is derived when a product or its owner changes
-- (service/product.go productRegion): the install address's region, else
-- the owner's. Products registered before it have region '' and so were
-- invisible to campaigns that target regions; this derives theirs the
-- same way from the stored JSON addresses (protojson, key "region").
-- One statement: on a very large table (or Galera, whose write sets are
-- bounded) run it in id ranges by hand before upgrading instead.
-- Conventions as in 00001_init.sql.

-- +goose Up
UPDATE products p JOIN customers c ON c.id = p.customer_id
SET p.region = COALESCE(
    NULLIF(TRIM(CASE WHEN JSON_VALID(p.install_address) THEN JSON_UNQUOTE(JSON_EXTRACT(p.install_address, '$.region')) END), ''),
    NULLIF(TRIM(CASE WHEN JSON_VALID(c.address) THEN JSON_UNQUOTE(JSON_EXTRACT(c.address, '$.region')) END), ''),
    '')
WHERE p.region = '';

-- +goose Down
-- Nothing: the regions derived are the ones the service would derive.
SELECT 1;
