-- Preventive maintenance plans. SQLite twin of
-- ../mysql/00016_maintenance.sql, which explains the tables.

-- +goose Up
CREATE TABLE maintenance_plans (
    id              TEXT     NOT NULL,
    display_name    TEXT     NOT NULL,
    description     TEXT     NOT NULL,
    model           TEXT     NOT NULL,
    interval_months INTEGER  NOT NULL,
    lead_seconds    INTEGER  NOT NULL,
    ticket_type     INTEGER  NOT NULL,
    priority        INTEGER  NOT NULL,
    reminder_only   BOOLEAN  NOT NULL,
    free_of_charge  BOOLEAN  NOT NULL,
    owner_id        TEXT     NOT NULL,
    active          BOOLEAN  NOT NULL,
    active_model    TEXT     NULL,
    seed_time       DATETIME NULL,
    seed_id         TEXT     NOT NULL,
    create_time     DATETIME NOT NULL,
    update_time     DATETIME NOT NULL,
    version         INTEGER  NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_maintenance_plans_active_model ON maintenance_plans (active_model);
CREATE INDEX idx_maintenance_plans_create ON maintenance_plans (create_time);

CREATE TABLE maintenance_schedule (
    plan_id       TEXT     NOT NULL,
    product_id    TEXT     NOT NULL,
    next_due_time DATETIME NULL,
    PRIMARY KEY (plan_id, product_id)
);
CREATE INDEX idx_maintenance_schedule_due ON maintenance_schedule (plan_id, next_due_time);

CREATE TABLE maintenance_visits (
    id            TEXT     NOT NULL,
    plan_id       TEXT     NOT NULL,
    product_id    TEXT     NOT NULL,
    customer_id   TEXT     NOT NULL,
    serial_number TEXT     NOT NULL,
    due_time      DATETIME NOT NULL,
    ticket_id     TEXT     NOT NULL,
    state         INTEGER  NOT NULL,
    next_due_time DATETIME NULL,
    create_time   DATETIME NOT NULL,
    end_time      DATETIME NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX idx_maintenance_visits_due ON maintenance_visits (plan_id, product_id, due_time);
CREATE INDEX idx_maintenance_visits_plan ON maintenance_visits (plan_id, create_time);
CREATE INDEX idx_maintenance_visits_ticket ON maintenance_visits (ticket_id);

CREATE INDEX idx_products_model_update ON products (model, update_time, id);

-- +goose Down
DROP INDEX idx_products_model_update;
DROP TABLE maintenance_visits;
DROP TABLE maintenance_schedule;
DROP TABLE maintenance_plans;
