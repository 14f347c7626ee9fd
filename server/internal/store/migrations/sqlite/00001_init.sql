-- Schema for the embedded SQLite database. Keep it equivalent to
-- ../mysql/00001_init.sql: same tables, columns, keys and index names.
-- Unreleased: 00001 is still edited in place.
--
-- Conventions for every table in this file:
--   * Text columns use SQLite's default BINARY collation, matching
--     utf8mb4_bin on MySQL.
--   * Times are DATETIME columns holding UTC text as written by the
--     driver ("2006-01-02 15:04:05.999999+00:00"); with a single time zone
--     the text sorts chronologically, so comparisons and ORDER BY work.
--   * No foreign keys, to mirror the MySQL schema (see there).
--   * Each table is its own block below.

-- +goose Up

-- ---------------------------------------------------------------------
-- leases: see the MySQL schema.
CREATE TABLE leases (
    name       TEXT     NOT NULL,
    holder     TEXT     NOT NULL,
    expires_at DATETIME NOT NULL,
    PRIMARY KEY (name)
);

-- ---------------------------------------------------------------------
-- idempotency_keys: see the MySQL schema.
CREATE TABLE idempotency_keys (
    method       TEXT     NOT NULL,
    request_id   TEXT     NOT NULL,
    request_hash BLOB     NOT NULL,
    response     BLOB     NULL,
    resource     TEXT     NOT NULL DEFAULT '',
    create_time  DATETIME NOT NULL,
    PRIMARY KEY (method, request_id)
);
CREATE INDEX idx_idempotency_keys_create_time ON idempotency_keys (create_time);

-- ---------------------------------------------------------------------
-- customers: resource table; see server/internal/store/models.go.
CREATE TABLE customers (
    id                  TEXT         NOT NULL,
    display_name        TEXT         NOT NULL,
    phone               TEXT         NOT NULL,
    email               TEXT         NOT NULL,
    address             TEXT         NOT NULL,
    contact_preferences TEXT         NOT NULL,
    external_id         TEXT         NULL,
    create_time         DATETIME     NOT NULL,
    update_time         DATETIME     NOT NULL,
    version             INTEGER      NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_customers_create ON customers (create_time);
CREATE INDEX idx_customers_email ON customers (email);
CREATE UNIQUE INDEX idx_customers_external_id ON customers (external_id);
CREATE INDEX idx_customers_phone ON customers (phone);

-- ---------------------------------------------------------------------
-- products: resource table; see server/internal/store/models.go.
CREATE TABLE products (
    id                TEXT         NOT NULL,
    customer_id       TEXT         NOT NULL,
    model             TEXT         NOT NULL,
    serial_number     TEXT         NOT NULL,
    purchase_time     DATETIME     NULL,
    warranty_end_time DATETIME     NULL,
    retailer          TEXT         NOT NULL,
    install_address   TEXT         NOT NULL,
    create_time       DATETIME     NOT NULL,
    update_time       DATETIME     NOT NULL,
    version           INTEGER      NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_products_create ON products (create_time);
CREATE INDEX idx_products_customer_create ON products (customer_id, create_time);
CREATE INDEX idx_products_model ON products (model);
CREATE UNIQUE INDEX idx_products_serial ON products (serial_number);

-- ---------------------------------------------------------------------
-- partners: resource table; see server/internal/store/models.go.
CREATE TABLE partners (
    id           TEXT         NOT NULL,
    display_name TEXT         NOT NULL,
    region       TEXT         NOT NULL,
    contact_name TEXT         NOT NULL,
    phone        TEXT         NOT NULL,
    email        TEXT         NOT NULL,
    address      TEXT         NOT NULL,
    active       BOOLEAN      NOT NULL,
    create_time  DATETIME     NOT NULL,
    update_time  DATETIME     NOT NULL,
    version      INTEGER      NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_partners_create ON partners (create_time);
CREATE INDEX idx_partners_region ON partners (region);

-- ---------------------------------------------------------------------
-- staff: resource table; see server/internal/store/models.go.
CREATE TABLE staff (
    id           TEXT         NOT NULL,
    display_name TEXT         NOT NULL,
    role         INTEGER      NOT NULL,
    team         TEXT         NOT NULL,
    manager_id   TEXT         NOT NULL,
    partner_id   TEXT         NOT NULL,
    skills       TEXT         NOT NULL,
    email        TEXT         NOT NULL,
    active       BOOLEAN      NOT NULL,
    create_time  DATETIME     NOT NULL,
    update_time  DATETIME     NOT NULL,
    version      INTEGER      NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_staff_create ON staff (create_time);
CREATE INDEX idx_staff_manager ON staff (manager_id);
CREATE INDEX idx_staff_partner ON staff (partner_id);
CREATE INDEX idx_staff_role ON staff (role);
CREATE INDEX idx_staff_team ON staff (team);

-- ---------------------------------------------------------------------
-- sla_policies: resource table; see server/internal/store/models.go.
CREATE TABLE sla_policies (
    id                      TEXT         NOT NULL,
    display_name            TEXT         NOT NULL,
    priority                INTEGER      NOT NULL,
    response_target_seconds INTEGER      NOT NULL,
    resolve_target_seconds  INTEGER      NOT NULL,
    pause_clock             BOOLEAN      NOT NULL,
    create_time             DATETIME     NOT NULL,
    update_time             DATETIME     NOT NULL,
    version                 INTEGER      NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_sla_policies_create ON sla_policies (create_time);
CREATE UNIQUE INDEX idx_sla_policies_priority ON sla_policies (priority);

-- ---------------------------------------------------------------------
-- tickets: resource table; see server/internal/store/models.go.
CREATE TABLE tickets (
    id                  TEXT         NOT NULL,
    customer_id         TEXT         NOT NULL,
    product_id          TEXT         NOT NULL,
    type                INTEGER      NOT NULL,
    channel             INTEGER      NOT NULL,
    priority            INTEGER      NOT NULL,
    title               TEXT         NOT NULL,
    description         TEXT         NOT NULL,
    state               INTEGER      NOT NULL,
    first_contact_id    TEXT         NOT NULL,
    assignee_id         TEXT         NOT NULL,
    partner_id          TEXT         NOT NULL,
    warranty_status     INTEGER      NOT NULL,
    fee_currency        TEXT         NOT NULL,
    fee_labor_minor     INTEGER      NOT NULL,
    fee_parts_minor     INTEGER      NOT NULL,
    fee_description     TEXT         NOT NULL,
    fee_approval        INTEGER      NOT NULL,
    fee_decide_time     DATETIME     NULL,
    fault_category      TEXT         NOT NULL,
    fault_code          TEXT         NOT NULL,
    resolution          TEXT         NOT NULL,
    parts_used          TEXT         NOT NULL,
    labor_seconds       INTEGER      NOT NULL,
    charged_currency    TEXT         NOT NULL,
    charged_minor       INTEGER      NOT NULL,
    sla_policy_id       TEXT         NOT NULL,
    response_due        DATETIME     NOT NULL,
    resolve_due         DATETIME     NOT NULL,
    first_response_time DATETIME     NULL,
    response_breached   BOOLEAN      NOT NULL,
    resolve_breached    BOOLEAN      NOT NULL,
    paused_seconds      INTEGER      NOT NULL,
    paused_at           DATETIME     NULL,
    pause_clock         BOOLEAN      NOT NULL,
    pause_reason        TEXT         NOT NULL,
    escalation_level    INTEGER      NOT NULL,
    create_time         DATETIME     NOT NULL,
    update_time         DATETIME     NOT NULL,
    resolve_time        DATETIME     NULL,
    close_time          DATETIME     NULL,
    version             INTEGER      NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_tickets_assignee ON tickets (assignee_id, create_time);
CREATE INDEX idx_tickets_create ON tickets (create_time);
CREATE INDEX idx_tickets_customer ON tickets (customer_id, create_time);
CREATE INDEX idx_tickets_first_contact ON tickets (first_contact_id);
CREATE INDEX idx_tickets_partner ON tickets (partner_id, create_time);
CREATE INDEX idx_tickets_product ON tickets (product_id);
CREATE INDEX idx_tickets_resolve_due ON tickets (resolve_breached, resolve_due);
CREATE INDEX idx_tickets_response_due ON tickets (response_breached, response_due);
CREATE INDEX idx_tickets_state ON tickets (state, create_time);
CREATE INDEX idx_tickets_state_assignee ON tickets (state, assignee_id, create_time);

-- ---------------------------------------------------------------------
-- ticket_events: resource table; see server/internal/store/models.go.
CREATE TABLE ticket_events (
    id          TEXT         NOT NULL,
    ticket_id   TEXT         NOT NULL,
    type        INTEGER      NOT NULL,
    actor       TEXT         NOT NULL,
    from_state  INTEGER      NOT NULL,
    to_state    INTEGER      NOT NULL,
    message     TEXT         NOT NULL,
    internal    BOOLEAN      NOT NULL,
    details     TEXT         NOT NULL,
    notify      TEXT         NOT NULL,
    create_time DATETIME     NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_ticket_events_ticket ON ticket_events (ticket_id, create_time);

-- Default SLA policies, one per priority, with readable ids so that
-- "slaPolicies/urgent" means what it says. Operators change the targets
-- with UpdateSlaPolicy.
INSERT INTO sla_policies (id, display_name, priority, response_target_seconds, resolve_target_seconds, pause_clock, create_time, update_time, version) VALUES
    ('low', 'LOW — 24h / 5d', 1, 86400, 432000, TRUE, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 1),
    ('normal', 'NORMAL — 8h / 3d', 2, 28800, 259200, TRUE, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 1),
    ('high', 'HIGH — 4h / 24h', 3, 14400, 86400, TRUE, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 1),
    ('urgent', 'URGENT — 1h / 8h', 4, 3600, 28800, TRUE, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 1);

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
