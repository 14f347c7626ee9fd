-- Proactive service campaigns: see ../mysql/00015_campaigns.sql.

-- +goose Up
CREATE TABLE campaigns (
    id             TEXT     NOT NULL,
    display_name   TEXT     NOT NULL,
    description    TEXT     NOT NULL,
    type           INTEGER  NOT NULL,
    state          INTEGER  NOT NULL,
    target         TEXT     NOT NULL,
    free_of_charge BOOLEAN  NOT NULL,
    notice_only    BOOLEAN  NOT NULL,
    owner_id       TEXT     NOT NULL,
    priority       INTEGER  NOT NULL,
    cursor_id      TEXT     NOT NULL,
    cancel_reason  TEXT     NOT NULL,
    create_time    DATETIME NOT NULL,
    update_time    DATETIME NOT NULL,
    launch_time    DATETIME NULL,
    launched_time  DATETIME NULL,
    end_time       DATETIME NULL,
    version        INTEGER  NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_campaigns_create ON campaigns (create_time);
CREATE INDEX idx_campaigns_state ON campaigns (state, create_time);
CREATE INDEX idx_campaigns_owner ON campaigns (owner_id, create_time);

CREATE TABLE campaign_targets (
    id            TEXT     NOT NULL,
    campaign_id   TEXT     NOT NULL,
    product_id    TEXT     NOT NULL,
    customer_id   TEXT     NOT NULL,
    model         TEXT     NOT NULL,
    serial_number TEXT     NOT NULL,
    ticket_id     TEXT     NOT NULL,
    state         INTEGER  NOT NULL,
    note          TEXT     NOT NULL,
    create_time   DATETIME NOT NULL,
    update_time   DATETIME NOT NULL,
    end_time      DATETIME NULL,
    version       INTEGER  NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX uq_campaign_targets_product ON campaign_targets (campaign_id, product_id);
CREATE INDEX idx_campaign_targets_campaign ON campaign_targets (campaign_id, create_time);
CREATE INDEX idx_campaign_targets_state ON campaign_targets (campaign_id, state, create_time);
CREATE INDEX idx_campaign_targets_customer ON campaign_targets (customer_id, campaign_id);
CREATE INDEX idx_campaign_targets_ticket ON campaign_targets (ticket_id);

CREATE INDEX idx_tickets_campaign ON tickets (campaign_id, create_time);

-- +goose Down
DROP INDEX idx_tickets_campaign;
DROP TABLE campaign_targets;
DROP TABLE campaigns;
