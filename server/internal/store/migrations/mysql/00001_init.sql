-- Schema for MySQL 8, MariaDB 10.11+ and MySQL-compatible distributed
-- engines (TiDB and similar). Unreleased: 00001 is still edited in place.
--
-- Conventions for every table in this file:
--   * InnoDB, utf8mb4 with the binary collation: identifiers compare
--     byte-wise and case-sensitively, exactly as in SQLite.
--   * Times are DATETIME(6) holding UTC (the connection pins time_zone to
--     +00:00 and the application writes UTC).
--   * Ids are VARCHAR, never AUTO_INCREMENT.
--   * No foreign keys. Distributed engines ignore or only partially
--     enforce them, cascades would change rows behind the service's back
--     (no etag bump, no idempotency record), and every FK check adds
--     locks on the parent row. Referential rules are enforced by the
--     service inside its transactions.
--   * No SELECT ... SKIP LOCKED / NOWAIT, for the same portability reason.
--   * Each table is its own block below; keep it that way so resource
--     tables can be added without touching the infrastructure ones.

-- +goose Up

-- ---------------------------------------------------------------------
-- leases: one row per named lease (leader election among replicas).
-- A replica holds lease `name` while holder = its id and the injected
-- clock is before expires_at. See store.AcquireLease.
CREATE TABLE leases (
    name       VARCHAR(64)  NOT NULL,
    holder     VARCHAR(128) NOT NULL,
    expires_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- ---------------------------------------------------------------------
-- idempotency_keys: one row per (RPC method, request_id) that performed
-- a write, holding the SHA-256 of the request and the marshaled response
-- returned to the first caller. See store.Idempotent.
-- response is MEDIUMBLOB because BLOB caps at 64 KiB, less than a gRPC
-- message may be.
CREATE TABLE idempotency_keys (
    method       VARCHAR(128) NOT NULL,
    request_id   VARCHAR(64)  NOT NULL,
    request_hash BINARY(32)   NOT NULL,
    response     MEDIUMBLOB   NULL,
    resource     VARCHAR(255) NOT NULL DEFAULT '',
    create_time  DATETIME(6)  NOT NULL,
    PRIMARY KEY (method, request_id),
    KEY idx_idempotency_keys_create_time (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- ---------------------------------------------------------------------
-- customers: resource table; see server/internal/store/models.go.
CREATE TABLE customers (
    id                  VARCHAR(32)  NOT NULL,
    display_name        VARCHAR(200) NOT NULL,
    phone               VARCHAR(20)  NOT NULL,
    email               VARCHAR(254) NOT NULL,
    address             TEXT         NOT NULL,
    contact_preferences VARCHAR(200) NOT NULL,
    external_id         VARCHAR(128) NULL,
    create_time         DATETIME(6)  NOT NULL,
    update_time         DATETIME(6)  NOT NULL,
    version             BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_customers_create (create_time),
    KEY idx_customers_email (email),
    UNIQUE KEY idx_customers_external_id (external_id),
    KEY idx_customers_phone (phone)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- ---------------------------------------------------------------------
-- products: resource table; see server/internal/store/models.go.
CREATE TABLE products (
    id                VARCHAR(32)  NOT NULL,
    customer_id       VARCHAR(32)  NOT NULL,
    model             VARCHAR(100) NOT NULL,
    serial_number     VARCHAR(64)  NOT NULL,
    purchase_time     DATETIME(6)  NULL,
    warranty_end_time DATETIME(6)  NULL,
    retailer          VARCHAR(200) NOT NULL,
    install_address   TEXT         NOT NULL,
    create_time       DATETIME(6)  NOT NULL,
    update_time       DATETIME(6)  NOT NULL,
    version           BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_products_create (create_time),
    KEY idx_products_customer_create (customer_id, create_time),
    KEY idx_products_model (model),
    UNIQUE KEY idx_products_serial (serial_number)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- ---------------------------------------------------------------------
-- partners: resource table; see server/internal/store/models.go.
CREATE TABLE partners (
    id           VARCHAR(32)  NOT NULL,
    display_name VARCHAR(200) NOT NULL,
    region       VARCHAR(100) NOT NULL,
    contact_name VARCHAR(200) NOT NULL,
    phone        VARCHAR(20)  NOT NULL,
    email        VARCHAR(254) NOT NULL,
    address      TEXT         NOT NULL,
    active       BOOLEAN      NOT NULL,
    create_time  DATETIME(6)  NOT NULL,
    update_time  DATETIME(6)  NOT NULL,
    version      BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_partners_create (create_time),
    KEY idx_partners_region (region)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- ---------------------------------------------------------------------
-- staff: resource table; see server/internal/store/models.go.
CREATE TABLE staff (
    id           VARCHAR(32)  NOT NULL,
    display_name VARCHAR(200) NOT NULL,
    role         INT          NOT NULL,
    team         VARCHAR(100) NOT NULL,
    manager_id   VARCHAR(32)  NOT NULL,
    partner_id   VARCHAR(32)  NOT NULL,
    skills       TEXT         NOT NULL,
    email        VARCHAR(254) NOT NULL,
    active       BOOLEAN      NOT NULL,
    create_time  DATETIME(6)  NOT NULL,
    update_time  DATETIME(6)  NOT NULL,
    version      BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_staff_create (create_time),
    KEY idx_staff_manager (manager_id),
    KEY idx_staff_partner (partner_id),
    KEY idx_staff_role (role),
    KEY idx_staff_team (team)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- ---------------------------------------------------------------------
-- sla_policies: resource table; see server/internal/store/models.go.
CREATE TABLE sla_policies (
    id                      VARCHAR(32)  NOT NULL,
    display_name            VARCHAR(200) NOT NULL,
    priority                INT          NOT NULL,
    response_target_seconds BIGINT       NOT NULL,
    resolve_target_seconds  BIGINT       NOT NULL,
    pause_clock             BOOLEAN      NOT NULL,
    create_time             DATETIME(6)  NOT NULL,
    update_time             DATETIME(6)  NOT NULL,
    version                 BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_sla_policies_create (create_time),
    UNIQUE KEY idx_sla_policies_priority (priority)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- ---------------------------------------------------------------------
-- tickets: resource table; see server/internal/store/models.go.
CREATE TABLE tickets (
    id                  VARCHAR(32)  NOT NULL,
    customer_id         VARCHAR(32)  NOT NULL,
    product_id          VARCHAR(32)  NOT NULL,
    type                INT          NOT NULL,
    channel             INT          NOT NULL,
    priority            INT          NOT NULL,
    title               VARCHAR(200) NOT NULL,
    description         TEXT         NOT NULL,
    state               INT          NOT NULL,
    first_contact_id    VARCHAR(32)  NOT NULL,
    assignee_id         VARCHAR(32)  NOT NULL,
    partner_id          VARCHAR(32)  NOT NULL,
    warranty_status     INT          NOT NULL,
    fee_currency        VARCHAR(3)   NOT NULL,
    fee_labor_minor     BIGINT       NOT NULL,
    fee_parts_minor     BIGINT       NOT NULL,
    fee_description     TEXT         NOT NULL,
    fee_approval        INT          NOT NULL,
    fee_decide_time     DATETIME(6)  NULL,
    fault_category      VARCHAR(40)  NOT NULL,
    fault_code          VARCHAR(40)  NOT NULL,
    resolution          TEXT         NOT NULL,
    parts_used          TEXT         NOT NULL,
    labor_seconds       BIGINT       NOT NULL,
    charged_currency    VARCHAR(3)   NOT NULL,
    charged_minor       BIGINT       NOT NULL,
    sla_policy_id       VARCHAR(32)  NOT NULL,
    response_due        DATETIME(6)  NOT NULL,
    resolve_due         DATETIME(6)  NOT NULL,
    first_response_time DATETIME(6)  NULL,
    response_breached   BOOLEAN      NOT NULL,
    resolve_breached    BOOLEAN      NOT NULL,
    paused_seconds      BIGINT       NOT NULL,
    paused_at           DATETIME(6)  NULL,
    pause_clock         BOOLEAN      NOT NULL,
    pause_reason        TEXT         NOT NULL,
    escalation_level    INT          NOT NULL,
    create_time         DATETIME(6)  NOT NULL,
    update_time         DATETIME(6)  NOT NULL,
    resolve_time        DATETIME(6)  NULL,
    close_time          DATETIME(6)  NULL,
    version             BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_tickets_assignee (assignee_id, create_time),
    KEY idx_tickets_create (create_time),
    KEY idx_tickets_customer (customer_id, create_time),
    KEY idx_tickets_first_contact (first_contact_id),
    KEY idx_tickets_partner (partner_id, create_time),
    KEY idx_tickets_product (product_id),
    KEY idx_tickets_resolve_due (resolve_breached, resolve_due),
    KEY idx_tickets_response_due (response_breached, response_due),
    KEY idx_tickets_state (state, create_time),
    KEY idx_tickets_state_assignee (state, assignee_id, create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- ---------------------------------------------------------------------
-- ticket_events: resource table; see server/internal/store/models.go.
CREATE TABLE ticket_events (
    id          VARCHAR(32)  NOT NULL,
    ticket_id   VARCHAR(32)  NOT NULL,
    type        INT          NOT NULL,
    actor       VARCHAR(80)  NOT NULL,
    from_state  INT          NOT NULL,
    to_state    INT          NOT NULL,
    message     TEXT         NOT NULL,
    internal    BOOLEAN      NOT NULL,
    details     TEXT         NOT NULL,
    notify      TEXT         NOT NULL,
    create_time DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_ticket_events_ticket (ticket_id, create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Default SLA policies, one per priority, with readable ids so that
-- "slaPolicies/urgent" means what it says. Operators change the targets
-- with UpdateSlaPolicy.
INSERT INTO sla_policies (id, display_name, priority, response_target_seconds, resolve_target_seconds, pause_clock, create_time, update_time, version) VALUES
    ('low', 'LOW — 24h / 5d', 1, 86400, 432000, TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1),
    ('normal', 'NORMAL — 8h / 3d', 2, 28800, 259200, TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1),
    ('high', 'HIGH — 4h / 24h', 3, 14400, 86400, TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1),
    ('urgent', 'URGENT — 1h / 8h', 4, 3600, 28800, TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);

-- +goose Down

DROP TABLE IF EXISTS ticket_events;
DROP TABLE IF EXISTS tickets;
DROP TABLE IF EXISTS sla_policies;
DROP TABLE IF EXISTS staff;
DROP TABLE IF EXISTS partners;
DROP TABLE IF EXISTS products;
DROP TABLE IF EXISTS customers;

DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS leases;
