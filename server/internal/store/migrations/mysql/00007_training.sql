-- Courses, enrolments, assessments and qualification. Conventions as in
-- 00001_init.sql. Existing staff start QUALIFIED (2): no course is
-- required yet, so they all meet every requirement.

-- +goose Up
CREATE TABLE courses (
    id                VARCHAR(32)  NOT NULL,
    display_name      VARCHAR(200) NOT NULL,
    description       TEXT         NOT NULL,
    category          INT          NOT NULL,
    required_roles    VARCHAR(100) NOT NULL,
    passing_score     INT          NOT NULL,
    weight_attitude   INT          NOT NULL,
    weight_efficiency INT          NOT NULL,
    weight_quality    INT          NOT NULL,
    weight_knowledge  INT          NOT NULL,
    validity_seconds  BIGINT       NOT NULL,
    create_time       DATETIME(6)  NOT NULL,
    update_time       DATETIME(6)  NOT NULL,
    version           BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_courses_create (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE enrollments (
    id            VARCHAR(32)  NOT NULL,
    staff_id      VARCHAR(32)  NOT NULL,
    course_id     VARCHAR(32)  NOT NULL,
    state         INT          NOT NULL,
    reason        INT          NOT NULL,
    due_time      DATETIME(6)  NOT NULL,
    assessment_id VARCHAR(32)  NOT NULL,
    complete_time DATETIME(6)  NULL,
    enrolled_by   VARCHAR(80)  NOT NULL,
    create_time   DATETIME(6)  NOT NULL,
    update_time   DATETIME(6)  NOT NULL,
    version       BIGINT       NOT NULL,
    PRIMARY KEY (id),
    KEY idx_enrollments_staff (staff_id, create_time),
    KEY idx_enrollments_course (course_id),
    KEY idx_enrollments_create (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE assessments (
    id               VARCHAR(32)  NOT NULL,
    staff_id         VARCHAR(32)  NOT NULL,
    course_id        VARCHAR(32)  NOT NULL,
    score_attitude   INT          NOT NULL,
    score_efficiency INT          NOT NULL,
    score_quality    INT          NOT NULL,
    score_knowledge  INT          NOT NULL,
    total_centi      BIGINT       NOT NULL,
    passed           BOOLEAN      NOT NULL,
    passing_score    INT          NOT NULL,
    assessor         VARCHAR(80)  NOT NULL,
    note             TEXT         NOT NULL,
    valid_until      DATETIME(6)  NULL,
    create_time      DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_assessments_staff_course (staff_id, course_id, create_time),
    KEY idx_assessments_staff (staff_id, create_time),
    KEY idx_assessments_create (create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE qualification_changes (
    id            VARCHAR(32)  NOT NULL,
    staff_id      VARCHAR(32)  NOT NULL,
    from_state    INT          NOT NULL,
    to_state      INT          NOT NULL,
    reason        TEXT         NOT NULL,
    assessment_id VARCHAR(32)  NOT NULL,
    create_time   DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_qualification_changes_staff (staff_id, create_time)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE staff
    ADD COLUMN qualification_state INT NOT NULL DEFAULT 2,
    ADD COLUMN qualification_expire_time DATETIME(6) NULL;
CREATE INDEX idx_staff_qualification ON staff (qualification_state, create_time);
CREATE INDEX idx_staff_qualification_expire ON staff (qualification_expire_time);

-- +goose Down
DROP INDEX idx_staff_qualification_expire ON staff;
DROP INDEX idx_staff_qualification ON staff;
ALTER TABLE staff DROP COLUMN qualification_expire_time, DROP COLUMN qualification_state;
DROP TABLE qualification_changes;
DROP TABLE assessments;
DROP TABLE enrollments;
DROP TABLE courses;
