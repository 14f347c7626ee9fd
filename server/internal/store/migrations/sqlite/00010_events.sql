-- The change feed and its webhooks: see ../mysql/00010_events.sql.
-- AUTOINCREMENT keeps ids of purged events from being reused.

-- +goose Up
CREATE TABLE events (
    id               INTEGER  NOT NULL PRIMARY KEY AUTOINCREMENT,
    seq              INTEGER  NULL,
    type             TEXT     NOT NULL,
    resource         TEXT     NOT NULL,
    resource_type    TEXT     NOT NULL,
    customer_id      TEXT     NOT NULL,
    partner_id       TEXT     NOT NULL,
    assignee_id      TEXT     NOT NULL,
    first_contact_id TEXT     NOT NULL,
    internal         BOOLEAN  NOT NULL,
    principal        TEXT     NOT NULL,
    data             BLOB     NOT NULL,
    create_time      DATETIME NOT NULL
);
CREATE UNIQUE INDEX uq_events_seq ON events (seq);
CREATE INDEX idx_events_customer ON events (customer_id);
CREATE INDEX idx_events_partner ON events (partner_id);

CREATE TABLE event_cursors (
    name     TEXT    NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (name)
);

-- The sequencer's row, which its runs lock (store.SequenceEvents).
INSERT INTO event_cursors (name, position) VALUES ('sequenced', 0);

CREATE TABLE webhooks (
    id                TEXT     NOT NULL,
    display_name      TEXT     NOT NULL,
    url               TEXT     NOT NULL,
    event_types       TEXT     NOT NULL,
    secret            TEXT     NOT NULL,
    partner_id        TEXT     NOT NULL,
    enabled           BOOLEAN  NOT NULL,
    disabled_reason   TEXT     NOT NULL,
    delivered_seq     INTEGER  NOT NULL,
    attempts          INTEGER  NOT NULL,
    failing_since     DATETIME NULL,
    next_attempt_time DATETIME NULL,
    create_time       DATETIME NOT NULL,
    update_time       DATETIME NOT NULL,
    version           INTEGER  NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_webhooks_create ON webhooks (create_time, id);
CREATE INDEX idx_webhooks_partner ON webhooks (partner_id, create_time, id);

CREATE TABLE webhook_deliveries (
    id          TEXT     NOT NULL,
    webhook_id  TEXT     NOT NULL,
    event_seq   INTEGER  NOT NULL,
    event_type  TEXT     NOT NULL,
    attempt     INTEGER  NOT NULL,
    status_code INTEGER  NOT NULL,
    success     BOOLEAN  NOT NULL,
    error       TEXT     NOT NULL,
    latency_us  INTEGER  NOT NULL,
    redelivery  BOOLEAN  NOT NULL,
    create_time DATETIME NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (webhook_id, create_time, id);

-- +goose Down
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhooks;
DROP TABLE IF EXISTS event_cursors;
DROP TABLE IF EXISTS events;
