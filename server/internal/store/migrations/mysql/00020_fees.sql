-- Fee schedules, ticket quotes, warranty claims and settlements (issue
-- 16). Conventions as in 00001_init.sql. Amounts are BIGINT counts of the
-- currency's minor unit next to a CHAR(3) currency: never floats.
--
-- fee_schedules: idx_fee_schedules_effective finds the schedule in effect
-- (state PUBLISHED, latest effective_time not after now) with one range
-- read. fee_lines and fee_categories are keyed by (schedule, code) and
-- (schedule, model): a code is unique in a schedule and a model in one
-- category at most. Published schedules are never updated.
--
-- ticket_quotes: a ticket's current quote revision; charge_lines holds the
-- lines of quotes (owner = ticket id) and of claims (owner = claim id).
--
-- warranty_claims: one per ticket (UNIQUE ticket_id), also for company
-- technicians' work (partner_id '') so cost figures read one table.
-- idx_warranty_claims_payable finds a partner's approved claims payable in
-- a month; idx_warranty_claims_settlement the claims an issued statement
-- paid; idx_warranty_claims_resolve the costs of a report window.

-- +goose Up
CREATE TABLE fee_schedules (
    id             VARCHAR(32)  NOT NULL,
    display_name   VARCHAR(200) NOT NULL,
    currency       VARCHAR(3)   NOT NULL,
    state          INT          NOT NULL,
    effective_time DATETIME(6)  NULL,
    publish_time   DATETIME(6)  NULL,
    create_time    DATETIME(6)  NOT NULL,
    update_time    DATETIME(6)  NOT NULL,
    version        BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_fee_schedules_effective (state, effective_time),
    KEY idx_fee_schedules_create (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE fee_lines (
    schedule_id      VARCHAR(32)  NOT NULL,
    code             VARCHAR(64)  NOT NULL,
    position         INT          NOT NULL,
    kind             INT          NOT NULL,
    description      VARCHAR(200) NOT NULL,
    unit_price_minor BIGINT       NOT NULL,
    ticket_type      INT          NOT NULL,
    product_category VARCHAR(40)  NOT NULL,
    region           VARCHAR(100) NOT NULL,
    PRIMARY KEY (schedule_id, code),
    KEY idx_fee_lines_kind (schedule_id, kind)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE fee_categories (
    schedule_id VARCHAR(32)  NOT NULL,
    model       VARCHAR(100) NOT NULL,
    category    VARCHAR(40)  NOT NULL,
    position    INT          NOT NULL,
    PRIMARY KEY (schedule_id, model)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE ticket_quotes (
    ticket_id        VARCHAR(32)  NOT NULL,
    revision         INT          NOT NULL,
    state            INT          NOT NULL,
    schedule_id      VARCHAR(32)  NOT NULL,
    currency         VARCHAR(3)   NOT NULL,
    subtotal_minor   BIGINT       NOT NULL,
    discount_minor   BIGINT       NOT NULL,
    total_minor      BIGINT       NOT NULL,
    note             TEXT         NOT NULL,
    quoted_by        VARCHAR(100) NOT NULL,
    approval_reasons TEXT         NOT NULL,
    approved_by      VARCHAR(100) NOT NULL,
    quote_time       DATETIME(6)  NOT NULL,
    decide_time      DATETIME(6)  NULL,
    PRIMARY KEY (ticket_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE charge_lines (
    owner_id         VARCHAR(32)  NOT NULL,
    position         INT          NOT NULL,
    code             VARCHAR(64)  NOT NULL,
    kind             INT          NOT NULL,
    description      VARCHAR(200) NOT NULL,
    quantity         BIGINT       NOT NULL,
    unit_price_minor BIGINT       NOT NULL,
    amount_minor     BIGINT       NOT NULL,
    discount_minor   BIGINT       NOT NULL,
    PRIMARY KEY (owner_id, position)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE warranty_claims (
    id               VARCHAR(32)  NOT NULL,
    partner_id       VARCHAR(32)  NOT NULL,
    ticket_id        VARCHAR(32)  NOT NULL,
    state            INT          NOT NULL,
    ticket_type      INT          NOT NULL,
    product_model    VARCHAR(100) NOT NULL,
    fault_category   VARCHAR(40)  NOT NULL,
    fault_code       VARCHAR(40)  NOT NULL,
    schedule_id      VARCHAR(32)  NOT NULL,
    currency         VARCHAR(3)   NOT NULL,
    claimed_minor    BIGINT       NOT NULL,
    approved_minor   BIGINT       NOT NULL,
    review_reason    TEXT         NOT NULL,
    reviewer_id      VARCHAR(32)  NOT NULL,
    resolve_time     DATETIME(6)  NOT NULL,
    review_time      DATETIME(6)  NULL,
    payable_time     DATETIME(6)  NULL,
    settlement_month VARCHAR(7)   NOT NULL,
    create_time      DATETIME(6)  NOT NULL,
    update_time      DATETIME(6)  NOT NULL,
    version          BIGINT       NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY idx_warranty_claims_ticket (ticket_id),
    KEY idx_warranty_claims_partner_create (partner_id, create_time, id),
    KEY idx_warranty_claims_payable (partner_id, state, payable_time),
    KEY idx_warranty_claims_settlement (partner_id, settlement_month),
    KEY idx_warranty_claims_resolve (resolve_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE settlements (
    partner_id  VARCHAR(32)  NOT NULL,
    month       VARCHAR(7)   NOT NULL,
    claim_count BIGINT       NOT NULL,
    totals      TEXT         NOT NULL,
    issue_time  DATETIME(6)  NOT NULL,
    issued_by   VARCHAR(100) NOT NULL,
    PRIMARY KEY (partner_id, month)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE settlements;
DROP TABLE warranty_claims;
DROP TABLE charge_lines;
DROP TABLE ticket_quotes;
DROP TABLE fee_categories;
DROP TABLE fee_lines;
DROP TABLE fee_schedules;
