-- API keys (see store.ApiKey). secret_hash is the SHA-256 of the key's
-- random secret: the secret has 256 bits of entropy, so a fast hash is as
-- safe as a slow one and keeps per-call verification cheap.

-- +goose Up
CREATE TABLE api_keys (
    id           VARCHAR(32)  NOT NULL,
    display_name VARCHAR(200) NOT NULL,
    secret_hash  BINARY(32)   NOT NULL,
    key_prefix   VARCHAR(32)  NOT NULL,
    staff_id     VARCHAR(32)  NOT NULL,
    partner_id   VARCHAR(32)  NOT NULL,
    service_role INT          NOT NULL,
    can_delegate BOOLEAN      NOT NULL,
    expire_time  DATETIME(6)  NULL,
    revoke_time  DATETIME(6)  NULL,
    create_time  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_api_keys_create (create_time),
    KEY idx_api_keys_partner (partner_id),
    KEY idx_api_keys_staff (staff_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS api_keys;
