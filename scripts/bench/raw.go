package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"
)

// The raw baseline is the "physical ceiling" of CreateTicket: what a Go
// program that only talks to MySQL, with database/sql and the same
// driver settings and pool as the server (see dbFlags.config and open),
// achieves running the same statements in the same transactions.
//
// Which statements: bench explain -create traces a CreateTicket through
// a debug-logging server (its second call, so anything the server caches
// is cached) and writes the statements to a file that run -raw-plan
// reads; the baseline then runs exactly those, in that order, the
// authentication lookups before the transaction and the rest inside it.
// rawSteps knows every statement the server has been seen to run:
//
//	server/internal/auth/authenticate.go lookupKey (autocommit):
//	  SELECT k.*, s.role ..., p.active ... FROM api_keys k LEFT JOIN staff s ... LEFT JOIN partners p ... WHERE k.id = ?
//	server/internal/service/base.go mutate, in one transaction:
//	  SELECT count(*) FROM `customers` WHERE id = ? LIMIT ?         ticket.go
//	  SELECT * FROM `products` WHERE id = ? AND customer_id = ? LIMIT ?
//	  SELECT count(*) FROM `staff` WHERE id = ? LIMIT ?   first contact (older servers)
//	  SELECT * FROM `sla_policies` WHERE priority = ? LIMIT ?       planSLA
//	  or, since the two are read together (lookUpForCreate):
//	  SELECT sla_policies.*, products.id AS ref_id, products.warranty_end_time
//	    FROM `sla_policies` LEFT JOIN products ON ... WHERE sla_policies.priority = ? LIMIT ?
//	  or, since 2026-12-04, without GORM and only the columns used (the
//	  one rawSteps has in place of the GORM one):
//	  SELECT sla_policies.id, ..., products.id, products.warranty_end_time
//	    FROM sla_policies LEFT JOIN products ON ... WHERE sla_policies.priority = ? LIMIT 1
//	  then the rows the transaction appended (store.Append), as one
//	  multi-statement, ";"-separated in the trace:
//	  INSERT INTO `tickets` (42 columns)
//	  INSERT INTO `ticket_events` ...                               CREATED event
//	  INSERT INTO `audit_records` ... `state`                       service/audit.go
//	  INSERT INTO `events` ...                     the outbox (service/outbox.go emit)
//	  INSERT INTO `idempotency_keys` ...           store.SaveIdempotent
//	  COMMIT                         since store.runMySQLTx, in the batch
//
// A trace whose batch ends with COMMIT is run as the server runs it: on
// a connection of its own (no database/sql Tx), START TRANSACTION in one
// round trip with the first read (since 2026-12-04; the trace does not
// show it), the other reads, then the batch with its COMMIT in one round
// trip; otherwise with BeginTx and a COMMIT round trip of its own.
// and, for servers before store.Append, each INSERT alone (the events
// one with RETURNING `id`, the audit record without `state`), the
// idempotency key first with a NULL response and
// UPDATE `idempotency_keys` SET `resource`=?,`response`=? ... at the end.
// A traced multi-statement is sent as one here too, with
// multiStatements=true as the server's driver has it.
//
// A traced statement it does not know stops the run: the baseline would
// not be running the server's statements. The rows written have the
// server's sizes: the audit record holds the new ticket marshaled (JSON,
// every field, before 00011) and the idempotency row a marshaled
// ticket's worth of bytes. What the baseline leaves out is all that is
// not SQL: gRPC, interceptors, validation, GORM, proto and JSON.

// ticketInsert is the server's ticket INSERT: the seeder's columns and
// the two that say what opened the ticket (a campaign, a maintenance
// plan), which the seeder leaves to their defaults.
var ticketInsert = "INSERT INTO `tickets` (" + strings.Replace(ticketColumns, "`escalation_level`,", "`escalation_level`,`campaign_id`,`maintenance_plan_id`,", 1) +
	") VALUES (" + strings.TrimSuffix(strings.Repeat("?,", ticketColumnCount+2), ",") + ")"

// authKeyQuery is the server's key lookup (auth.lookupKey) as GORM
// renders it.
const authKeyQuery = "SELECT k.*, s.role AS staff_role, s.active AS staff_active, p.active AS partner_active FROM api_keys k " +
	"LEFT JOIN staff s ON s.id = k.staff_id LEFT JOIN partners p ON p.id = k.partner_id WHERE k.id = ?"

// rawStep is one statement of the baseline: its SQL exactly as GORM
// renders it for the server (placeholders, not values), whether it runs
// inside the transaction, and how the baseline runs it.
type rawStep struct {
	sql  string
	tx   bool
	exec func(ctx context.Context, q querier, s *rawState) error
	// args, for an INSERT, gives its values instead of exec: run executes
	// it with them, alone or in a batch of INSERTs sent as one
	// multi-statement (the server's appended rows, store.Append).
	args func(s *rawState) []any
}

// run executes the step inside or outside the transaction.
func (st rawStep) run(ctx context.Context, q querier, s *rawState) error {
	if st.exec != nil {
		return st.exec(ctx, q, s)
	}
	if _, err := q.ExecContext(ctx, st.sql, st.args(s)...); err != nil {
		return fmt.Errorf("%s: %w", short(st.sql, 40), err)
	}
	return nil
}

// batch is one step of several INSERTs sent together, as the server
// sends a transaction's appended rows: one round trip.
func batch(steps []rawStep) rawStep {
	sqls := make([]string, len(steps))
	for i, st := range steps {
		sqls[i] = st.sql
	}
	return rawStep{sql: strings.Join(sqls, ";"), tx: true, args: func(s *rawState) []any {
		var args []any
		for _, st := range steps {
			args = append(args, st.args(s)...)
		}
		return args
	}}
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// rawState is one call's values, shared by its steps.
type rawState struct {
	key                      rawKey
	staffID                  string // from the key's row, or the setup lookup
	customer                 customerRef
	title, description       string
	requestID                string
	reqHash                  [32]byte
	now                      time.Time
	warranty                 int
	policyID                 string
	respTarget, resolvTarget int64
	pauseClock               bool
	ticketID                 string
	responseDue, resolveDue  time.Time
}

// rawSteps are the statements the baseline knows, in the order the
// server runs them per CreateTicket.
var rawSteps = []rawStep{
	{sql: authKeyQuery, exec: func(ctx context.Context, q querier, s *rawState) error {
		var (
			keyID, keyName, keyPrefix, staffID, partnerID string
			hash                                          []byte
			serviceRole                                   int32
			canDelegate                                   bool
			expire, revoke                                sql.NullTime
			keyCreated                                    time.Time
			staffRole                                     sql.NullInt32
			staffActive, partnerActive                    sql.NullBool
		)
		err := q.QueryRowContext(ctx, authKeyQuery, s.key.id).Scan(&keyID, &keyName, &hash, &keyPrefix,
			&staffID, &partnerID, &serviceRole, &canDelegate, &expire, &revoke, &keyCreated, &staffRole, &staffActive, &partnerActive)
		if err != nil {
			return fmt.Errorf("api key: %w", err)
		}
		sum := sha256.Sum256([]byte(s.key.secret))
		if subtle.ConstantTimeCompare(hash, sum[:]) != 1 || revoke.Valid || (expire.Valid && !time.Now().Before(expire.Time)) {
			return errors.New("invalid key")
		}
		if staffID == "" {
			return errors.New("the raw baseline needs staff-bound keys")
		}
		if !staffRole.Valid || !staffActive.Bool {
			return errors.New("staff missing or inactive")
		}
		s.staffID = staffID
		return nil
	}},
	// With its response, as the server writes it last in the
	// transaction (store.SaveIdempotent). Servers before it claimed the
	// key first with a NULL response and stored the response with the
	// UPDATE below.
	{sql: "INSERT INTO `idempotency_keys` (`method`,`request_id`,`request_hash`,`response`,`resource`,`create_time`) VALUES (?,?,?,?,?,?)", tx: true,
		args: func(s *rawState) []any {
			return []any{createMethod, s.requestID, s.reqHash[:], rawResponse, "tickets/" + s.ticketID, s.now}
		}},
	{sql: "SELECT count(*) FROM `customers` WHERE id = ? LIMIT ?", tx: true, exec: func(ctx context.Context, q querier, s *rawState) error {
		var n int64
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM `customers` WHERE id = ? LIMIT ?", s.customer.customerID, 1).Scan(&n); err != nil || n == 0 {
			return fmt.Errorf("customer: %v (count %d)", err, n)
		}
		return nil
	}},
	{sql: "SELECT * FROM `products` WHERE id = ? AND customer_id = ? LIMIT ?", tx: true, exec: func(ctx context.Context, q querier, s *rawState) error {
		// Every column, as the server's model has them (15 since the
		// region and usage readings); warranty_end_time is the sixth.
		cols := make([]any, 15)
		ptrs := make([]any, len(cols))
		for i := range cols {
			ptrs[i] = &cols[i]
		}
		err := q.QueryRowContext(ctx, "SELECT * FROM `products` WHERE id = ? AND customer_id = ? LIMIT ?", s.customer.productID, s.customer.customerID, 1).Scan(ptrs...)
		if err != nil {
			return fmt.Errorf("product: %w", err)
		}
		s.warranty = 3
		if end, ok := cols[5].(time.Time); ok {
			s.warranty = 2
			if s.now.Before(end) {
				s.warranty = 1
			}
		}
		return nil
	}},
	{sql: "SELECT count(*) FROM `staff` WHERE id = ? LIMIT ?", tx: true, exec: func(ctx context.Context, q querier, s *rawState) error {
		var n int64
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM `staff` WHERE id = ? LIMIT ?", s.staffID, 1).Scan(&n); err != nil || n == 0 {
			return fmt.Errorf("first contact: %v (count %d)", err, n)
		}
		return nil
	}},
	{sql: "SELECT * FROM `sla_policies` WHERE priority = ? LIMIT ?", tx: true, exec: func(ctx context.Context, q querier, s *rawState) error {
		var pol struct {
			name             string
			priority         int32
			created, updated time.Time
			version          int64
		}
		err := q.QueryRowContext(ctx, "SELECT * FROM `sla_policies` WHERE priority = ? LIMIT ?", 2, 1).Scan(&s.policyID, &pol.name, &pol.priority,
			&s.respTarget, &s.resolvTarget, &s.pauseClock, &pol.created, &pol.updated, &pol.version)
		if err != nil {
			return fmt.Errorf("sla policy: %w", err)
		}
		return nil
	}},
	{sql: createLookupQuery, tx: true, exec: func(ctx context.Context, q querier, s *rawState) error {
		var (
			ref         sql.NullString
			warrantyEnd sql.NullTime
		)
		err := q.QueryRowContext(ctx, createLookupQuery, s.customer.productID, s.customer.customerID, 2).
			Scan(&s.policyID, &s.respTarget, &s.resolvTarget, &s.pauseClock, &ref, &warrantyEnd)
		if err != nil || !ref.Valid {
			return fmt.Errorf("sla policy and product: %v (product found %v)", err, ref.Valid)
		}
		s.warranty = 3
		if warrantyEnd.Valid {
			s.warranty = 2
			if s.now.Before(warrantyEnd.Time) {
				s.warranty = 1
			}
		}
		return nil
	}},
	{sql: ticketInsert, tx: true, args: ticketArgs},
	{sql: "INSERT INTO `ticket_events` (`id`,`ticket_id`,`type`,`actor`,`from_state`,`to_state`,`message`,`internal`,`details`,`notify`,`create_time`) VALUES (?,?,?,?,?,?,?,?,?,?,?)", tx: true,
		args: func(s *rawState) []any {
			return []any{newID(), s.ticketID, 1, "staff/" + s.staffID, 0, stateNew, "", false, "", "", s.now}
		}},
	// The audit record of a creation as servers before 00011_audit_state
	// wrote it: each field of the ticket as JSON.
	{sql: "INSERT INTO `audit_records` (`id`,`principal`,`via`,`method`,`resource`,`changes`,`create_time`) VALUES (?,?,?,?,?,?,?)", tx: true,
		args: func(s *rawState) []any {
			return []any{newID(), "staff/" + s.staffID, "", createMethod, "tickets/" + s.ticketID, auditChanges(s), s.now}
		}},
	// ... and since: the new ticket marshaled, as its event carries it.
	{sql: "INSERT INTO `audit_records` (`id`,`principal`,`via`,`method`,`resource`,`changes`,`create_time`,`state`) VALUES (?,?,?,?,?,?,?,?)", tx: true,
		args: func(s *rawState) []any {
			return []any{newID(), "staff/" + s.staffID, "", createMethod, "tickets/" + s.ticketID, "", s.now, rawEventData}
		}},
	{sql: eventInsert, tx: true, exec: func(ctx context.Context, q querier, s *rawState) error {
		// Unnumbered (seq NULL), as the server writes it: the sequencer
		// of a server on the same database numbers it later.
		var id int64
		err := q.QueryRowContext(ctx, eventInsert, nil, "ticket.created", "tickets/"+s.ticketID, "ticket", s.customer.customerID, "", "",
			s.staffID, false, "staff/"+s.staffID, rawEventData, s.now).Scan(&id)
		if err != nil {
			return fmt.Errorf("event: %w", err)
		}
		return nil
	}},
	// The outbox row appended (store.Append), without RETURNING: nothing
	// reads its id.
	{sql: strings.TrimSuffix(eventInsert, " RETURNING `id`"), tx: true, args: func(s *rawState) []any {
		return []any{nil, "ticket.created", "tickets/" + s.ticketID, "ticket", s.customer.customerID, "", "",
			s.staffID, false, "staff/" + s.staffID, rawEventData, s.now}
	}},
	{sql: "UPDATE `idempotency_keys` SET `resource`=?,`response`=? WHERE method = ? AND request_id = ?", tx: true,
		exec: func(ctx context.Context, q querier, s *rawState) error {
			res, err := q.ExecContext(ctx, "UPDATE `idempotency_keys` SET `resource`=?,`response`=? WHERE method = ? AND request_id = ?",
				"tickets/"+s.ticketID, rawResponse, createMethod, s.requestID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("idempotency complete: %v (%d rows)", err, n)
			}
			return nil
		}},
}

// createLookupQuery is CreateTicket's read of the SLA policy and the
// product together (service/ticket.go lookUpWithProduct), the columns a
// new ticket needs, sent without GORM.
const createLookupQuery = "SELECT sla_policies.id, sla_policies.response_target_seconds, sla_policies.resolve_target_seconds, sla_policies.pause_clock, " +
	"products.id, products.warranty_end_time FROM sla_policies " +
	"LEFT JOIN products ON products.id = ? AND products.customer_id = ? WHERE sla_policies.priority = ? LIMIT 1"

// ticketArgs are the new ticket's values; campaign_id and
// maintenance_plan_id are "" (opened by a call).
func ticketArgs(s *rawState) []any {
	s.responseDue = s.now.Add(time.Duration(s.respTarget) * time.Second)
	s.resolveDue = s.now.Add(time.Duration(s.resolvTarget) * time.Second)
	return []any{s.ticketID, s.customer.customerID, s.customer.productID, 1, 1, 2, s.title, s.description, stateNew,
		s.staffID, "", "", s.warranty,
		"", 0, 0, "", 0, nil,
		"", "", "", "", 0, "", 0,
		s.policyID, s.responseDue, s.resolveDue, nil, false, false,
		0, nil, s.pauseClock, "", 0,
		"", "",
		s.now, s.now, nil, nil, 1}
}

// commitStep is COMMIT sent at the end of the batch of appended rows.
var commitStep = rawStep{sql: "COMMIT", tx: true, args: func(*rawState) []any { return nil }}

// rawResponse stands in for the marshaled Ticket the server stores with
// the request id: a Ticket of these sizes marshals to ~330 bytes.
var rawResponse = []byte(strings.Repeat("abcdefghijklmnopqrstuvwxyz", 13)[:330])

// eventInsert is the outbox's INSERT as GORM renders it for MariaDB,
// which returns the new row's id.
const eventInsert = "INSERT INTO `events` (`seq`,`type`,`resource`,`resource_type`,`customer_id`,`partner_id`,`assignee_id`,`first_contact_id`,`internal`,`principal`,`data`,`create_time`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING `id`"

// rawEventData stands in for the event's data: the new ticket marshaled
// into an Any, ~330 bytes and its type URL.
var rawEventData = append([]byte("\n(type.googleapis.com/aftersales.v1.Ticket\x12"), rawResponse...)

const createMethod = "/aftersales.v1.TicketService/CreateTicket"

// rawKey is a parsed API key.
type rawKey struct{ id, secret string }

func parseKey(k string) (rawKey, error) {
	rest, ok := strings.CutPrefix(k, "ask_")
	if !ok || len(rest) != 26+1+43 || rest[26] != '_' {
		return rawKey{}, errors.New("malformed API key")
	}
	return rawKey{rest[:26], rest[27:]}, nil
}

// rawPlan picks the steps the server runs, in its order, from a file of
// the statements traced from the server (bench explain -plan-out); with
// no file, all of rawSteps. A statement the baseline does not know is an
// error: a baseline that skips one of the server's statements compares
// unequal work, and a ratio printed from it would be wrong without a sign.
func rawPlan(path string) ([]rawStep, error) {
	if path == "" {
		return rawSteps, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var plan []rawStep
	var unknown []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		var parts []rawStep
		for _, q := range strings.Split(line, ";") {
			if q == commitStep.sql {
				parts = append(parts, commitStep)
				continue
			}
			i := slices.IndexFunc(rawSteps, func(s rawStep) bool { return s.sql == q })
			if i < 0 || (strings.Contains(line, ";") && rawSteps[i].args == nil) {
				unknown = append(unknown, q)
				continue
			}
			parts = append(parts, rawSteps[i])
		}
		switch {
		case len(parts) == 1 && !strings.Contains(line, ";"):
			plan = append(plan, parts[0])
		case len(parts) > 0:
			plan = append(plan, batch(parts))
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("the server's CreateTicket runs %d statement(s) the raw baseline does not know (update rawSteps in scripts/bench/raw.go): %s",
			len(unknown), strings.Join(unknown, "; "))
	}
	if len(plan) == 0 {
		return nil, fmt.Errorf("%s: no known statement", path)
	}
	return plan, nil
}

func (e *env) rawCreate() (*scenario, error) {
	plan, err := rawPlan(e.f.rawPlan)
	if err != nil {
		return nil, err
	}
	keys := make([]rawKey, len(e.keys))
	staff := make([]string, len(e.keys))
	for i, k := range e.keys {
		if keys[i], err = parseKey(k); err != nil {
			return nil, err
		}
		// For plans without the key lookup (a server caching keys).
		if err := e.db.QueryRow("SELECT staff_id FROM api_keys WHERE id = ?", keys[i].id).Scan(&staff[i]); err != nil {
			return nil, fmt.Errorf("api key %s: %w", keys[i].id, err)
		}
	}
	var outside, inside []rawStep
	for _, s := range plan {
		if s.tx {
			inside = append(inside, s)
		} else {
			outside = append(outside, s)
		}
	}
	// The server commits in its last batch: no COMMIT round trip.
	commits := len(inside) > 0 && strings.HasSuffix(inside[len(inside)-1].sql, commitStep.sql)
	return &scenario{
		kinds: []string{"create"},
		newOp: func(i int) op {
			k, st := keys[i%len(keys)], staff[i%len(keys)]
			return func(ctx context.Context) (int, error) {
				return 0, e.rawCreateOnce(ctx, k, st, outside, inside, commits)
			}
		},
		notes: func() []string {
			source := "the statements traced from the server's CreateTicket"
			if e.f.rawPlan == "" {
				source = "all the statements the baseline knows (no trace given)"
			}
			out := []string{"raw baseline runs " + source + ", per call (database/sql, go-sql-driver/mysql, interpolateParams=true, pool of 50 like the server):"}
			for _, s := range outside {
				out = append(out, "  "+short(s.sql, 110))
			}
			if commits {
				out = append(out, "  START TRANSACTION (on a connection of its own, no database/sql Tx), sent with the next statement")
			} else {
				out = append(out, "  BEGIN")
			}
			for _, s := range inside {
				out = append(out, "  "+short(s.sql, 110))
			}
			if !commits {
				out = append(out, "  COMMIT")
			}
			return out
		},
	}, nil
}

func (e *env) rawCreateOnce(ctx context.Context, k rawKey, staffID string, outside, inside []rawStep, commits bool) (err error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	c := e.customers[mrand.IntN(len(e.customers))]
	s := &rawState{
		key: k, staffID: staffID, customer: c,
		title:       titles[mrand.IntN(len(titles))],
		description: descriptions[mrand.IntN(len(descriptions))],
		requestID:   e.requestID(),
		now:         time.Now().UTC().Truncate(time.Microsecond),
		ticketID:    newID(),
		// The "normal" policy, for plans without the policy lookup.
		warranty: 1, policyID: "normal", respTarget: 8 * 3600, resolvTarget: 72 * 3600, pauseClock: true,
	}
	s.reqHash = sha256.Sum256([]byte(c.customerID + c.productID + s.title + s.description))
	for _, step := range outside {
		if err := step.run(ctx, e.db, s); err != nil {
			return err
		}
	}
	if commits {
		return rawConnTx(ctx, e.db, s, inside)
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for _, step := range inside {
		if err := step.run(ctx, tx, s); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// rawConnTx runs steps, the last of which commits, in a transaction on a
// connection of its own, as store.runMySQLTx does: START TRANSACTION goes
// with the first step, in its round trip.
func rawConnTx(ctx context.Context, db *sql.DB, s *rawState, steps []rawStep) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	q := &beginFirst{conn: conn, begin: "START TRANSACTION"}
	for _, step := range steps {
		if err := step.run(ctx, q, s); err != nil {
			if _, rerr := conn.ExecContext(context.Background(), "ROLLBACK"); rerr != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			return err
		}
	}
	return nil
}

// beginFirst is a connection that sends START TRANSACTION in one
// multi-statement with the first statement, as the server's
// (store.beginWithFirst). The driver skips its OK result, so a query's
// row is the statement's own.
type beginFirst struct {
	conn  *sql.Conn
	begin string
}

func (b *beginFirst) first(query string) string {
	if b.begin == "" {
		return query
	}
	query, b.begin = b.begin+";"+query, ""
	return query
}

func (b *beginFirst) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return b.conn.QueryRowContext(ctx, b.first(query), args...)
}

func (b *beginFirst) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return b.conn.ExecContext(ctx, b.first(query), args...)
}

// auditChanges is the audit record of a new ticket as the server writes
// it: each JSON field of the ticket with its new value.
func auditChanges(s *rawState) string {
	c, name := s.customer, "tickets/"+s.ticketID
	ts := func(t time.Time) string { return t.Format("\\\"2006-01-02T15:04:05.999999Z\\\"") }
	q := func(s string) string { return `\"` + s + `\"` }
	fields := [][2]string{
		{"channel", q("PHONE")},
		{"createTime", ts(s.now)},
		{"customer", q("customers/" + c.customerID)},
		{"description", q(s.description)},
		{"firstContact", q("staff/" + s.staffID)},
		{"name", q(name)},
		{"priority", q("NORMAL")},
		{"product", q("customers/" + c.customerID + "/products/" + c.productID)},
		{"sla", `{\"policy\":\"slaPolicies/` + s.policyID + `\",\"responseDueTime\":` + ts(s.responseDue) + `,\"resolveDueTime\":` + ts(s.resolveDue) + `,\"pausedDuration\":\"0s\"}`},
		{"state", q("NEW")},
		{"title", q(s.title)},
		{"type", q("REPAIR")},
		{"warrantyStatus", q("WARRANTY_STATUS_IN_WARRANTY")},
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"field":"` + f[0] + `","new":"` + f[1] + `"}`)
	}
	b.WriteByte(']')
	return b.String()
}
