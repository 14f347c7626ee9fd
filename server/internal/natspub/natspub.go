// Package natspub publishes the platform's change events to a NATS
// JetStream stream, for companies that already run a broker and would
// rather consume events from it than poll ListEvents or receive webhooks.
//
// Every event goes to the subject <prefix>.<event type> (for example
// aftersales.events.ticket.assigned) with its id in the Nats-Msg-Id
// header. JetStream drops a message whose id it has already stored within
// the stream's duplicate window, so a relay that crashes after publishing
// but before recording its progress may publish the same events again:
// subscribers still see each event once, as long as the relay catches up
// within the window.
//
// The stream is created on first use with a minimal configuration that
// nats-server 2.9 and later accept; an operator may create it beforehand
// with their own limits (retention, replicas, max age), which Connect
// keeps.
package natspub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Options.
const (
	DefaultStream          = "AFTERSALES_EVENTS"
	DefaultSubjectPrefix   = "aftersales.events"
	DefaultDuplicateWindow = 2 * time.Minute
)

const (
	// connectTimeout bounds each dial, initial or reconnect. nats.Connect
	// takes no context, so this is what makes a wrong URL fail promptly.
	connectTimeout = 5 * time.Second
	// drainTimeout bounds Close. Publish waits for its ack, so draining
	// only has in-flight acks to wait for.
	drainTimeout = 5 * time.Second
)

// Options configures Connect. The zero value uses the defaults.
type Options struct {
	// Stream is the JetStream stream the events are stored in. Default
	// DefaultStream.
	Stream string
	// SubjectPrefix is prepended to the event type to make the subject;
	// the stream captures <SubjectPrefix>.>. Default DefaultSubjectPrefix.
	SubjectPrefix string
	// DuplicateWindow is how long JetStream remembers message ids to drop
	// duplicates. It must cover the longest time a relay may take to
	// publish an event again after a crash. Connect widens the window of
	// an existing stream to this but never narrows it. Default
	// DefaultDuplicateWindow.
	DuplicateWindow time.Duration
	// Name is the connection name shown by the server's monitoring
	// (e.g. "aftersales-server host-1"). Optional.
	Name string
}

func (o Options) withDefaults() Options {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.SubjectPrefix == "" {
		o.SubjectPrefix = DefaultSubjectPrefix
	}
	if o.DuplicateWindow <= 0 {
		o.DuplicateWindow = DefaultDuplicateWindow
	}
	return o
}

// Publisher publishes change events to a JetStream stream. It is safe for
// concurrent use. Once connected it reconnects forever on its own; a
// Publish during an outage fails when its context ends and may be retried
// with the same id.
type Publisher struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream string
	prefix string
	closed chan struct{} // closed by the connection's ClosedHandler
}

// Connect connects to the NATS server(s) at url (a NATS URL, or several
// separated by commas) and makes sure the stream exists with the
// subjects and duplicate window of o, creating it if needed. ctx bounds
// the stream set-up; each dial is bounded by a fixed timeout, and a
// server that cannot be reached at all fails Connect at once rather
// than being retried.
func Connect(ctx context.Context, url string, o Options) (*Publisher, error) {
	o = o.withDefaults()
	if !validSubject(o.SubjectPrefix) {
		return nil, fmt.Errorf("natspub: invalid subject prefix %q", o.SubjectPrefix)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("natspub: connect to %s: %w", redact(url), err)
	}

	closed := make(chan struct{})
	nc, err := nats.Connect(url,
		nats.Name(o.Name),
		nats.Timeout(connectTimeout),
		// Keep trying through broker restarts and outages; the caller's
		// Publish contexts decide how long an event may wait.
		nats.MaxReconnects(-1),
		nats.DrainTimeout(drainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
	)
	if err != nil {
		return nil, fmt.Errorf("natspub: connect to %s: %w", redact(url), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natspub: jetstream: %w", err)
	}
	p := &Publisher{nc: nc, js: js, stream: o.Stream, prefix: o.SubjectPrefix, closed: closed}
	if err := p.ensureStream(ctx, o); err != nil {
		nc.Close()
		return nil, err
	}
	return p, nil
}

// ensureStream creates the stream, or adds the subjects of o to an
// existing one and widens its duplicate window to o's.
//
// An existing stream is updated from its own configuration rather than
// from a fresh one: a fresh configuration would reset every limit the
// operator set (max age, max bytes, replicas) to its zero value. When the
// stream already fits, nothing is sent, so a deployment whose credentials
// may publish but not edit streams works against a prepared stream.
func (p *Publisher) ensureStream(ctx context.Context, o Options) error {
	subject := o.SubjectPrefix + ".>"
	s, err := p.js.Stream(ctx, o.Stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		// Only the fields nats-server 2.9 knows about; the rest keep the
		// server's defaults (limits retention, no limits, one replica).
		_, err = p.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:       o.Stream,
			Subjects:   []string{subject},
			Storage:    jetstream.FileStorage,
			Duplicates: o.DuplicateWindow,
		})
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("natspub: create stream %s: %w", o.Stream, err)
		}
		if err == nil {
			return nil
		}
		// Another replica created it between our lookup and our create:
		// check its configuration like any existing stream's.
		if s, err = p.js.Stream(ctx, o.Stream); err != nil {
			return fmt.Errorf("natspub: stream %s: %w", o.Stream, err)
		}
	case err != nil:
		return fmt.Errorf("natspub: stream %s: %w", o.Stream, err)
	}

	cfg := s.CachedInfo().Config
	hasSubject := slices.Contains(cfg.Subjects, subject)
	if hasSubject && cfg.Duplicates >= o.DuplicateWindow {
		return nil
	}
	if !hasSubject {
		cfg.Subjects = append(cfg.Subjects, subject)
	}
	cfg.Duplicates = max(cfg.Duplicates, o.DuplicateWindow)
	if _, err := p.js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("natspub: update stream %s: %w", o.Stream, err)
	}
	return nil
}

// Publish stores body in the stream under the subject
// <prefix>.<eventType> with id as its message id, and returns once
// JetStream has acknowledged it. Publishing an id already stored within
// the duplicate window succeeds without storing it again, so a caller
// may retry any failed or uncertain Publish with the same id.
//
// eventType is one or more dot-separated tokens such as
// "ticket.assigned"; wildcards and whitespace are refused. Without a
// deadline on ctx the wait for the ack is bounded by 5 seconds.
func (p *Publisher) Publish(ctx context.Context, id int64, eventType string, body []byte) error {
	if !validSubject(eventType) {
		return fmt.Errorf("natspub: publish event %d: invalid event type %q", id, eventType)
	}
	subject := p.prefix + "." + eventType
	// An ack with Duplicate set means an earlier attempt was stored, which
	// is as good as storing this one: only the error matters.
	_, err := p.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: body},
		jetstream.WithMsgID(strconv.FormatInt(id, 10)),
		// Refuse rather than silently land in another stream, should an
		// operator have pointed a different stream at these subjects.
		jetstream.WithExpectStream(p.stream),
	)
	if err != nil {
		return fmt.Errorf("natspub: publish event %d to %s: %w", id, subject, err)
	}
	return nil
}

// Close drains the connection, letting in-flight acks arrive, and closes
// it. It waits at most a few seconds, and may be called more than once.
func (p *Publisher) Close() {
	if err := p.nc.Drain(); err != nil {
		// Already closed or draining: closing now is what was asked.
		p.nc.Close()
	}
	// The drain ends in a close after at most drainTimeout; the margin
	// only guards against waiting forever on the callback.
	select {
	case <-p.closed:
	case <-time.After(drainTimeout + time.Second):
		p.nc.Close()
	}
}

// validSubject reports whether s is a subject of literal tokens: no
// empty token, no wildcard, no whitespace. The NATS server would accept
// some of these on publish and deliver them to surprising subscribers.
func validSubject(s string) bool {
	if s == "" {
		return false
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return false
		}
	}
	return true
}

// redact hides the passwords and tokens of a comma-separated list of NATS
// URLs, which are logged with Connect's errors.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, s := range parts {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			parts[i] = "<invalid URL>"
			continue
		}
		if u.User != nil {
			if _, hasPass := u.User.Password(); !hasPass {
				// nats://token@host: the user part is the token.
				u.User = url.User("xxxxx")
			}
		}
		parts[i] = u.Redacted()
	}
	return strings.Join(parts, ",")
}
