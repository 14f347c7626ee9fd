package config_test

import (
	"bytes"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/config"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(nil, env(nil))
	require.NoError(t, err)
	require.Equal(t, config.Default(), c)
	require.Equal(t, config.CommandServe, c.Command)
	require.Equal(t, ":9090", c.GRPCAddr)
	require.Equal(t, ":8080", c.HTTPAddr)
	require.Equal(t, "", c.DatabaseURL)
	require.Equal(t, "./data", c.DataDir)
	require.Equal(t, 15*time.Second, c.ShutdownTimeout)
	require.Equal(t, 30*time.Second, c.SLACheckInterval)
	require.Equal(t, 30*time.Second, c.DefaultDeadline)
	require.Equal(t, 4<<20, c.MaxRequestBytes)
	require.True(t, c.Reflection)
	require.False(t, c.Pprof)
}

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c config.Config)
	}{
		{
			name: "env replaces default",
			env:  map[string]string{"AFTERSALES_GRPC_ADDR": "127.0.0.1:1", "AFTERSALES_SHUTDOWN_TIMEOUT": "3s", "AFTERSALES_REFLECTION": "false"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, "127.0.0.1:1", c.GRPCAddr)
				require.Equal(t, 3*time.Second, c.ShutdownTimeout)
				require.False(t, c.Reflection)
			},
		},
		{
			name: "flag replaces env",
			args: []string{"--grpc-addr=127.0.0.1:2", "--shutdown-timeout", "4s", "--reflection=true"},
			env:  map[string]string{"AFTERSALES_GRPC_ADDR": "127.0.0.1:1", "AFTERSALES_SHUTDOWN_TIMEOUT": "3s", "AFTERSALES_REFLECTION": "false"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, "127.0.0.1:2", c.GRPCAddr)
				require.Equal(t, 4*time.Second, c.ShutdownTimeout)
				require.True(t, c.Reflection)
			},
		},
		{
			name: "env and flag for different settings combine",
			args: []string{"-log-format", "text"},
			env:  map[string]string{"AFTERSALES_LOG_LEVEL": "debug", "AFTERSALES_DATABASE_URL": "mysql://u:p@db:3306/x"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, config.LogFormatText, c.LogFormat)
				require.Equal(t, slog.LevelDebug, c.LogLevel)
				require.Equal(t, "mysql://u:p@db:3306/x", c.DatabaseURL)
			},
		},
		{
			name: "every setting from env",
			env: map[string]string{
				"AFTERSALES_HTTP_ADDR":          ":1",
				"AFTERSALES_DATA_DIR":           "/var/lib/x",
				"AFTERSALES_DB_MAX_CONNS":       "7",
				"AFTERSALES_SLA_CHECK_INTERVAL": "1m",
				"AFTERSALES_DEFAULT_DEADLINE":   "0",
				"AFTERSALES_MAX_REQUEST_BYTES":  "1024",
				"AFTERSALES_PPROF":              "1",
			},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, ":1", c.HTTPAddr)
				require.Equal(t, "/var/lib/x", c.DataDir)
				require.Equal(t, 7, c.DBMaxConns)
				require.Equal(t, time.Minute, c.SLACheckInterval)
				require.Equal(t, time.Duration(0), c.DefaultDeadline)
				require.Equal(t, 1024, c.MaxRequestBytes)
				require.True(t, c.Pprof)
			},
		},
		{
			name: "command first",
			args: []string{"migrate", "--data-dir", "d"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, config.CommandMigrate, c.Command)
				require.Equal(t, "d", c.DataDir)
			},
		},
		{
			name: "command after flags",
			args: []string{"--data-dir", "d", "migrate", "--log-level=warn"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, config.CommandMigrate, c.Command)
				require.Equal(t, "d", c.DataDir)
				require.Equal(t, slog.LevelWarn, c.LogLevel)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(tt.args, env(tt.env))
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "bad duration flag", args: []string{"--shutdown-timeout=soon"}, wantErr: `invalid value "soon" for flag -shutdown-timeout`},
		{name: "bad duration env", env: map[string]string{"AFTERSALES_SLA_CHECK_INTERVAL": "30"}, wantErr: `invalid value "30" for environment variable AFTERSALES_SLA_CHECK_INTERVAL`},
		{name: "bad bool env", env: map[string]string{"AFTERSALES_PPROF": "maybe"}, wantErr: "AFTERSALES_PPROF"},
		{name: "bad int flag", args: []string{"--max-request-bytes=4MiB"}, wantErr: "-max-request-bytes"},
		{name: "bad log level", args: []string{"--log-level=loud"}, wantErr: "-log-level"},
		{name: "bad log format", args: []string{"--log-format=xml"}, wantErr: "--log-format must be json or text"},
		{name: "zero shutdown timeout", args: []string{"--shutdown-timeout=0s"}, wantErr: "--shutdown-timeout must be positive"},
		{name: "negative deadline", env: map[string]string{"AFTERSALES_DEFAULT_DEADLINE": "-1s"}, wantErr: "--default-deadline must not be negative"},
		{name: "zero max request", args: []string{"--max-request-bytes=0"}, wantErr: "--max-request-bytes must be positive"},
		{name: "negative pool", args: []string{"--db-max-conns=-1"}, wantErr: "--db-max-conns must not be negative"},
		{name: "empty grpc addr", args: []string{"--grpc-addr="}, wantErr: "--grpc-addr must not be empty"},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "unknown command", args: []string{"dance"}, wantErr: `unknown command "dance"`},
		{name: "extra argument", args: []string{"migrate", "now"}, wantErr: `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(tt.args, env(tt.env))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestLoadHelp(t *testing.T) {
	_, err := config.Load([]string{"-h"}, env(nil))
	require.ErrorIs(t, err, flag.ErrHelp)

	var b bytes.Buffer
	config.Usage(&b)
	require.Contains(t, b.String(), "--grpc-addr")
	require.Contains(t, b.String(), "AFTERSALES_GRPC_ADDR")
}

func TestMarkdownListsEverySetting(t *testing.T) {
	// Named explicitly so that a setting dropped from the code fails here
	// instead of silently vanishing from both the table and the test.
	want := []string{
		"grpc-addr", "http-addr", "database-url", "data-dir", "db-max-conns",
		"log-level", "log-format", "shutdown-timeout", "sla-check-interval",
		"default-deadline", "max-request-bytes", "reflection", "pprof",
	}
	var names []string
	for _, s := range config.Settings() {
		names = append(names, s.Flag)
	}
	require.ElementsMatch(t, want, names)

	md := config.Markdown()
	lines := strings.Split(strings.TrimSpace(md), "\n")
	require.Len(t, lines, len(want)+2, "header, separator and one row per setting")
	for _, s := range config.Settings() {
		require.Contains(t, md, "`--"+s.Flag+"`")
		require.Contains(t, md, "`"+config.EnvName(s.Flag)+"`")
		require.Contains(t, md, s.Description)
	}
	require.Contains(t, md, "| `--grpc-addr` | `AFTERSALES_GRPC_ADDR` | `:9090` |")
	require.Contains(t, md, "| `--shutdown-timeout` | `AFTERSALES_SHUTDOWN_TIMEOUT` | `15s` |")
}
