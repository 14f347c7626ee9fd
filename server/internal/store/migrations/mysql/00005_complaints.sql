-- Complaints, their timelines, and the accountability records of upheld
-- complaints. Conventions as in 00001_init.sql.

-- +goose Up
CREATE TABLE complaints (
    id                     VARCHAR(32)  NOT NULL,
    customer_id            VARCHAR(32)  NOT NULL,
    ticket_id              VARCHAR(32)  NOT NULL,
    product_id             VARCHAR(32)  NOT NULL,
    follow_up_id           VARCHAR(32)  NOT NULL,
    channel                INT          NOT NULL,
    category               INT          NOT NULL,
    severity               INT          NOT NULL,
    title                  VARCHAR(200) NOT NULL,
    description            TEXT         NOT NULL,
    desired_remedy         INT          NOT NULL,
    state                  INT          NOT NULL,
    received_by_id         VARCHAR(32)  NOT NULL,
    handler_id             VARCHAR(32)  NOT NULL,
    responsible_staff_id   VARCHAR(32)  NOT NULL,
    responsible_manager_id VARCHAR(32)  NOT NULL,
    escalation_level       INT          NOT NULL,
    escalated_to_id        VARCHAR(32)  NOT NULL,
    acknowledge_due        DATETIME(6)  NOT NULL,
    resolve_due            DATETIME(6)  NOT NULL,
    acknowledge_overdue    BOOLEAN      NOT NULL,
    resolve_overdue        BOOLEAN      NOT NULL,
    next_check_time        DATETIME(6)  NULL,
    acknowledge_time       DATETIME(6)  NULL,
    outcome                INT          NOT NULL,
    granted_remedy         INT          NOT NULL,
    resolution_summary     TEXT         NOT NULL,
    compensation_currency  VARCHAR(3)   NOT NULL,
    compensation_minor     BIGINT       NOT NULL,
    resolve_time           DATETIME(6)  NULL,
    complainant_accepted   BOOLEAN      NOT NULL,
    close_time             DATETIME(6)  NULL,
    create_time            DATETIME(6)  NOT NULL,
    update_time            DATETIME(6)  NOT NULL,
    version                BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_complaints_customer (customer_id, create_time),
    KEY idx_complaints_ticket (ticket_id),
    KEY idx_complaints_state (state, create_time),
    KEY idx_complaints_handler (handler_id, create_time),
    KEY idx_complaints_responsible (responsible_staff_id),
    KEY idx_complaints_escalated_to (escalated_to_id),
    KEY idx_complaints_next_check (next_check_time),
    KEY idx_complaints_create (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE complaint_events (
    id           VARCHAR(32)  NOT NULL,
    complaint_id VARCHAR(32)  NOT NULL,
    type         INT          NOT NULL,
    actor        VARCHAR(80)  NOT NULL,
    from_state   INT          NOT NULL,
    to_state     INT          NOT NULL,
    message      TEXT         NOT NULL,
    internal     BOOLEAN      NOT NULL,
    details      TEXT         NOT NULL,
    notify       TEXT         NOT NULL,
    create_time  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_complaint_events_complaint (complaint_id, create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE accountability_records (
    id                   VARCHAR(32)  NOT NULL,
    staff_id             VARCHAR(32)  NOT NULL,
    kind                 INT          NOT NULL,
    complaint_id         VARCHAR(32)  NOT NULL,
    category             INT          NOT NULL,
    severity             INT          NOT NULL,
    responsible_staff_id VARCHAR(32)  NOT NULL,
    summary              TEXT         NOT NULL,
    create_time          DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_accountability_staff (staff_id, create_time),
    KEY idx_accountability_complaint (complaint_id),
    KEY idx_accountability_create (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE accountability_records;
DROP TABLE complaint_events;
DROP TABLE complaints;
