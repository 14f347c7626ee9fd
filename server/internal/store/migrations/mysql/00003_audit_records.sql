-- The audit trail (see store.AuditRecord): append-only, written in the
-- same transaction as the change it records.

-- +goose Up
CREATE TABLE audit_records (
    id          VARCHAR(32)  NOT NULL,
    principal   VARCHAR(80)  NOT NULL,
    via         VARCHAR(80)  NOT NULL,
    method      VARCHAR(128) NOT NULL,
    resource    VARCHAR(160) NOT NULL,
    changes     TEXT         NOT NULL,
    create_time DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_audit_records_create (create_time),
    KEY idx_audit_records_principal (principal, create_time),
    KEY idx_audit_records_resource (resource, create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS audit_records;
