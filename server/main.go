// Command aftersales is the aftersales API server: gRPC on --grpc-addr and
// the same API as JSON on --http-addr. With no flags it serves on :9090 and
// :8080 with an embedded SQLite database in ./data.
//
// Run "aftersales -h" for the settings, or "aftersales migrate" to apply
// the database migrations and exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "aftersales:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		config.Usage(os.Stdout)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (run with -h for help)", err)
	}
	logger := app.NewLogger(os.Stderr, cfg)

	// SIGTERM is how orchestrators ask for a graceful stop. Once it has
	// begun, default handling is restored so that a second Ctrl-C kills a
	// shutdown that hangs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()

	if cfg.Command == config.CommandMigrate {
		return app.Migrate(ctx, cfg, logger)
	}
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
