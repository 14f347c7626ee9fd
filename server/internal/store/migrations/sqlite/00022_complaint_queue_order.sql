-- As mysql/00022_complaint_queue_order.sql.

-- +goose Up
CREATE INDEX idx_complaints_state_ack ON complaints (state, acknowledge_due, id);
CREATE INDEX idx_complaints_state_resolve ON complaints (state, resolve_due, id);

-- +goose Down
DROP INDEX idx_complaints_state_resolve;
DROP INDEX idx_complaints_state_ack;
