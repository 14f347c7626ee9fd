package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
)

// A MySQL database URL may name several hosts ("mysql://u@h1,h2,h3/db",
// "mysql:u@tcp(h1,h2,h3)/db"): the nodes of a MariaDB Galera cluster,
// each of which takes writes. The server then keeps its connections on
// one node and moves them when that node fails, without a proxy:
//
//   - New connections go to the first node in the list that the monitor
//     last saw healthy, so giving each replica a different order spreads
//     the replicas over the nodes and the same order keeps every write
//     on one node (no certification conflicts).
//   - A monitor checks every node each nodeCheckInterval. A node is
//     healthy when it answers and, if it is a Galera node, is Synced
//     with wsrep_ready ON: a node that left the primary component, or is
//     still catching up, would serve stale reads or refuse queries.
//   - Pooled connections to a node that turned unhealthy are discarded
//     when they are next returned or reused (driver.Validator and
//     driver.SessionResetter), so a failover does not wait for
//     ConnMaxLifetime.
//
// One host works the same way (no failover), which also covers a Galera
// cluster behind a proxy: every connection to a Galera node, whichever
// way it was reached, reads with wsrep_sync_wait=1, so a read on one node
// sees every write acknowledged on another (a client may create through
// one replica and read through the next).

// nodeCheckInterval is how often the monitor checks each node, and so
// about how long a failover takes to move new connections.
const nodeCheckInterval = time.Second

// nodeCheckTimeout bounds one check of one node.
const nodeCheckTimeout = 2 * time.Second

// node is one MySQL host of the database URL.
type node struct {
	addr      string
	connector driver.Connector
	healthy   atomic.Bool
}

// nodeSet is the driver.Connector of a MySQL DB: it connects to the
// preferred healthy node.
type nodeSet struct {
	nodes   []*node
	syncSet bool // the URL sets wsrep_sync_wait itself
	// galera is set once a connection finds wsrep on: the nodes of a
	// cluster all run it, and it changes how a transaction commits
	// (DB.flushCommit).
	galera  atomic.Bool
	log     *slog.Logger
	stop    chan struct{}
	stopped sync.Once
	done    sync.WaitGroup
}

// newNodeSet returns the connector for cfg, whose Addr may list several
// hosts separated by commas.
func newNodeSet(cfg *mysql.Config, log *slog.Logger) (*nodeSet, error) {
	s := &nodeSet{log: log, stop: make(chan struct{})}
	_, s.syncSet = cfg.Params["wsrep_sync_wait"]
	for _, addr := range strings.Split(cfg.Addr, ",") {
		c := cfg.Clone()
		c.Addr = addr
		connector, err := mysql.NewConnector(c)
		if err != nil {
			return nil, err
		}
		n := &node{addr: addr, connector: connector}
		// Optimistic until the first check: Open pings anyway.
		n.healthy.Store(true)
		s.nodes = append(s.nodes, n)
	}
	return s, nil
}

// Connect implements driver.Connector: the first healthy node in order,
// then, if none of those answers, the others (a check may be stale).
func (s *nodeSet) Connect(ctx context.Context) (driver.Conn, error) {
	var errs []error
	for _, wantHealthy := range []bool{true, false} {
		for _, n := range s.nodes {
			if n.healthy.Load() != wantHealthy {
				continue
			}
			c, err := s.connect(ctx, n)
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				return nil, errors.Join(errs...)
			}
		}
	}
	return nil, errors.Join(errs...)
}

// Driver implements driver.Connector.
func (s *nodeSet) Driver() driver.Driver { return s.nodes[0].connector.Driver() }

// connect opens a connection to n and, on a Galera node, notes that the
// database is Galera and makes the connection's reads causal
// (wsrep_sync_wait=1) unless the URL chose otherwise.
func (s *nodeSet) connect(ctx context.Context, n *node) (driver.Conn, error) {
	raw, err := n.connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	c, ok := raw.(mysqlConn)
	if !ok {
		// Every go-sql-driver connection implements these; a driver
		// upgrade that drops one must fail loudly, not lose a feature.
		_ = raw.Close()
		return nil, errors.New("store: mysql driver connection lacks an expected interface")
	}
	galera, err := isGalera(ctx, c)
	if err == nil && galera {
		s.galera.Store(true)
		if !s.syncSet {
			_, err = c.ExecContext(ctx, "SET SESSION wsrep_sync_wait = 1", nil)
		}
	}
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return &nodeConn{mysqlConn: c, node: n}, nil
}

// isGalera reports whether the server behind c runs with wsrep on.
// MySQL has no such variable (no rows); MariaDB without a cluster says
// OFF.
func isGalera(ctx context.Context, c mysqlConn) (bool, error) {
	rows, err := c.QueryContext(ctx, "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'", nil)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(vals); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		return false, err
	}
	return strings.EqualFold(asString(vals[1]), "ON"), nil
}

func asString(v driver.Value) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return ""
}

// mysqlConn is what database/sql uses of a go-sql-driver connection.
type mysqlConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// nodeConn is a connection that database/sql discards once its node
// turns unhealthy.
type nodeConn struct {
	mysqlConn
	node *node
}

// IsValid implements driver.Validator: checked when the connection goes
// back to the pool.
func (c *nodeConn) IsValid() bool { return c.node.healthy.Load() && c.mysqlConn.IsValid() }

// ResetSession implements driver.SessionResetter: checked before a pooled
// connection is reused.
func (c *nodeConn) ResetSession(ctx context.Context) error {
	if !c.node.healthy.Load() {
		return driver.ErrBadConn
	}
	return c.mysqlConn.ResetSession(ctx)
}

// watch starts the monitor when there is more than one node: with one,
// there is nowhere to fail over to, and readiness (DB.Ping) checks the
// node itself.
func (s *nodeSet) watch() {
	if len(s.nodes) < 2 {
		return
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		// Each node gets its own one-connection pool, so that checking a
		// node never depends on the main pool's choice of node.
		dbs := make([]*sql.DB, len(s.nodes))
		for i, n := range s.nodes {
			dbs[i] = sql.OpenDB(n.connector)
			dbs[i].SetMaxOpenConns(1)
			defer dbs[i].Close()
		}
		t := time.NewTicker(nodeCheckInterval)
		defer t.Stop()
		for {
			for i, n := range s.nodes {
				s.check(n, dbs[i])
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

func (s *nodeSet) check(n *node, db *sql.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), nodeCheckTimeout)
	defer cancel()
	err := nodeReady(ctx, db)
	if ok := err == nil; n.healthy.Swap(ok) != ok {
		if ok {
			s.log.Info("database node healthy", "node", n.addr)
		} else {
			s.log.Warn("database node unhealthy; moving connections", "node", n.addr, "error", err)
		}
	}
}

// lockDB returns where to take a server-wide lock (the migration lock):
// main itself with one host; with several, a one-connection pool to the
// first node in address order that answers, so that every replica,
// whatever its own order, locks on the same Galera node (GET_LOCK does
// not cross nodes).
func (s *nodeSet) lockDB(ctx context.Context, main *sql.DB) (*sql.DB, func(), error) {
	if len(s.nodes) < 2 {
		return main, func() {}, nil
	}
	byAddr := slices.Clone(s.nodes)
	slices.SortFunc(byAddr, func(a, b *node) int { return strings.Compare(a.addr, b.addr) })
	var errs []error
	for _, n := range byAddr {
		db := sql.OpenDB(n.connector)
		db.SetMaxOpenConns(1)
		err := db.PingContext(ctx)
		if err == nil {
			return db, func() { _ = db.Close() }, nil
		}
		_ = db.Close()
		errs = append(errs, err)
	}
	return nil, nil, errors.Join(errs...)
}

// close stops the monitor.
func (s *nodeSet) close() {
	s.stopped.Do(func() { close(s.stop) })
	s.done.Wait()
}

// nodeReady returns nil when the server behind q answers and, if it is
// a Galera node, is Synced and ready.
func nodeReady(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) error {
	rows, err := q.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment')")
	if err != nil {
		return err
	}
	defer rows.Close()
	status := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		status[strings.ToLower(k)] = v
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// MySQL, and MariaDB without a wsrep provider, report no
	// wsrep_local_state_comment.
	state, galera := status["wsrep_local_state_comment"]
	if !galera {
		return nil
	}
	if !strings.EqualFold(status["wsrep_ready"], "ON") || !strings.EqualFold(state, "Synced") {
		return &Error{kind: ErrUnavailable, reason: "database node not synced", cause: errors.Join(ErrNodeNotSynced, errors.New("wsrep_ready="+status["wsrep_ready"]+" state="+state))}
	}
	return nil
}
