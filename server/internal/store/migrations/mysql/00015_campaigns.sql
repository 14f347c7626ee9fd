-- Proactive service campaigns (issue 15). Conventions as in 00001_init.sql.
--
-- campaigns: one row per campaign. The target criteria are kept as the
-- JSON text of TargetCriteria: campaigns are never searched by them (the
-- launch worker and PreviewCampaign query products with them). cursor is
-- the id of the last product the launch worker reached: each batch
-- continues after it (keyset), so a restart resumes where the last
-- committed batch ended.
--
-- campaign_targets: one row per product a campaign reached. The UNIQUE
-- KEY on (campaign_id, product_id) is what makes a product reached at most
-- once per campaign, whatever replica or retry inserts it.
--
-- tickets.campaign_id gets an index for ListTickets' `campaign` filter.
--
-- products.region (00014) is filled in by the service from now on. Rows
-- written before keep region '' until they or their customer change:
-- a region target does not reach them before (the install address and
-- the customer's address are JSON text, and deriving the region in SQL
-- would need the same code in two dialects).

-- +goose Up
CREATE TABLE campaigns (
    id             VARCHAR(32)  NOT NULL,
    display_name   VARCHAR(200) NOT NULL,
    description    TEXT         NOT NULL,
    type           INT          NOT NULL,
    state          INT          NOT NULL,
    target         TEXT         NOT NULL,
    free_of_charge BOOLEAN      NOT NULL,
    notice_only    BOOLEAN      NOT NULL,
    owner_id       VARCHAR(32)  NOT NULL,
    priority       INT          NOT NULL,
    cursor_id      VARCHAR(32)  NOT NULL,
    cancel_reason  TEXT         NOT NULL,
    create_time    DATETIME(6)  NOT NULL,
    update_time    DATETIME(6)  NOT NULL,
    launch_time    DATETIME(6)  NULL,
    launched_time  DATETIME(6)  NULL,
    end_time       DATETIME(6)  NULL,
    version        BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_campaigns_create (create_time),
    KEY idx_campaigns_state (state, create_time),
    KEY idx_campaigns_owner (owner_id, create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE campaign_targets (
    id            VARCHAR(32)  NOT NULL,
    campaign_id   VARCHAR(32)  NOT NULL,
    product_id    VARCHAR(32)  NOT NULL,
    customer_id   VARCHAR(32)  NOT NULL,
    model         VARCHAR(100) NOT NULL,
    serial_number VARCHAR(64)  NOT NULL,
    ticket_id     VARCHAR(32)  NOT NULL,
    state         INT          NOT NULL,
    note          TEXT         NOT NULL,
    create_time   DATETIME(6)  NOT NULL,
    update_time   DATETIME(6)  NOT NULL,
    end_time      DATETIME(6)  NULL,
    version       BIGINT       NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_campaign_targets_product (campaign_id, product_id),
    KEY idx_campaign_targets_campaign (campaign_id, create_time),
    KEY idx_campaign_targets_state (campaign_id, state, create_time),
    KEY idx_campaign_targets_customer (customer_id, campaign_id),
    KEY idx_campaign_targets_ticket (ticket_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE tickets ADD INDEX idx_tickets_campaign (campaign_id, create_time);

-- +goose Down
ALTER TABLE tickets DROP INDEX idx_tickets_campaign;
DROP TABLE campaign_targets;
DROP TABLE campaigns;
