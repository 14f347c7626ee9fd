package service

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
)

// base is what every service handler shares.
type base struct {
	db    *store.DB
	log   *slog.Logger
	rules Rules
	feed  Feed
	// events fires when this replica's sequencer gave new events their
	// positions, to wake the feed's readers at once.
	events *signal
	// keysChanged, if set, is called after a change to what
	// authentication reads (keys, staff, partners) commits.
	keysChanged func()
}

// now is the store's clock: UTC, truncated to what DATETIME(6) keeps, so
// a value written and read back compares equal.
func (b *base) now() time.Time { return b.db.Now() }

// idempotent is a request that carries an AIP-155 request_id.
type idempotent interface {
	proto.Message
	GetRequestId() string
}

// mutate runs fn in one write transaction guarded by the request's
// request_id: the first call does the work and stores its response in the
// same transaction; a retry with the same id and the same request returns
// that stored response; the same id with a different request is
// INVALID_ARGUMENT. A failed fn rolls everything back, so a retry runs
// afresh. The response is stored last (store.SaveIdempotent), so a retry
// does its work before it finds it done, rolls it back and replays: a
// retry of an update whose first run already moved the row on (a stale
// etag now, a state it left) answers with the first response too.
func mutate[R proto.Message](ctx context.Context, b *base, method string, req idempotent, fn func(tx *gorm.DB) (R, error)) (R, error) {
	var (
		resp R
		hash []byte
		id   = req.GetRequestId()
	)
	if id != "" {
		var err error
		if hash, err = requestHash(req); err != nil {
			return resp, b.toStatus(ctx, err)
		}
	}
	err := b.db.InTx(ctx, func(tx *gorm.DB) error {
		var err error
		if resp, err = fn(tx); err != nil {
			return err
		}
		if creates(method) {
			name, created := createdResource(resp)
			if err := b.audit(ctx, tx, name, nil, created); err != nil {
				return err
			}
		}
		if id == "" {
			return nil
		}
		out, err := proto.Marshal(resp)
		if err != nil {
			return err
		}
		return b.db.SaveIdempotent(tx, method, id, hash, resourceName(resp), out)
	})
	if err != nil && id != "" {
		prior, perr := b.db.Replay(ctx, method, id, hash)
		switch {
		case errors.Is(perr, store.ErrIdempotencyMismatch):
			err = perr
		case prior != nil:
			replay := resp.ProtoReflect().Type().New().Interface().(R)
			if err = proto.Unmarshal(prior.Response, replay); err == nil {
				return replay, nil
			}
		}
	}
	if err != nil {
		var zero R
		return zero, b.toStatus(ctx, err)
	}
	return resp, nil
}

// requestHash fingerprints a request without its request_id, so that a
// retry matches and a different request under the same id does not.
func requestHash(req idempotent) ([]byte, error) {
	c := proto.Clone(req)
	if fd := c.ProtoReflect().Descriptor().Fields().ByName("request_id"); fd != nil {
		c.ProtoReflect().Clear(fd)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(b)
	return h[:], nil
}

// creates reports whether method creates a resource (Create…, Add…): its
// audit record is the whole new resource. Other methods change one and
// record their own before and after.
func creates(method string) bool {
	_, m, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	return strings.HasPrefix(m, "Create") || strings.HasPrefix(m, "Add")
}

// createdResource finds the created resource in a response: the response
// itself, or the resource it wraps (CreateApiKeyResponse).
func createdResource(resp proto.Message) (string, proto.Message) {
	if name := resourceName(resp); name != "" {
		return name, resp
	}
	fields := resp.ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Message() != nil && fd.Cardinality() != protoreflect.Repeated {
			m := resp.ProtoReflect().Get(fd).Message().Interface()
			if name := resourceName(m); name != "" {
				return name, m
			}
		}
	}
	return "", resp
}

// resourceName returns the response's name field, if it has one.
func resourceName(m proto.Message) string {
	if fd := m.ProtoReflect().Descriptor().Fields().ByName("name"); fd != nil {
		return m.ProtoReflect().Get(fd).String()
	}
	return ""
}

// checkEtag compares a client's etag with the row's version; an empty
// etag skips the check (AIP-154 makes it optional).
func checkEtag(sent, name string, version int64) error {
	if sent != "" && !etag.Match(sent, name, version) {
		return etagMismatch(name)
	}
	return nil
}

// parseName returns the id of a top-level resource name, or an
// INVALID_ARGUMENT naming field.
func parseName(field, name, collection string) (string, error) {
	id, ok := resname.ID(name, collection)
	if !ok {
		return "", apierr.InvalidField(field, "must be a resource name of the form "+collection+"/{id}")
	}
	return id, nil
}

// optionalName is parseName for a reference that may be empty.
func optionalName(field, name, collection string) (string, error) {
	if name == "" {
		return "", nil
	}
	return parseName(field, name, collection)
}

// maskPaths returns the mask's paths in snake_case. gRPC clients send
// proto field names; JSON clients may send the JSON names
// (?updateMask=displayName), which the gateway passes through as they are.
func maskPaths(mask *fieldmaskpb.FieldMask) []string {
	out := make([]string, len(mask.GetPaths()))
	for i, p := range mask.GetPaths() {
		var b strings.Builder
		for _, r := range p {
			if 'A' <= r && r <= 'Z' {
				b.WriteByte('_')
				r += 'a' - 'A'
			}
			b.WriteRune(r)
		}
		out[i] = b.String()
	}
	return out
}

// updatePaths validates an AIP-134 update mask against the fields that
// may be updated, returning the paths to apply. An empty mask means every
// updatable field. Unknown and output-only paths are INVALID_ARGUMENT.
func updatePaths(mask *fieldmaskpb.FieldMask, updatable []string) ([]string, error) {
	// The gateway derives a PATCH's mask from the body's fields, so the
	// name and the etag (which identify and guard the update rather than
	// change anything) are ignored rather than refused.
	var paths []string
	for _, p := range maskPaths(mask) {
		if p != "name" && p != "etag" {
			paths = append(paths, p)
		}
	}
	switch {
	case len(mask.GetPaths()) == 0:
		return updatable, nil
	case len(paths) == 0:
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_INVALID_UPDATE_MASK, apierr.Violation{
			Field: "update_mask", Description: "names no field to update; updatable: " + strings.Join(updatable, ", "),
		})
	}
	for _, p := range paths {
		if p == "*" {
			return updatable, nil
		}
		if !slices.Contains(updatable, p) {
			return nil, apierr.Invalid(aftersalesv1.ErrorReason_INVALID_UPDATE_MASK, apierr.Violation{
				Field:       "update_mask",
				Description: "path " + p + " cannot be updated; updatable: " + strings.Join(updatable, ", "),
			})
		}
	}
	return paths, nil
}

// lockRow reads the row with id into dst inside tx, locking it for the
// rest of the transaction so concurrent changes of one resource serialise
// instead of overwriting each other. SQLite needs no row lock: its write
// transactions are exclusive.
func lockRow(tx *gorm.DB, dst any, id string) error {
	q := tx
	if tx.Dialector.Name() == store.DialectMySQL {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return store.Translate(q.Where("id = ?", id).Take(dst).Error)
}

// touchRow writes the row of model with id (version+1 and update_time)
// in a transaction that reads it to decide about other rows: "is this
// the campaign's last open target", "has this trainee an open
// enrolment". On one MySQL server a row lock would serialise two such
// transactions, but on Galera locks do not cross nodes: only writes to
// a common row make certification reject one of two transactions from
// different nodes (InTx then reruns it, and it sees the other's work).
// The UPDATE also takes the row lock, so it replaces lockRow there. A
// missing row is no error; the caller's own read finds none.
func touchRow(tx *gorm.DB, model any, id string) error {
	return store.Translate(tx.Model(model).Where("id = ?", id).
		UpdateColumns(map[string]any{"version": gorm.Expr("version + 1"), "update_time": tx.NowFunc()}).Error)
}

// exists reports whether a row of model with id exists, inside tx.
func exists(tx *gorm.DB, model any, id string) (bool, error) {
	var n int64
	if err := tx.Model(model).Where("id = ?", id).Limit(1).Count(&n).Error; err != nil {
		return false, store.Translate(err)
	}
	return n > 0, nil
}

// ts converts a stored time to a Timestamp, nil for the zero time.
func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// tsPtr is ts for nullable columns.
func tsPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// timePtr converts an optional Timestamp to a nullable column value.
func timePtr(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime().UTC().Truncate(time.Microsecond)
	return &v
}

// isNotFound reports a store ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
