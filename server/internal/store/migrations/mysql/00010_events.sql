-- The change feed and its webhooks. See server/internal/service/outbox.go
-- and event.go. Conventions as in 00001_init.sql, with one exception:
--
--   * events.id is AUTO_INCREMENT. The outbox needs the order in which a
--     resource's changes were written, and a row lock serialises them, so
--     an id allocated at insert time gives that order; a random id cannot.
--     The id is never exposed: readers see seq, which the leased
--     sequencer assigns in the order events become visible (a committed
--     event with a smaller id can appear after a larger one, so the id
--     itself is no cursor). seq is NULL until then.

-- +goose Up
CREATE TABLE events (
    id               BIGINT       NOT NULL AUTO_INCREMENT,
    seq              BIGINT       NULL,
    type             VARCHAR(64)  NOT NULL,
    resource         VARCHAR(200) NOT NULL,
    resource_type    VARCHAR(32)  NOT NULL,
    customer_id      VARCHAR(32)  NOT NULL,
    partner_id       VARCHAR(32)  NOT NULL,
    assignee_id      VARCHAR(32)  NOT NULL,
    first_contact_id VARCHAR(32)  NOT NULL,
    internal         BOOLEAN      NOT NULL,
    principal        VARCHAR(80)  NOT NULL,
    data             MEDIUMBLOB   NOT NULL,
    create_time      DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_events_seq (seq),
    -- Scoped readers (a customer, a shop) find their events here; seq
    -- stays out of these keys so that numbering an event updates one
    -- secondary index, not three.
    KEY idx_events_customer (customer_id),
    KEY idx_events_partner (partner_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Named positions in the feed: how far retention has purged ("purged"),
-- how far the NATS publisher has published ("nats").
CREATE TABLE event_cursors (
    name     VARCHAR(32) NOT NULL,
    position BIGINT      NOT NULL,
    PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The sequencer's row, which its runs lock (store.SequenceEvents).
INSERT INTO event_cursors (name, position) VALUES ('sequenced', 0);

-- Webhook subscriptions. delivered_seq is the subscription's position in
-- the feed; attempts, failing_since and next_attempt_time describe the
-- retries of the event after it.
CREATE TABLE webhooks (
    id                VARCHAR(32)   NOT NULL,
    display_name      VARCHAR(200)  NOT NULL,
    url               VARCHAR(2048) NOT NULL,
    event_types       VARCHAR(2000) NOT NULL,
    secret            VARCHAR(100)  NOT NULL,
    partner_id        VARCHAR(32)   NOT NULL,
    enabled           BOOLEAN       NOT NULL,
    disabled_reason   VARCHAR(500)  NOT NULL,
    delivered_seq     BIGINT        NOT NULL,
    attempts          INT           NOT NULL,
    failing_since     DATETIME(6)   NULL,
    next_attempt_time DATETIME(6)   NULL,
    create_time       DATETIME(6)   NOT NULL,
    update_time       DATETIME(6)   NOT NULL,
    version           BIGINT        NOT NULL,
    PRIMARY KEY (id),
    KEY idx_webhooks_create (create_time, id),
    KEY idx_webhooks_partner (partner_id, create_time, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per delivery attempt.
CREATE TABLE webhook_deliveries (
    id          VARCHAR(32)  NOT NULL,
    webhook_id  VARCHAR(32)  NOT NULL,
    event_seq   BIGINT       NOT NULL,
    event_type  VARCHAR(64)  NOT NULL,
    attempt     INT          NOT NULL,
    status_code INT          NOT NULL,
    success     BOOLEAN      NOT NULL,
    error       VARCHAR(500) NOT NULL,
    latency_us  BIGINT       NOT NULL,
    redelivery  BOOLEAN      NOT NULL,
    create_time DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_webhook_deliveries_webhook (webhook_id, create_time, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhooks;
DROP TABLE IF EXISTS event_cursors;
DROP TABLE IF EXISTS events;
