package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm/logger"
)

// slowQueryThreshold is the duration above which a statement is logged
// at Warn.
const slowQueryThreshold = 200 * time.Millisecond

// gormLogger adapts GORM's logger to slog. It is deliberately quiet:
//
//   - Failed statements are not logged: errors are returned, translated,
//     and the caller decides (duplicate keys are routine for leases and
//     idempotency keys and would otherwise flood the error log).
//   - Slow statements are logged at Warn; every statement at Debug.
//   - SQL is always logged with placeholders, never with values, which may
//     hold customer data.
type gormLogger struct {
	log *slog.Logger
}

func newGormLogger(log *slog.Logger) gormLogger {
	return gormLogger{log: log.With("component", "gorm")}
}

// LogMode is ignored: verbosity is controlled by the slog handler's level.
func (l gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }

// Info messages from GORM are internal chatter; keep them at Debug.
func (l gormLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(msg, args...))
}

func (l gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
}

func (l gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
}

func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), _ error) {
	elapsed := time.Since(begin)
	level := slog.LevelDebug
	if elapsed >= slowQueryThreshold {
		level = slog.LevelWarn
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	sql, rows := fc()
	l.log.Log(ctx, level, "sql", "duration", elapsed, "rows", rows, "sql", sql)
}

// ParamsFilter keeps values out of logged SQL (GORM calls it when
// rendering the statement passed to Trace).
func (gormLogger) ParamsFilter(ctx context.Context, sql string, params ...any) (string, []any) {
	return withoutValues(ctx, sql, params...)
}

func withoutValues(_ context.Context, sql string, _ ...any) (string, []any) { return sql, nil }

// GORM's Scan and Row traces go through its own recorder, which renders
// the statement with logger.RecorderParamsFilter instead of ours, and
// renders it on every call, logged or not: keep values out there too, and
// the rendering cheap.
func init() { logger.RecorderParamsFilter = withoutValues }

// mysqlLogger routes go-sql-driver's rare critical messages (broken
// connections, protocol errors) to slog instead of stderr.
type mysqlLogger struct {
	log *slog.Logger
}

func (l mysqlLogger) Print(v ...any) {
	l.log.Warn(fmt.Sprint(v...), "component", "mysql")
}
