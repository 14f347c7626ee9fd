-- The work queues list tickets by the SLA's resolve due time
-- (ListTickets order_by "sla.resolve_due_time"), filtered by state, and
-- a technician's by assignee. With the equality columns first and the
-- keyset (resolve_due, id) last, a page is an index range read in order:
-- no sort, however many tickets there are. A filter that admits several
-- states (the console's "open": state != RESOLVED AND ...) reads the
-- index ranges of those states and sorts only their rows. resolve_due is
-- NOT NULL (every ticket has an SLA policy), so the order is total.
-- Conventions as in 00001_init.sql.

-- +goose Up
CREATE INDEX idx_tickets_state_resolve ON tickets (state, resolve_due, id);
CREATE INDEX idx_tickets_assignee_resolve ON tickets (assignee_id, state, resolve_due, id);

-- +goose Down
DROP INDEX idx_tickets_assignee_resolve ON tickets;
DROP INDEX idx_tickets_state_resolve ON tickets;
