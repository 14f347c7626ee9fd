-- SLA breach scan indexes: see ../mysql/00004_sla_scan_indexes.sql.

-- +goose Up
DROP INDEX idx_tickets_response_due;
CREATE INDEX idx_tickets_response_due ON tickets (response_breached, first_response_time, state, response_due);
DROP INDEX idx_tickets_resolve_due;
CREATE INDEX idx_tickets_resolve_due ON tickets (resolve_breached, state, resolve_due);

-- +goose Down
DROP INDEX idx_tickets_response_due;
CREATE INDEX idx_tickets_response_due ON tickets (response_breached, response_due);
DROP INDEX idx_tickets_resolve_due;
CREATE INDEX idx_tickets_resolve_due ON tickets (resolve_breached, resolve_due);
