package store

import "time"

// Course is a training course. RequiredRoles holds the role numbers as
// ",3,4," so that "required for role r" is a LIKE '%,r,%' on any engine.
type Course struct {
	ID               string    `gorm:"primaryKey;size:32"`
	DisplayName      string    `gorm:"size:200;not null"`
	Description      string    `gorm:"type:text;not null"`
	Category         int32     `gorm:"not null"`
	RequiredRoles    string    `gorm:"size:100;not null"`
	PassingScore     int32     `gorm:"not null"`
	WeightAttitude   int32     `gorm:"not null"`
	WeightEfficiency int32     `gorm:"not null"`
	WeightQuality    int32     `gorm:"not null"`
	WeightKnowledge  int32     `gorm:"not null"`
	ValiditySeconds  int64     `gorm:"not null"`
	CreateTime       time.Time `gorm:"not null;index:idx_courses_create,priority:1"`
	UpdateTime       time.Time `gorm:"not null"`
	Version          int64     `gorm:"not null"`
}

// Enrollment is a staff member's place in a course.
type Enrollment struct {
	ID           string     `gorm:"primaryKey;size:32"`
	StaffID      string     `gorm:"size:32;not null;index:idx_enrollments_staff,priority:1"`
	CourseID     string     `gorm:"size:32;not null;index:idx_enrollments_course"`
	State        int32      `gorm:"not null"`
	Reason       int32      `gorm:"not null"`
	DueTime      time.Time  `gorm:"not null"`
	AssessmentID string     `gorm:"size:32;not null"`
	CompleteTime *time.Time ``
	EnrolledBy   string     `gorm:"size:80;not null"`
	CreateTime   time.Time  `gorm:"not null;index:idx_enrollments_staff,priority:2;index:idx_enrollments_create,priority:1"`
	UpdateTime   time.Time  `gorm:"not null"`
	Version      int64      `gorm:"not null"`
}

// Assessment is one scored assessment. Rows are only ever inserted: a
// correction is a new assessment. TotalCenti is the weighted total times
// 100, so that totals compare exactly on every engine.
type Assessment struct {
	ID              string     `gorm:"primaryKey;size:32"`
	StaffID         string     `gorm:"size:32;not null;index:idx_assessments_staff_course,priority:1;index:idx_assessments_staff,priority:1"`
	CourseID        string     `gorm:"size:32;not null;index:idx_assessments_staff_course,priority:2"`
	ScoreAttitude   int32      `gorm:"not null"`
	ScoreEfficiency int32      `gorm:"not null"`
	ScoreQuality    int32      `gorm:"not null"`
	ScoreKnowledge  int32      `gorm:"not null"`
	TotalCenti      int64      `gorm:"not null"`
	Passed          bool       `gorm:"not null"`
	PassingScore    int32      `gorm:"not null"`
	Assessor        string     `gorm:"size:80;not null"`
	Note            string     `gorm:"type:text;not null"`
	ValidUntil      *time.Time ``
	CreateTime      time.Time  `gorm:"not null;index:idx_assessments_staff_course,priority:3;index:idx_assessments_staff,priority:2;index:idx_assessments_create,priority:1"`
}

// QualificationChange is one change of a staff member's qualification
// state, for their history. Rows are only ever inserted.
type QualificationChange struct {
	ID           string    `gorm:"primaryKey;size:32"`
	StaffID      string    `gorm:"size:32;not null;index:idx_qualification_changes_staff,priority:1"`
	FromState    int32     `gorm:"not null"`
	ToState      int32     `gorm:"not null"`
	Reason       string    `gorm:"type:text;not null"`
	AssessmentID string    `gorm:"size:32;not null"`
	CreateTime   time.Time `gorm:"not null;index:idx_qualification_changes_staff,priority:2"`
}

// TableName implements GORM's tabler.
func (Course) TableName() string { return "courses" }

// TableName implements GORM's tabler.
func (Enrollment) TableName() string { return "enrollments" }

// TableName implements GORM's tabler.
func (Assessment) TableName() string { return "assessments" }

// TableName implements GORM's tabler.
func (QualificationChange) TableName() string { return "qualification_changes" }

// Key returns the row's keyset position.
func (m *Course) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *Enrollment) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *Assessment) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *QualificationChange) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Touch records a change at now.
func (m *Course) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// Touch records a change at now.
func (m *Enrollment) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// CurrentVersion returns the row's version.
func (m *Course) CurrentVersion() int64 { return m.Version }

// CurrentVersion returns the row's version.
func (m *Enrollment) CurrentVersion() int64 { return m.Version }
