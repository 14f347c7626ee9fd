// Command bench is the load generator and helper of scripts/bench.sh: it
// creates and seeds the benchmark database, runs one scenario at a time
// against the server (or, for the baseline, straight against MySQL),
// captures the SQL the server runs and EXPLAINs it, and prints the final
// table. scripts/bench.sh drives it; each subcommand is one step:
//
//	bench info     -dsn DSN                  MySQL version, settings, mysqld pid
//	bench createdb -dsn DSN -db NAME         create (and dropdb: drop) the database
//	bench dburl    -dsn DSN -db NAME         the server's --database-url
//	bench seed     -dsn DSN -db NAME ...     bulk-insert staff, customers, tickets
//	bench wait     -log FILE                 wait for the server, print its addresses
//	bench run      -scenario NAME ...        run one scenario, append its result
//	bench quiesce  -mysqld-pid PID           wait until mysqld is idle (scripts/bench-console.sh)
//	bench explain  -dsn DSN -db NAME ...     capture the server's SQL and EXPLAIN it
//	bench report   -results FILE ...         print the table and the goals
//	bench soak     -grpc ADDR ...            capacity of a mixed load, then minutes of it at a fraction (scripts/soak.sh)
//	bench webhook-receiver -grpc ADDR ...    subscribe to ticket.* and record each delivery's lag
//	bench reports-reset   -dsn DSN -db NAME  empty the report tables (scripts/bench-reports.sh)
//	bench reports-catchup -dsn DSN -db NAME  wait for the report rollups, record sizes and times
//	bench reports-report  -results FILE ...  print the reports benchmark
//	bench manager  -dsn DSN -db NAME         the seeded manager's name
//	bench campaign -grpc ADDR ...            launch a recall, measure it and CreateTicket around it (scripts/bench-campaign.sh)
//	bench failover -replicas A,B,C ...       load over replicas while a database node and a replica die, then check (scripts/failover.sh)
//
// It lives in the module so it can use the generated API types; it does
// not import the server's internal packages: the raw baseline spells out
// the server's SQL itself (see raw.go).
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench info|createdb|dropdb|dburl|seed|wait|run|quiesce|explain|report|soak|webhook-receiver|reports-reset|reports-catchup|reports-report|manager|campaign|failover [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"info":     cmdInfo,
		"createdb": cmdCreateDB,
		"dropdb":   cmdDropDB,
		"dburl":    cmdDBURL,
		"seed":     cmdSeed,
		"wait":     cmdWait,
		"run":      cmdRun,
		"quiesce":  cmdQuiesce,
		"explain":  cmdExplain,
		"report":   cmdReport,
		"soak":     cmdSoak,

		"webhook-receiver": cmdWebhookReceiver,

		"reports-reset":   cmdReportsReset,
		"reports-catchup": cmdReportsCatchUp,
		"reports-report":  cmdReportsReport,

		"manager":  cmdManager,
		"campaign": cmdCampaign,
		"failover": cmdFailover,
	}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "bench: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", os.Args[1], err)
		var exit exitError
		if errors.As(err, &exit) {
			os.Exit(exit.code)
		}
		os.Exit(1)
	}
}

// exitError is an error with the exit status bench should end with
// (bench failover's exitDatabaseLost); other errors end it with 1.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
