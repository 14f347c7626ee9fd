-- As mysql/00021_ticket_queue_order.sql.

-- +goose Up
CREATE INDEX idx_tickets_state_resolve ON tickets (state, resolve_due, id);
CREATE INDEX idx_tickets_assignee_resolve ON tickets (assignee_id, state, resolve_due, id);

-- +goose Down
DROP INDEX idx_tickets_assignee_resolve;
DROP INDEX idx_tickets_state_resolve;
