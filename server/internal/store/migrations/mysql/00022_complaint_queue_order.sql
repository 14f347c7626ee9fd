-- The console's complaint queues list open complaints by the deadline
-- they work to: those awaiting acknowledgement (state RECEIVED) by
-- acknowledge_due, the others by resolve_due (ListComplaints order_by
-- "acknowledge_due_time" and "resolve_due_time"). As for tickets
-- (00021), the state first and the keyset (due, id) last make a page an
-- index range read in order. Both due columns are NOT NULL.
-- Conventions as in 00001_init.sql.

-- +goose Up
CREATE INDEX idx_complaints_state_ack ON complaints (state, acknowledge_due, id);
CREATE INDEX idx_complaints_state_resolve ON complaints (state, resolve_due, id);

-- +goose Down
DROP INDEX idx_complaints_state_resolve ON complaints;
DROP INDEX idx_complaints_state_ack ON complaints;
