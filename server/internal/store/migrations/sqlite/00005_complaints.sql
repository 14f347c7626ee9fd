-- Complaints, their timelines, and the accountability records of upheld
-- complaints. SQLite twin of ../mysql/00005_complaints.sql.

-- +goose Up
CREATE TABLE complaints (
    id                     TEXT  NOT NULL,
    customer_id            TEXT  NOT NULL,
    ticket_id              TEXT  NOT NULL,
    product_id             TEXT  NOT NULL,
    follow_up_id           TEXT  NOT NULL,
    channel                INTEGER          NOT NULL,
    category               INTEGER          NOT NULL,
    severity               INTEGER          NOT NULL,
    title                  TEXT NOT NULL,
    description            TEXT         NOT NULL,
    desired_remedy         INTEGER          NOT NULL,
    state                  INTEGER          NOT NULL,
    received_by_id         TEXT  NOT NULL,
    handler_id             TEXT  NOT NULL,
    responsible_staff_id   TEXT  NOT NULL,
    responsible_manager_id TEXT  NOT NULL,
    escalation_level       INTEGER          NOT NULL,
    escalated_to_id        TEXT  NOT NULL,
    acknowledge_due        DATETIME  NOT NULL,
    resolve_due            DATETIME  NOT NULL,
    acknowledge_overdue    BOOLEAN      NOT NULL,
    resolve_overdue        BOOLEAN      NOT NULL,
    next_check_time        DATETIME  NULL,
    acknowledge_time       DATETIME  NULL,
    outcome                INTEGER          NOT NULL,
    granted_remedy         INTEGER          NOT NULL,
    resolution_summary     TEXT         NOT NULL,
    compensation_currency  TEXT   NOT NULL,
    compensation_minor     INTEGER       NOT NULL,
    resolve_time           DATETIME  NULL,
    complainant_accepted   BOOLEAN      NOT NULL,
    close_time             DATETIME  NULL,
    create_time            DATETIME  NOT NULL,
    update_time            DATETIME  NOT NULL,
    version                INTEGER       NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_complaints_customer ON complaints (customer_id, create_time);
CREATE INDEX idx_complaints_ticket ON complaints (ticket_id);
CREATE INDEX idx_complaints_state ON complaints (state, create_time);
CREATE INDEX idx_complaints_handler ON complaints (handler_id, create_time);
CREATE INDEX idx_complaints_responsible ON complaints (responsible_staff_id);
CREATE INDEX idx_complaints_escalated_to ON complaints (escalated_to_id);
CREATE INDEX idx_complaints_next_check ON complaints (next_check_time);
CREATE INDEX idx_complaints_create ON complaints (create_time);

CREATE TABLE complaint_events (
    id           TEXT  NOT NULL,
    complaint_id TEXT  NOT NULL,
    type         INTEGER          NOT NULL,
    actor        TEXT  NOT NULL,
    from_state   INTEGER          NOT NULL,
    to_state     INTEGER          NOT NULL,
    message      TEXT         NOT NULL,
    internal     BOOLEAN      NOT NULL,
    details      TEXT         NOT NULL,
    notify       TEXT         NOT NULL,
    create_time  DATETIME  NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_complaint_events_complaint ON complaint_events (complaint_id, create_time);

CREATE TABLE accountability_records (
    id                   TEXT  NOT NULL,
    staff_id             TEXT  NOT NULL,
    kind                 INTEGER          NOT NULL,
    complaint_id         TEXT  NOT NULL,
    category             INTEGER          NOT NULL,
    severity             INTEGER          NOT NULL,
    responsible_staff_id TEXT  NOT NULL,
    summary              TEXT         NOT NULL,
    create_time          DATETIME  NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_accountability_staff ON accountability_records (staff_id, create_time);
CREATE INDEX idx_accountability_complaint ON accountability_records (complaint_id);
CREATE INDEX idx_accountability_create ON accountability_records (create_time);

-- +goose Down
DROP TABLE accountability_records;
DROP TABLE complaint_events;
DROP TABLE complaints;
