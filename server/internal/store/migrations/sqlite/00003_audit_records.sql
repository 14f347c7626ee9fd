-- The audit trail: see ../mysql/00003_audit_records.sql.

-- +goose Up
CREATE TABLE audit_records (
    id          TEXT     NOT NULL,
    principal   TEXT     NOT NULL,
    via         TEXT     NOT NULL,
    method      TEXT     NOT NULL,
    resource    TEXT     NOT NULL,
    changes     TEXT     NOT NULL,
    create_time DATETIME NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_audit_records_create ON audit_records (create_time);
CREATE INDEX idx_audit_records_principal ON audit_records (principal, create_time);
CREATE INDEX idx_audit_records_resource ON audit_records (resource, create_time);

-- +goose Down
DROP TABLE IF EXISTS audit_records;
