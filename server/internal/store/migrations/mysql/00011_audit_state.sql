-- The audit record of a creation keeps the new resource as it was
-- created, marshaled (a google.protobuf.Any, the bytes the outbox event
-- carries), instead of a JSON list of every field as "changed": the write
-- path then spends no JSON on creations, and ListAuditRecords expands the
-- state into field changes when read. changes is '' for such records.
-- See server/internal/service/audit.go. Conventions as in 00001_init.sql;
-- MariaDB adds a trailing NULL column instantly, whatever the table size.

-- +goose Up
ALTER TABLE audit_records ADD COLUMN state BLOB NULL;

-- +goose Down
ALTER TABLE audit_records DROP COLUMN state;
