-- Automatic follow-up assignment counts each candidate agent's scheduled
-- follow-ups on every resolve (service/followup_ticket.go). Without this
-- index the count read every scheduled follow-up's row; in a 10-minute
-- soak it averaged 461 ms as they piled up. With it the count is an
-- index range per agent. Conventions as in 00001_init.sql.

-- +goose Up
CREATE INDEX idx_follow_ups_state_assignee ON follow_ups (state, assignee_id);

-- +goose Down
DROP INDEX idx_follow_ups_state_assignee ON follow_ups;
