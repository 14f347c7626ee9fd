-- Follow-up visits and surveys. Conventions as in 00001_init.sql.

-- +goose Up
CREATE TABLE follow_ups (
    id             VARCHAR(32)  NOT NULL,
    ticket_id      VARCHAR(32)  NOT NULL,
    customer_id    VARCHAR(32)  NOT NULL,
    origin         INT          NOT NULL,
    method         INT          NOT NULL,
    state          INT          NOT NULL,
    assignee_id    VARCHAR(32)  NOT NULL,
    scheduled_time DATETIME(6)  NOT NULL,
    due_time       DATETIME(6)  NOT NULL,
    note           TEXT         NOT NULL,
    attempts       TEXT         NOT NULL,
    attempt_count  INT          NOT NULL,
    satisfaction   INT          NOT NULL,
    nps            INT          NULL,
    issue_resolved BOOLEAN      NULL,
    survey_comment TEXT         NOT NULL,
    submit_time    DATETIME(6)  NULL,
    performed_by   VARCHAR(80)  NOT NULL,
    complaint_id   VARCHAR(32)  NOT NULL,
    end_time       DATETIME(6)  NULL,
    create_time    DATETIME(6)  NOT NULL,
    update_time    DATETIME(6)  NOT NULL,
    version        BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_follow_ups_ticket (ticket_id),
    KEY idx_follow_ups_customer (customer_id, create_time),
    KEY idx_follow_ups_state_due (state, due_time),
    KEY idx_follow_ups_state (state, create_time),
    KEY idx_follow_ups_assignee (assignee_id, create_time),
    KEY idx_follow_ups_create (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE follow_ups;
