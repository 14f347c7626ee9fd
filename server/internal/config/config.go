// Package config holds the server's settings and reads them from
// command-line flags and AFTERSALES_* environment variables.
//
// Every setting has one flag and one environment variable whose name is
// derived from the flag: --grpc-addr is AFTERSALES_GRPC_ADDR. The
// environment variable replaces the built-in default and the flag replaces
// both, so a container image can be configured by environment while a
// developer still overrides one value on the command line.
//
// It uses the standard library's flag package on purpose: the server has a
// dozen flat settings and two commands, which flag handles fully, and every
// dependency is one more thing to audit and keep updated.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// EnvPrefix starts the name of every environment variable read by Load.
const EnvPrefix = "AFTERSALES_"

// The commands the server binary runs.
const (
	// CommandServe serves the APIs until the process is told to stop.
	CommandServe = "serve"
	// CommandMigrate applies the database migrations and exits.
	CommandMigrate = "migrate"
)

// The log formats.
const (
	LogFormatJSON = "json"
	LogFormatText = "text"
)

// Config is the server's configuration. Load fills it; tests may also build
// one by hand, starting from Default.
type Config struct {
	// Command is CommandServe or CommandMigrate.
	Command string

	// GRPCAddr is the gRPC listen address.
	GRPCAddr string
	// HTTPAddr is the listen address of the JSON gateway and the
	// operational endpoints (/healthz, /readyz, /metrics, /openapi.json).
	HTTPAddr string

	// DatabaseURL selects the database; empty means embedded SQLite in
	// DataDir. See store.Options.URL for the accepted forms.
	DatabaseURL string
	// DataDir holds the embedded SQLite database.
	DataDir string
	// DBMaxConns caps open database connections; 0 keeps the store's
	// default for the database kind.
	DBMaxConns int

	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogFormat is LogFormatJSON or LogFormatText.
	LogFormat string

	// ShutdownTimeout bounds the graceful shutdown; after it in-flight
	// calls are cut off.
	ShutdownTimeout time.Duration
	// SLACheckInterval is how often the background loop looks for SLA
	// breaches.
	SLACheckInterval time.Duration
	// DefaultDeadline is the deadline given to a call whose client sent
	// none; 0 leaves such calls without one.
	DefaultDeadline time.Duration
	// MaxRequestBytes caps the size of one request: a gRPC message or an
	// HTTP body.
	MaxRequestBytes int

	// Reflection registers the gRPC reflection service, so tools like
	// grpcurl work without the .proto files.
	Reflection bool
	// Pprof serves net/http/pprof under /debug/pprof/ on the HTTP address.
	Pprof bool
}

// Default returns the built-in defaults: what `go run ./server` uses.
func Default() Config {
	return Config{
		Command:          CommandServe,
		GRPCAddr:         ":9090",
		HTTPAddr:         ":8080",
		DataDir:          "./data",
		LogLevel:         slog.LevelInfo,
		LogFormat:        LogFormatJSON,
		ShutdownTimeout:  15 * time.Second,
		SLACheckInterval: 30 * time.Second,
		DefaultDeadline:  30 * time.Second,
		MaxRequestBytes:  4 << 20,
		Reflection:       true,
	}
}

// flagSet binds every setting to a field of c, with c's current values as
// the defaults. It is the single list of settings: Load, Settings and
// Markdown all read it, so the documentation cannot drift from the code.
func flagSet(c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("aftersales", flag.ContinueOnError)
	// Load reports errors itself and Usage prints the help, so the flag
	// package must not print anything on its own.
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.GRPCAddr, "grpc-addr", c.GRPCAddr, "gRPC listen address")
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "HTTP listen address: JSON API, /healthz, /readyz, /metrics, /openapi.json")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "database URL, mysql://user:pass@host:port/db or sqlite:path.db; empty uses embedded SQLite in --data-dir")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory of the embedded SQLite database (used when --database-url is empty)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", c.DBMaxConns, "maximum open database connections; 0 uses the default (50 for MySQL, max(4, GOMAXPROCS) for SQLite)")
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "minimum log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: json or text")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long a graceful shutdown may take before in-flight calls are cut off")
	fs.DurationVar(&c.SLACheckInterval, "sla-check-interval", c.SLACheckInterval, "how often the background loop checks tickets for SLA breaches")
	fs.DurationVar(&c.DefaultDeadline, "default-deadline", c.DefaultDeadline, "deadline of a call whose client set none; 0 disables")
	fs.IntVar(&c.MaxRequestBytes, "max-request-bytes", c.MaxRequestBytes, "maximum size of a request in bytes: gRPC message or HTTP body")
	fs.BoolVar(&c.Reflection, "reflection", c.Reflection, "serve gRPC server reflection")
	fs.BoolVar(&c.Pprof, "pprof", c.Pprof, "serve net/http/pprof under /debug/pprof/ on the HTTP address")
	return fs
}

// EnvName returns the environment variable of the flag named flagName.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load reads the configuration from args (the command line without the
// program name) and getenv (os.Getenv, or a map lookup in tests).
//
// args may name a command, serve (the default) or migrate, before or after
// the flags. It returns flag.ErrHelp when args ask for help; print Usage
// then.
func Load(args []string, getenv func(string) string) (Config, error) {
	c := Default()
	fs := flagSet(&c)

	var envErrs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErrs = append(envErrs, fmt.Errorf("invalid value %q for environment variable %s: %v", v, name, err))
		}
	})
	if err := errors.Join(envErrs...); err != nil {
		return Config{}, err
	}

	// The command may come before the flags or after them; flag parsing
	// stops at the first non-flag argument, so parse again after it.
	commandGiven := false
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c.Command, args, commandGiven = args[0], args[1:], true
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if rest := fs.Args(); len(rest) > 0 && !commandGiven {
		c.Command = rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return Config{}, err
		}
	}
	if rest := fs.Args(); len(rest) > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", rest[0])
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every setting that is out of range.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.Command {
	case CommandServe, CommandMigrate:
	default:
		bad("unknown command %q: want %s or %s", c.Command, CommandServe, CommandMigrate)
	}
	if c.GRPCAddr == "" {
		bad("--grpc-addr must not be empty")
	}
	if c.HTTPAddr == "" {
		bad("--http-addr must not be empty")
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		bad("--data-dir must not be empty when --database-url is empty")
	}
	if c.DBMaxConns < 0 {
		bad("--db-max-conns must not be negative, got %d", c.DBMaxConns)
	}
	if c.LogFormat != LogFormatJSON && c.LogFormat != LogFormatText {
		bad("--log-format must be %s or %s, got %q", LogFormatJSON, LogFormatText, c.LogFormat)
	}
	if c.ShutdownTimeout <= 0 {
		bad("--shutdown-timeout must be positive, got %s", c.ShutdownTimeout)
	}
	if c.SLACheckInterval <= 0 {
		bad("--sla-check-interval must be positive, got %s", c.SLACheckInterval)
	}
	if c.DefaultDeadline < 0 {
		bad("--default-deadline must not be negative, got %s", c.DefaultDeadline)
	}
	if c.MaxRequestBytes <= 0 {
		bad("--max-request-bytes must be positive, got %d", c.MaxRequestBytes)
	}
	return errors.Join(errs...)
}
