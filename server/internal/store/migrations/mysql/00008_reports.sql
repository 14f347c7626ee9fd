-- Service-quality reports: per-row facts (what was last counted for each
-- ticket, follow-up and complaint), daily rollups of their counters, the
-- affected units of resolved faults, and the watermarks of the rollup
-- loop; plus update_time indexes so the loop finds changed rows. See
-- server/internal/service/report_rollup.go. Conventions as in 00001_init.sql.

-- +goose Up
CREATE TABLE report_facts (
    kind VARCHAR(16) NOT NULL,
    id   VARCHAR(32) NOT NULL,
    data TEXT        NOT NULL,
    PRIMARY KEY (kind, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE report_rollups (
    scope       VARCHAR(32)  NOT NULL,
    group_kind  INT          NOT NULL,
    day         INT          NOT NULL,
    group_value VARCHAR(100) NOT NULL,
    tickets_opened               BIGINT NOT NULL DEFAULT 0,
    tickets_resolved             BIGINT NOT NULL DEFAULT 0,
    response_count               BIGINT NOT NULL DEFAULT 0,
    response_seconds             BIGINT NOT NULL DEFAULT 0,
    resolution_seconds           BIGINT NOT NULL DEFAULT 0,
    sla_met                      BIGINT NOT NULL DEFAULT 0,
    first_contact_resolved       BIGINT NOT NULL DEFAULT 0,
    first_resolved               BIGINT NOT NULL DEFAULT 0,
    reopened                     BIGINT NOT NULL DEFAULT 0,
    surveys                      BIGINT NOT NULL DEFAULT 0,
    satisfaction_sum             BIGINT NOT NULL DEFAULT 0,
    satisfied                    BIGINT NOT NULL DEFAULT 0,
    nps_answers                  BIGINT NOT NULL DEFAULT 0,
    promoters                    BIGINT NOT NULL DEFAULT 0,
    detractors                   BIGINT NOT NULL DEFAULT 0,
    complaints                   BIGINT NOT NULL DEFAULT 0,
    ack_decided                  BIGINT NOT NULL DEFAULT 0,
    ack_on_time                  BIGINT NOT NULL DEFAULT 0,
    complaint_resolution_decided BIGINT NOT NULL DEFAULT 0,
    complaint_resolved_on_time   BIGINT NOT NULL DEFAULT 0,
    follow_ups_ended             BIGINT NOT NULL DEFAULT 0,
    follow_ups_completed         BIGINT NOT NULL DEFAULT 0,
    response_b00                 BIGINT NOT NULL DEFAULT 0,
    response_b01                 BIGINT NOT NULL DEFAULT 0,
    response_b02                 BIGINT NOT NULL DEFAULT 0,
    response_b03                 BIGINT NOT NULL DEFAULT 0,
    response_b04                 BIGINT NOT NULL DEFAULT 0,
    response_b05                 BIGINT NOT NULL DEFAULT 0,
    response_b06                 BIGINT NOT NULL DEFAULT 0,
    response_b07                 BIGINT NOT NULL DEFAULT 0,
    response_b08                 BIGINT NOT NULL DEFAULT 0,
    response_b09                 BIGINT NOT NULL DEFAULT 0,
    response_b10                 BIGINT NOT NULL DEFAULT 0,
    response_b11                 BIGINT NOT NULL DEFAULT 0,
    response_b12                 BIGINT NOT NULL DEFAULT 0,
    response_b13                 BIGINT NOT NULL DEFAULT 0,
    resolution_b00               BIGINT NOT NULL DEFAULT 0,
    resolution_b01               BIGINT NOT NULL DEFAULT 0,
    resolution_b02               BIGINT NOT NULL DEFAULT 0,
    resolution_b03               BIGINT NOT NULL DEFAULT 0,
    resolution_b04               BIGINT NOT NULL DEFAULT 0,
    resolution_b05               BIGINT NOT NULL DEFAULT 0,
    resolution_b06               BIGINT NOT NULL DEFAULT 0,
    resolution_b07               BIGINT NOT NULL DEFAULT 0,
    resolution_b08               BIGINT NOT NULL DEFAULT 0,
    resolution_b09               BIGINT NOT NULL DEFAULT 0,
    resolution_b10               BIGINT NOT NULL DEFAULT 0,
    resolution_b11               BIGINT NOT NULL DEFAULT 0,
    resolution_b12               BIGINT NOT NULL DEFAULT 0,
    resolution_b13               BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, group_kind, day, group_value)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE report_faults (
    ticket_id      VARCHAR(32)  NOT NULL,
    partner_id     VARCHAR(32)  NOT NULL,
    day            INT          NOT NULL,
    product_model  VARCHAR(100) NOT NULL,
    fault_category VARCHAR(40)  NOT NULL,
    fault_code     VARCHAR(40)  NOT NULL,
    serial_number  VARCHAR(64)  NOT NULL,
    purchase_month VARCHAR(7)   NOT NULL,
    PRIMARY KEY (ticket_id),
    KEY idx_report_faults_day (day, product_model),
    KEY idx_report_faults_partner_day (partner_id, day)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE report_watermarks (
    source      VARCHAR(32) NOT NULL,
    update_time DATETIME(6) NOT NULL,
    last_id     VARCHAR(32) NOT NULL,
    PRIMARY KEY (source)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE INDEX idx_tickets_update ON tickets (update_time, id);
CREATE INDEX idx_complaints_update ON complaints (update_time, id);
CREATE INDEX idx_follow_ups_update ON follow_ups (update_time, id);

-- +goose Down
DROP INDEX idx_follow_ups_update ON follow_ups;
DROP INDEX idx_complaints_update ON complaints;
DROP INDEX idx_tickets_update ON tickets;
DROP TABLE report_watermarks;
DROP TABLE report_faults;
DROP TABLE report_rollups;
DROP TABLE report_facts;
