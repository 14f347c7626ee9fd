-- Follow-up visits and surveys. SQLite twin of ../mysql/00006_follow_ups.sql.

-- +goose Up
CREATE TABLE follow_ups (
    id             TEXT  NOT NULL,
    ticket_id      TEXT  NOT NULL,
    customer_id    TEXT  NOT NULL,
    origin         INTEGER          NOT NULL,
    method         INTEGER          NOT NULL,
    state          INTEGER          NOT NULL,
    assignee_id    TEXT  NOT NULL,
    scheduled_time DATETIME  NOT NULL,
    due_time       DATETIME  NOT NULL,
    note           TEXT         NOT NULL,
    attempts       TEXT         NOT NULL,
    attempt_count  INTEGER          NOT NULL,
    satisfaction   INTEGER          NOT NULL,
    nps            INTEGER          NULL,
    issue_resolved BOOLEAN      NULL,
    survey_comment TEXT         NOT NULL,
    submit_time    DATETIME  NULL,
    performed_by   TEXT  NOT NULL,
    complaint_id   TEXT  NOT NULL,
    end_time       DATETIME  NULL,
    create_time    DATETIME  NOT NULL,
    update_time    DATETIME  NOT NULL,
    version        INTEGER       NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_follow_ups_ticket ON follow_ups (ticket_id);
CREATE INDEX idx_follow_ups_customer ON follow_ups (customer_id, create_time);
CREATE INDEX idx_follow_ups_state_due ON follow_ups (state, due_time);
CREATE INDEX idx_follow_ups_state ON follow_ups (state, create_time);
CREATE INDEX idx_follow_ups_assignee ON follow_ups (assignee_id, create_time);
CREATE INDEX idx_follow_ups_create ON follow_ups (create_time);

-- +goose Down
DROP TABLE follow_ups;
