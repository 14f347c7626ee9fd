-- As mysql/00013_follow_up_load.sql.

-- +goose Up
CREATE INDEX idx_follow_ups_state_assignee ON follow_ups (state, assignee_id);

-- +goose Down
DROP INDEX idx_follow_ups_state_assignee;
