package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// Sentinel errors returned by this package. Callers match them with
// errors.Is; they never need to know about GORM or driver errors.
var (
	// ErrNotFound reports that the requested row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists reports a duplicate primary or unique key.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict reports a lost race with a concurrent writer: an
	// optimistic-concurrency (version/etag) mismatch, a deadlock, a lock
	// wait timeout or a write conflict. Retrying the whole transaction
	// may succeed.
	ErrConflict = errors.New("store: conflict")
	// ErrUnavailable reports that the database could not be reached or
	// did not answer in time. The operation may be retried later.
	ErrUnavailable = errors.New("store: database unavailable")
	// ErrInternal wraps every error this package cannot classify. Its
	// message never includes the cause; use (*Error).Cause to log it.
	ErrInternal = errors.New("store: internal error")
	// ErrNodeNotSynced accompanies ErrUnavailable when the database is a
	// Galera node that answers but is not Synced (it left the primary
	// component or is catching up), so it must not serve.
	ErrNodeNotSynced = errors.New("store: database node not synced")
	// ErrIdempotencyMismatch reports a request id that was already used
	// for a different request.
	ErrIdempotencyMismatch = errors.New("store: request id already used for a different request")
)

// sentinels are the errors that Translate passes through untouched, so
// repository code can return them from inside InTx.
var sentinels = []error{
	ErrNotFound, ErrAlreadyExists, ErrConflict, ErrUnavailable, ErrInternal, ErrIdempotencyMismatch,
}

// Error is a classified database error. Error() is safe to show to
// clients: it names the kind and a fixed reason, never SQL, table names,
// hosts or values. errors.Is matches the kind (one of the sentinels) and,
// for cancellations and deadlines, the context error as well.
type Error struct {
	kind   error
	reason string
	cause  error
}

// Error returns the client-safe message.
func (e *Error) Error() string {
	if e.reason == "" {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.reason
}

// Unwrap exposes the kind but not the cause, so GORM and driver errors
// cannot leak into caller logic. Context errors stay visible because the
// API layer distinguishes a caller's own deadline from an outage, and
// ErrNodeNotSynced because readiness reports it.
func (e *Error) Unwrap() []error {
	errs := []error{e.kind}
	for _, ctxErr := range []error{context.Canceled, context.DeadlineExceeded, ErrNodeNotSynced} {
		if errors.Is(e.cause, ctxErr) {
			errs = append(errs, ctxErr)
		}
	}
	return errs
}

// Cause returns the original error for logging. It must not be sent to
// clients: it may contain SQL, schema names or network addresses.
func (e *Error) Cause() error { return e.cause }

// Translate maps an error from GORM, database/sql or a driver to one of
// this package's sentinels, wrapped in an *Error that keeps the cause for
// logs. Errors that are already translated, and the sentinels themselves,
// are returned unchanged; nil stays nil; anything unrecognised becomes
// ErrInternal.
func Translate(err error) error {
	if err == nil || isTranslated(err) {
		return err
	}
	kind, reason, ok := classify(err)
	if !ok {
		kind, reason = ErrInternal, ""
	}
	return &Error{kind: kind, reason: reason, cause: err}
}

// translateFromTx is Translate for errors returned by an InTx callback:
// errors that do not come from the database (validation, status errors,
// …) belong to the caller and are returned unchanged.
func translateFromTx(err error) error {
	if err == nil || isTranslated(err) {
		return err
	}
	if kind, reason, ok := classify(err); ok {
		return &Error{kind: kind, reason: reason, cause: err}
	}
	return err
}

func isTranslated(err error) bool {
	var se *Error
	if errors.As(err, &se) {
		return true
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// gormErrors are GORM's own sentinels that signal misuse of the ORM
// rather than a database condition; they are internal errors.
var gormErrors = []error{
	gorm.ErrInvalidTransaction, gorm.ErrNotImplemented, gorm.ErrMissingWhereClause,
	gorm.ErrUnsupportedRelation, gorm.ErrPrimaryKeyRequired, gorm.ErrModelValueRequired,
	gorm.ErrModelAccessibleFieldsRequired, gorm.ErrSubQueryRequired, gorm.ErrInvalidData,
	gorm.ErrUnsupportedDriver, gorm.ErrRegistered, gorm.ErrInvalidField, gorm.ErrEmptySlice,
	gorm.ErrDryRunModeUnsupported, gorm.ErrInvalidDB, gorm.ErrInvalidValue,
	gorm.ErrInvalidValueOfLength, gorm.ErrPreloadNotAllowed, gorm.ErrForeignKeyViolated,
	gorm.ErrCheckConstraintViolated, sql.ErrTxDone,
}

// classify reports the kind of a database error and a fixed, client-safe
// reason. ok is false when err does not come from the database layer.
func classify(err error) (kind error, reason string, ok bool) {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ErrUnavailable, "deadline exceeded", true
	case errors.Is(err, context.Canceled):
		return ErrUnavailable, "canceled", true
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return ErrNotFound, "", true
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return ErrAlreadyExists, "duplicate key", true
	}

	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		kind, reason := classifyMySQL(myErr.Number)
		return kind, reason, true
	}
	var liteErr sqlite3.Error
	if errors.As(err, &liteErr) {
		kind, reason := classifySQLite(liteErr)
		return kind, reason, true
	}

	// Connection-level failures: the server is down, restarting, behind a
	// broken network, or the pool handed out a connection that died.
	var netErr net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ErrUnavailable, "connection lost", true
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrUnavailable, "connection refused", true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return ErrUnavailable, "connection lost", true
	case errors.As(err, &netErr):
		if netErr.Timeout() {
			return ErrUnavailable, "timeout", true
		}
		return ErrUnavailable, "network error", true
	}

	for _, g := range gormErrors {
		if errors.Is(err, g) {
			return ErrInternal, "", true
		}
	}
	return nil, "", false
}

// classifyMySQL maps MySQL, MariaDB and TiDB server error numbers.
func classifyMySQL(number uint16) (kind error, reason string) {
	switch number {
	case 1062, 1022, 1586: // ER_DUP_ENTRY, ER_DUP_KEY, ER_DUP_ENTRY_WITH_KEY_NAME
		return ErrAlreadyExists, "duplicate key"
	case 1213: // ER_LOCK_DEADLOCK
		return ErrConflict, "deadlock"
	case 1205: // ER_LOCK_WAIT_TIMEOUT
		return ErrConflict, "lock wait timeout"
	case 9007, 8002, 8022: // TiDB write conflict / transaction retry errors
		return ErrConflict, "write conflict"
	case 1040, 1203: // ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS
		return ErrUnavailable, "too many connections"
	case 1053, 1077, 1927: // ER_SERVER_SHUTDOWN, ER_NORMAL_SHUTDOWN, ER_CONNECTION_KILLED (MariaDB)
		return ErrUnavailable, "server shutting down"
	case 1290, 1836, 1792: // read-only server (e.g. during failover)
		return ErrUnavailable, "read-only"
	case 1047: // ER_UNKNOWN_COM_ERROR: a Galera node outside the primary component ("WSREP has not yet prepared node for application use")
		return ErrUnavailable, "database node not synced"
	case 9001, 9002, 9005: // TiDB: PD / TiKV timeout, region unavailable
		return ErrUnavailable, "storage unavailable"
	}
	return ErrInternal, ""
}

// classifySQLite maps SQLite result codes.
func classifySQLite(e sqlite3.Error) (kind error, reason string) {
	switch e.Code {
	case sqlite3.ErrConstraint:
		if e.ExtendedCode == sqlite3.ErrConstraintUnique || e.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
			return ErrAlreadyExists, "duplicate key"
		}
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		// Only returned after _busy_timeout expired: some writer held
		// the database for longer than we are willing to wait.
		return ErrUnavailable, "database is locked"
	case sqlite3.ErrInterrupt:
		return ErrUnavailable, "interrupted"
	case sqlite3.ErrCantOpen, sqlite3.ErrIoErr, sqlite3.ErrFull, sqlite3.ErrReadonly:
		return ErrUnavailable, "storage error"
	}
	return ErrInternal, ""
}
