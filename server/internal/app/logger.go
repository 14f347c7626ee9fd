package app

import (
	"io"
	"log/slog"

	"github.com/aftersales/aftersales/server/internal/config"
)

// NewLogger returns the process logger described by cfg, writing to w.
func NewLogger(w io.Writer, cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogFormatText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
