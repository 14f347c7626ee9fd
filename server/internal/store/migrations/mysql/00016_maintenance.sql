-- Preventive maintenance plans (issue 15). Conventions as in
-- 00001_init.sql.
--
-- maintenance_plans.active_model is the plan's model while it is active
-- and NULL otherwise: its UNIQUE key is "at most one active plan per
-- model" (NULLs never collide). seed_time/seed_id is how far the
-- maintenance loop has given the model's products their schedule, in
-- (update_time, id) order, through idx_products_model_update: a product
-- registered, or corrected to the model, since then comes after it.
--
-- maintenance_schedule holds each product's next due date under a plan;
-- NULL while a visit of it is open (its ticket's end sets the next one).
-- The loop finds due work by a range of idx_maintenance_schedule_due.
--
-- maintenance_visits: one row per product, plan and due date; the UNIQUE
-- key makes a second replica or a retried pass unable to open it twice.

-- +goose Up
CREATE TABLE maintenance_plans (
    id              VARCHAR(32)  NOT NULL,
    display_name    VARCHAR(200) NOT NULL,
    description     TEXT         NOT NULL,
    model           VARCHAR(100) NOT NULL,
    interval_months INT          NOT NULL,
    lead_seconds    BIGINT       NOT NULL,
    ticket_type     INT          NOT NULL,
    priority        INT          NOT NULL,
    reminder_only   BOOLEAN      NOT NULL,
    free_of_charge  BOOLEAN      NOT NULL,
    owner_id        VARCHAR(32)  NOT NULL,
    active          BOOLEAN      NOT NULL,
    active_model    VARCHAR(100) NULL,
    seed_time       DATETIME(6)  NULL,
    seed_id         VARCHAR(32)  NOT NULL,
    create_time     DATETIME(6)  NOT NULL,
    update_time     DATETIME(6)  NOT NULL,
    version         BIGINT       NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY idx_maintenance_plans_active_model (active_model),
    KEY idx_maintenance_plans_create (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE maintenance_schedule (
    plan_id       VARCHAR(32) NOT NULL,
    product_id    VARCHAR(32) NOT NULL,
    next_due_time DATETIME(6) NULL,
    PRIMARY KEY (plan_id, product_id),
    KEY idx_maintenance_schedule_due (plan_id, next_due_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE maintenance_visits (
    id            VARCHAR(32) NOT NULL,
    plan_id       VARCHAR(32) NOT NULL,
    product_id    VARCHAR(32) NOT NULL,
    customer_id   VARCHAR(32) NOT NULL,
    serial_number VARCHAR(64) NOT NULL,
    due_time      DATETIME(6) NOT NULL,
    ticket_id     VARCHAR(32) NOT NULL,
    state         INT         NOT NULL,
    next_due_time DATETIME(6) NULL,
    create_time   DATETIME(6) NOT NULL,
    end_time      DATETIME(6) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY idx_maintenance_visits_due (plan_id, product_id, due_time),
    KEY idx_maintenance_visits_plan (plan_id, create_time),
    KEY idx_maintenance_visits_ticket (ticket_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE INDEX idx_products_model_update ON products (model, update_time, id);

-- +goose Down
DROP INDEX idx_products_model_update ON products;
DROP TABLE maintenance_visits;
DROP TABLE maintenance_schedule;
DROP TABLE maintenance_plans;
