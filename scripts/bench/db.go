package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// dbFlags are the connection flags every database subcommand takes.
type dbFlags struct {
	dsn string // go-sql-driver DSN without a database, e.g. root@tcp(127.0.0.1:3306)/
	db  string // database name
}

func (f *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dsn, "dsn", "root@tcp(127.0.0.1:3306)/", "go-sql-driver DSN of the MySQL server, without a database")
	fs.StringVar(&f.db, "db", "", "benchmark database name")
}

// validDBName keeps the database name safe to splice into DDL.
var validDBName = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// config returns the driver configuration the server itself uses (see
// server/internal/store/dsn.go mysqlConfig): parseTime, UTC, interpolated
// parameters, found rows, utf8mb4, microsecond truncation, session time
// zone +00:00. The raw baseline must talk to MySQL exactly like the
// server does, or it would not be a fair ceiling.
func (f *dbFlags) config(withDB bool) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(f.dsn)
	if err != nil {
		return nil, fmt.Errorf("parse -dsn: %w", err)
	}
	if withDB {
		if !validDBName.MatchString(f.db) {
			return nil, fmt.Errorf("invalid -db %q", f.db)
		}
		cfg.DBName = f.db
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.InterpolateParams = true
	cfg.ClientFoundRows = true
	// As the server's (store/dsn.go): the raw baseline sends a traced
	// batch of INSERTs as one multi-statement, like the server.
	cfg.MultiStatements = true
	if err := cfg.Apply(mysql.Charset("utf8mb4", ""), mysql.TimeTruncate(time.Microsecond)); err != nil {
		return nil, err
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	return cfg, nil
}

// open opens a pool configured like the server's: 50 connections, all
// kept idle, recycled after 5 minutes (store.Open's MySQL defaults).
func (f *dbFlags) open(withDB bool) (*sql.DB, error) {
	cfg, err := f.config(withDB)
	if err != nil {
		return nil, err
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(50)
	db.SetMaxIdleConns(50)
	db.SetConnMaxLifetime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func cmdCreateDB(args []string) error {
	var f dbFlags
	fs := flag.NewFlagSet("createdb", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !validDBName.MatchString(f.db) {
		return fmt.Errorf("invalid -db %q", f.db)
	}
	db, err := f.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("CREATE DATABASE `" + f.db + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	return err
}

func cmdDropDB(args []string) error {
	var f dbFlags
	fs := flag.NewFlagSet("dropdb", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !validDBName.MatchString(f.db) {
		return fmt.Errorf("invalid -db %q", f.db)
	}
	db, err := f.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("DROP DATABASE IF EXISTS `" + f.db + "`")
	return err
}

// cmdDBURL prints the server's --database-url for the database: the
// "mysql:" prefixed go-sql-driver DSN form, which store.Open accepts.
func cmdDBURL(args []string) error {
	var f dbFlags
	fs := flag.NewFlagSet("dburl", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := mysql.ParseDSN(f.dsn)
	if err != nil {
		return err
	}
	if !validDBName.MatchString(f.db) {
		return fmt.Errorf("invalid -db %q", f.db)
	}
	cfg.DBName = f.db
	fmt.Println("mysql:" + cfg.FormatDSN())
	return nil
}

// cmdInfo prints shell assignments: the server's version, the settings
// that decide write throughput, and the pid of mysqld when it runs on
// this machine (for CPU accounting), or 0.
func cmdInfo(args []string) error {
	var f dbFlags
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := f.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	var version, flush, pool, redo, ioCap, pidFile, dataDir string
	err = db.QueryRow("SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@innodb_buffer_pool_size, @@innodb_log_file_size, @@innodb_io_capacity, @@pid_file, @@datadir").
		Scan(&version, &flush, &pool, &redo, &ioCap, &pidFile, &dataDir)
	if err != nil {
		return err
	}
	mib := func(v string) string {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return strconv.FormatInt(n>>20, 10)
		}
		return v
	}
	pid := 0
	if cfg, err := mysql.ParseDSN(f.dsn); err == nil && isLocal(cfg) {
		pid = mysqldPID(pidFile, dataDir)
	}
	fmt.Printf("mysql_version=%q\nmysql_flush_log_at_trx_commit=%q\nmysql_settings=%q\nmysql_buffer_pool_mib=%q\nmysqld_pid=%d\n", version, flush,
		fmt.Sprintf("innodb_buffer_pool_size=%s MiB, innodb_log_file_size=%s MiB, innodb_io_capacity=%s", mib(pool), mib(redo), ioCap), mib(pool), pid)
	return nil
}

func isLocal(cfg *mysql.Config) bool {
	if cfg.Net == "unix" {
		return true
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host = cfg.Addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mysqldPID finds the server process: its pid file first, then the only
// process named mariadbd or mysqld. 0 when neither works.
func mysqldPID(pidFile, dataDir string) int {
	if pidFile != "" {
		if !filepath.IsAbs(pidFile) {
			pidFile = filepath.Join(dataDir, pidFile)
		}
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && isMysqld(pid) {
				return pid
			}
		}
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	found := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !isMysqld(pid) {
			continue
		}
		if found != 0 {
			return 0 // ambiguous
		}
		found = pid
	}
	return found
}

func isMysqld(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return false
	}
	comm := strings.TrimSpace(string(b))
	return comm == "mariadbd" || comm == "mysqld"
}

// procCPU returns the user+system CPU time of pid so far, from
// /proc/<pid>/stat (utime and stime, fields 14 and 15, in clock ticks of
// 1/100 s: USER_HZ is 100 on every Linux architecture Go supports).
func procCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	// The command name (field 2) may contain spaces and parentheses;
	// the fields after it start after the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state), so utime (14) is fields[11].
	if len(fields) < 13 {
		return 0, errors.New("malformed stat")
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed stat")
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// machineBusy returns the busy CPU time of the whole machine so far, all
// CPUs added up: the first line of /proc/stat less idle and iowait.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	// user nice system idle iowait irq softirq steal
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * 10 * time.Millisecond
}
