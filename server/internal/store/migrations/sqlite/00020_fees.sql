-- Fee schedules, quotes, warranty claims and settlements. SQLite twin of
-- ../mysql/00020_fees.sql, which explains the tables.

-- +goose Up
CREATE TABLE fee_schedules (
    id             TEXT     NOT NULL,
    display_name   TEXT     NOT NULL,
    currency       TEXT     NOT NULL,
    state          INTEGER  NOT NULL,
    effective_time DATETIME NULL,
    publish_time   DATETIME NULL,
    create_time    DATETIME NOT NULL,
    update_time    DATETIME NOT NULL,
    version        INTEGER  NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_fee_schedules_effective ON fee_schedules (state, effective_time);
CREATE INDEX idx_fee_schedules_create ON fee_schedules (create_time);

CREATE TABLE fee_lines (
    schedule_id      TEXT    NOT NULL,
    code             TEXT    NOT NULL,
    position         INTEGER NOT NULL,
    kind             INTEGER NOT NULL,
    description      TEXT    NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    ticket_type      INTEGER NOT NULL,
    product_category TEXT    NOT NULL,
    region           TEXT    NOT NULL,
    PRIMARY KEY (schedule_id, code)
);
CREATE INDEX idx_fee_lines_kind ON fee_lines (schedule_id, kind);

CREATE TABLE fee_categories (
    schedule_id TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (schedule_id, model)
);

CREATE TABLE ticket_quotes (
    ticket_id        TEXT     NOT NULL,
    revision         INTEGER  NOT NULL,
    state            INTEGER  NOT NULL,
    schedule_id      TEXT     NOT NULL,
    currency         TEXT     NOT NULL,
    subtotal_minor   INTEGER  NOT NULL,
    discount_minor   INTEGER  NOT NULL,
    total_minor      INTEGER  NOT NULL,
    note             TEXT     NOT NULL,
    quoted_by        TEXT     NOT NULL,
    approval_reasons TEXT     NOT NULL,
    approved_by      TEXT     NOT NULL,
    quote_time       DATETIME NOT NULL,
    decide_time      DATETIME NULL,
    PRIMARY KEY (ticket_id)
);

CREATE TABLE charge_lines (
    owner_id         TEXT    NOT NULL,
    position         INTEGER NOT NULL,
    code             TEXT    NOT NULL,
    kind             INTEGER NOT NULL,
    description      TEXT    NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    amount_minor     INTEGER NOT NULL,
    discount_minor   INTEGER NOT NULL,
    PRIMARY KEY (owner_id, position)
);

CREATE TABLE warranty_claims (
    id               TEXT     NOT NULL,
    partner_id       TEXT     NOT NULL,
    ticket_id        TEXT     NOT NULL,
    state            INTEGER  NOT NULL,
    ticket_type      INTEGER  NOT NULL,
    product_model    TEXT     NOT NULL,
    fault_category   TEXT     NOT NULL,
    fault_code       TEXT     NOT NULL,
    schedule_id      TEXT     NOT NULL,
    currency         TEXT     NOT NULL,
    claimed_minor    INTEGER  NOT NULL,
    approved_minor   INTEGER  NOT NULL,
    review_reason    TEXT     NOT NULL,
    reviewer_id      TEXT     NOT NULL,
    resolve_time     DATETIME NOT NULL,
    review_time      DATETIME NULL,
    payable_time     DATETIME NULL,
    settlement_month TEXT     NOT NULL,
    create_time      DATETIME NOT NULL,
    update_time      DATETIME NOT NULL,
    version          INTEGER  NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_warranty_claims_ticket ON warranty_claims (ticket_id);
CREATE INDEX idx_warranty_claims_partner_create ON warranty_claims (partner_id, create_time, id);
CREATE INDEX idx_warranty_claims_payable ON warranty_claims (partner_id, state, payable_time);
CREATE INDEX idx_warranty_claims_settlement ON warranty_claims (partner_id, settlement_month);
CREATE INDEX idx_warranty_claims_resolve ON warranty_claims (resolve_time);

CREATE TABLE settlements (
    partner_id  TEXT     NOT NULL,
    month       TEXT     NOT NULL,
    claim_count INTEGER  NOT NULL,
    totals      TEXT     NOT NULL,
    issue_time  DATETIME NOT NULL,
    issued_by   TEXT     NOT NULL,
    PRIMARY KEY (partner_id, month)
);

-- +goose Down
DROP TABLE settlements;
DROP TABLE warranty_claims;
DROP TABLE charge_lines;
DROP TABLE ticket_quotes;
DROP TABLE fee_categories;
DROP TABLE fee_lines;
DROP TABLE fee_schedules;
