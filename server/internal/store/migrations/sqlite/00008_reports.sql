-- Service-quality reports. SQLite twin of ../mysql/00008_reports.sql.

-- +goose Up
CREATE TABLE report_facts (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE TABLE report_rollups (
    scope       TEXT    NOT NULL,
    group_kind  INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    group_value TEXT    NOT NULL,
    tickets_opened               INTEGER NOT NULL DEFAULT 0,
    tickets_resolved             INTEGER NOT NULL DEFAULT 0,
    response_count               INTEGER NOT NULL DEFAULT 0,
    response_seconds             INTEGER NOT NULL DEFAULT 0,
    resolution_seconds           INTEGER NOT NULL DEFAULT 0,
    sla_met                      INTEGER NOT NULL DEFAULT 0,
    first_contact_resolved       INTEGER NOT NULL DEFAULT 0,
    first_resolved               INTEGER NOT NULL DEFAULT 0,
    reopened                     INTEGER NOT NULL DEFAULT 0,
    surveys                      INTEGER NOT NULL DEFAULT 0,
    satisfaction_sum             INTEGER NOT NULL DEFAULT 0,
    satisfied                    INTEGER NOT NULL DEFAULT 0,
    nps_answers                  INTEGER NOT NULL DEFAULT 0,
    promoters                    INTEGER NOT NULL DEFAULT 0,
    detractors                   INTEGER NOT NULL DEFAULT 0,
    complaints                   INTEGER NOT NULL DEFAULT 0,
    ack_decided                  INTEGER NOT NULL DEFAULT 0,
    ack_on_time                  INTEGER NOT NULL DEFAULT 0,
    complaint_resolution_decided INTEGER NOT NULL DEFAULT 0,
    complaint_resolved_on_time   INTEGER NOT NULL DEFAULT 0,
    follow_ups_ended             INTEGER NOT NULL DEFAULT 0,
    follow_ups_completed         INTEGER NOT NULL DEFAULT 0,
    response_b00                 INTEGER NOT NULL DEFAULT 0,
    response_b01                 INTEGER NOT NULL DEFAULT 0,
    response_b02                 INTEGER NOT NULL DEFAULT 0,
    response_b03                 INTEGER NOT NULL DEFAULT 0,
    response_b04                 INTEGER NOT NULL DEFAULT 0,
    response_b05                 INTEGER NOT NULL DEFAULT 0,
    response_b06                 INTEGER NOT NULL DEFAULT 0,
    response_b07                 INTEGER NOT NULL DEFAULT 0,
    response_b08                 INTEGER NOT NULL DEFAULT 0,
    response_b09                 INTEGER NOT NULL DEFAULT 0,
    response_b10                 INTEGER NOT NULL DEFAULT 0,
    response_b11                 INTEGER NOT NULL DEFAULT 0,
    response_b12                 INTEGER NOT NULL DEFAULT 0,
    response_b13                 INTEGER NOT NULL DEFAULT 0,
    resolution_b00               INTEGER NOT NULL DEFAULT 0,
    resolution_b01               INTEGER NOT NULL DEFAULT 0,
    resolution_b02               INTEGER NOT NULL DEFAULT 0,
    resolution_b03               INTEGER NOT NULL DEFAULT 0,
    resolution_b04               INTEGER NOT NULL DEFAULT 0,
    resolution_b05               INTEGER NOT NULL DEFAULT 0,
    resolution_b06               INTEGER NOT NULL DEFAULT 0,
    resolution_b07               INTEGER NOT NULL DEFAULT 0,
    resolution_b08               INTEGER NOT NULL DEFAULT 0,
    resolution_b09               INTEGER NOT NULL DEFAULT 0,
    resolution_b10               INTEGER NOT NULL DEFAULT 0,
    resolution_b11               INTEGER NOT NULL DEFAULT 0,
    resolution_b12               INTEGER NOT NULL DEFAULT 0,
    resolution_b13               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, group_kind, day, group_value)
);

CREATE TABLE report_faults (
    ticket_id      TEXT    NOT NULL,
    partner_id     TEXT    NOT NULL,
    day            INTEGER NOT NULL,
    product_model  TEXT    NOT NULL,
    fault_category TEXT    NOT NULL,
    fault_code     TEXT    NOT NULL,
    serial_number  TEXT    NOT NULL,
    purchase_month TEXT    NOT NULL,
    PRIMARY KEY (ticket_id)
);
CREATE INDEX idx_report_faults_day ON report_faults (day, product_model);
CREATE INDEX idx_report_faults_partner_day ON report_faults (partner_id, day);

CREATE TABLE report_watermarks (
    source      TEXT     NOT NULL,
    update_time DATETIME NOT NULL,
    last_id     TEXT     NOT NULL,
    PRIMARY KEY (source)
);

CREATE INDEX idx_tickets_update ON tickets (update_time, id);
CREATE INDEX idx_complaints_update ON complaints (update_time, id);
CREATE INDEX idx_follow_ups_update ON follow_ups (update_time, id);

-- +goose Down
DROP INDEX idx_follow_ups_update;
DROP INDEX idx_complaints_update;
DROP INDEX idx_tickets_update;
DROP TABLE report_watermarks;
DROP TABLE report_faults;
DROP TABLE report_rollups;
DROP TABLE report_facts;
