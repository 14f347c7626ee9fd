-- Courses, enrolments, assessments and qualification. SQLite twin of
-- ../mysql/00007_training.sql. Existing staff start QUALIFIED (2): no course is
-- required yet, so they all meet every requirement.

-- +goose Up
CREATE TABLE courses (
    id                TEXT  NOT NULL,
    display_name      TEXT NOT NULL,
    description       TEXT         NOT NULL,
    category          INTEGER          NOT NULL,
    required_roles    TEXT NOT NULL,
    passing_score     INTEGER          NOT NULL,
    weight_attitude   INTEGER          NOT NULL,
    weight_efficiency INTEGER          NOT NULL,
    weight_quality    INTEGER          NOT NULL,
    weight_knowledge  INTEGER          NOT NULL,
    validity_seconds  INTEGER       NOT NULL,
    create_time       DATETIME  NOT NULL,
    update_time       DATETIME  NOT NULL,
    version           INTEGER       NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_courses_create ON courses (create_time);

CREATE TABLE enrollments (
    id            TEXT  NOT NULL,
    staff_id      TEXT  NOT NULL,
    course_id     TEXT  NOT NULL,
    state         INTEGER          NOT NULL,
    reason        INTEGER          NOT NULL,
    due_time      DATETIME  NOT NULL,
    assessment_id TEXT  NOT NULL,
    complete_time DATETIME  NULL,
    enrolled_by   TEXT  NOT NULL,
    create_time   DATETIME  NOT NULL,
    update_time   DATETIME  NOT NULL,
    version       INTEGER       NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_enrollments_staff ON enrollments (staff_id, create_time);
CREATE INDEX idx_enrollments_course ON enrollments (course_id);
CREATE INDEX idx_enrollments_create ON enrollments (create_time);

CREATE TABLE assessments (
    id               TEXT  NOT NULL,
    staff_id         TEXT  NOT NULL,
    course_id        TEXT  NOT NULL,
    score_attitude   INTEGER          NOT NULL,
    score_efficiency INTEGER          NOT NULL,
    score_quality    INTEGER          NOT NULL,
    score_knowledge  INTEGER          NOT NULL,
    total_centi      INTEGER       NOT NULL,
    passed           BOOLEAN      NOT NULL,
    passing_score    INTEGER          NOT NULL,
    assessor         TEXT  NOT NULL,
    note             TEXT         NOT NULL,
    valid_until      DATETIME  NULL,
    create_time      DATETIME  NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_assessments_staff_course ON assessments (staff_id, course_id, create_time);
CREATE INDEX idx_assessments_staff ON assessments (staff_id, create_time);
CREATE INDEX idx_assessments_create ON assessments (create_time);

CREATE TABLE qualification_changes (
    id            TEXT  NOT NULL,
    staff_id      TEXT  NOT NULL,
    from_state    INTEGER          NOT NULL,
    to_state      INTEGER          NOT NULL,
    reason        TEXT         NOT NULL,
    assessment_id TEXT  NOT NULL,
    create_time   DATETIME  NOT NULL,
    PRIMARY KEY (id)
);
CREATE INDEX idx_qualification_changes_staff ON qualification_changes (staff_id, create_time);

ALTER TABLE staff ADD COLUMN qualification_state INTEGER NOT NULL DEFAULT 2;
ALTER TABLE staff ADD COLUMN qualification_expire_time DATETIME NULL;
CREATE INDEX idx_staff_qualification ON staff (qualification_state, create_time);
CREATE INDEX idx_staff_qualification_expire ON staff (qualification_expire_time);

-- +goose Down
DROP INDEX idx_staff_qualification_expire;
DROP INDEX idx_staff_qualification;
ALTER TABLE staff DROP COLUMN qualification_expire_time;
ALTER TABLE staff DROP COLUMN qualification_state;
DROP TABLE qualification_changes;
DROP TABLE assessments;
DROP TABLE enrollments;
DROP TABLE courses;
