-- API keys: see ../mysql/00002_api_keys.sql.

-- +goose Up
CREATE TABLE api_keys (
    id           TEXT     NOT NULL,
    display_name TEXT     NOT NULL,
    secret_hash  BLOB     NOT NULL,
    key_prefix   TEXT     NOT NULL,
    staff_id     TEXT     NOT NULL,
    partner_id   TEXT     NOT NULL,
    service_role INTEGER  NOT NULL,
    can_delegate BOOLEAN  NOT NULL,
    expire_time  DATETIME NULL,
    revoke_time  DATETIME NULL,
    create_time  DATETIME NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_api_keys_create ON api_keys (create_time);
CREATE INDEX idx_api_keys_partner ON api_keys (partner_id);
CREATE INDEX idx_api_keys_staff ON api_keys (staff_id);

-- +goose Down
DROP TABLE IF EXISTS api_keys;
