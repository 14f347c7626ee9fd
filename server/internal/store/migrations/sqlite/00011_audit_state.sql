-- As mysql/00011_audit_state.sql.

-- +goose Up
ALTER TABLE audit_records ADD COLUMN state BLOB NULL;

-- +goose Down
ALTER TABLE audit_records DROP COLUMN state;
