package service

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/changefeed"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// unaudited are JSON fields that change with every write and say nothing
// about what was changed, or that must never be stored (a key's secret).
var unaudited = []string{"etag", "updateTime", "secret"}

// authenticates are the resource types authentication reads: a change to
// one drops the authenticator's cached keys (Deps.KeysChanged). Every
// change is audited, so this is the one place that sees them all.
var authenticates = []string{"api_key", "staff", "partner"}

// audit appends a record of a change of resource to the trail, inside
// the change's own transaction so both commit or neither does. before is
// nil for a creation. Each field whose JSON value differs is recorded
// with its old and new value.
func (b *base) audit(ctx context.Context, tx *gorm.DB, resource string, before, after proto.Message) error {
	return b.auditAs(ctx, tx, resource, before, after, "")
}

// auditAs is audit with the change feed's verb for the change set by
// the caller (changefeed.Disabled) rather than derived from the fields
// it changed. Each audited change emits one event (outbox.go); a deletion
// (after nil) carries the resource's last state.
//
// A creation's record keeps the new resource marshaled (the bytes its
// event carries), not a JSON change per field: ListAuditRecords expands it
// when read, and the write path, which creates far more often than
// anyone reads the trail, renders no JSON. A change renders only the
// fields that differ (diff).
func (b *base) auditAs(ctx context.Context, tx *gorm.DB, resource string, before, after proto.Message, verb string) error {
	before, after = auditView(before), auditView(after)
	p := principal.FromContext(ctx)
	method, ok := grpc.Method(ctx)
	if !ok {
		method = p.String() // a background job: its principal names it
	}
	rec := &store.AuditRecord{
		ID: ids.New(), Principal: p.String(), Via: p.Via, Method: method, Resource: resource, CreateTime: b.now(),
	}
	rt := changefeed.ResourceType(resource)
	typ := rt + "." + verb
	state := after
	if state == nil {
		state = before
	}
	if before != nil {
		changes, err := diff(before, after)
		if err != nil || len(changes) == 0 {
			return err // an update that changed nothing is not recorded
		}
		raw, err := json.Marshal(changes)
		if err != nil {
			return err
		}
		rec.Changes = string(raw)
		if verb == "" {
			fields := make([]string, len(changes))
			for i, c := range changes {
				fields[i] = c.Field
			}
			typ = changefeed.Type(rt, false, after == nil, fields)
		}
	}
	data, err := anyBytes(state)
	if err != nil {
		return err
	}
	if before == nil {
		rec.State = data
		if verb == "" {
			typ = changefeed.Type(rt, true, false, nil)
		}
	}
	if err := store.Append(tx, rec); err != nil {
		return err
	}
	if b.keysChanged != nil && slices.Contains(authenticates, rt) {
		store.AfterCommit(tx, b.keysChanged)
	}
	return b.emit(ctx, tx, resource, typ, state, data)
}

// fieldChange is a FieldChange as stored, in the trail's JSON column.
type fieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// diff compares two states of a resource (either may be nil) field by
// field: each set field whose value differs is a change, with its old and
// new values in their JSON form, in the order of the fields' JSON names.
// Only the fields that differ are rendered.
func diff(before, after proto.Message) ([]fieldChange, error) {
	var old, cur protoreflect.Message
	var desc protoreflect.MessageDescriptor
	if before != nil {
		old = before.ProtoReflect()
		desc = old.Descriptor()
	}
	if after != nil {
		cur = after.ProtoReflect()
		desc = cur.Descriptor()
	}
	if desc == nil {
		return nil, nil
	}
	var out []fieldChange
	fields := desc.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if slices.Contains(unaudited, fd.JSONName()) {
			continue
		}
		had, has := old != nil && old.Has(fd), cur != nil && cur.Has(fd)
		if !had && !has || had && has && old.Get(fd).Equal(cur.Get(fd)) {
			continue
		}
		c := fieldChange{Field: fd.JSONName()}
		var err error
		if had {
			if c.Old, err = fieldJSON(old, fd); err != nil {
				return nil, err
			}
		}
		if has {
			if c.New, err = fieldJSON(cur, fd); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b fieldChange) int { return strings.Compare(a.Field, b.Field) })
	return out, nil
}

// fieldJSON renders one field of m as protojson renders it in the whole
// message.
func fieldJSON(m protoreflect.Message, fd protoreflect.FieldDescriptor) (string, error) {
	one := m.Type().New()
	one.Set(fd, m.Get(fd))
	obj, err := jsonFields(one.Interface())
	if err != nil {
		return "", err
	}
	return string(obj[fd.JSONName()]), nil
}

// jsonFields is m's protojson form as its fields' JSON names and values.
func jsonFields(m proto.Message) (map[string]json.RawMessage, error) {
	if m == nil {
		return nil, nil
	}
	raw, err := protojson.MarshalOptions{}.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]json.RawMessage
	return out, json.Unmarshal(raw, &out)
}

// createdChanges expands a creation's stored state into the changes the
// trail shows: every set field, as new, in the order of their names.
func createdChanges(state []byte) ([]fieldChange, error) {
	var a anypb.Any
	if err := proto.Unmarshal(state, &a); err != nil {
		return nil, err
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return nil, err
	}
	return diff(nil, m)
}

type auditServer struct {
	aftersalesv1.UnimplementedAuditServiceServer
	*base
}

var auditList = listSpec{columns: []column{
	{field: filter.Field{Name: "resource"}, name: "resource"},
	{field: filter.Field{Name: "principal"}, name: "principal"},
	{field: filter.Field{Name: "method"}, name: "method"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

func (s *auditServer) ListAuditRecords(ctx context.Context, req *aftersalesv1.ListAuditRecordsRequest) (*aftersalesv1.ListAuditRecordsResponse, error) {
	rows, next, err := list[store.AuditRecord](s.db.Gorm(ctx).Model(&store.AuditRecord{}), auditList, listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListAuditRecordsResponse{NextPageToken: next}
	for i := range rows {
		r := &rows[i]
		rec := &aftersalesv1.AuditRecord{
			Name: resname.Format("auditRecords", r.ID), Principal: r.Principal, Via: r.Via, Method: r.Method,
			Resource: r.Resource, CreateTime: ts(r.CreateTime),
		}
		var changes []fieldChange
		if r.State != nil {
			if changes, err = createdChanges(r.State); err != nil {
				return nil, s.toStatus(ctx, err)
			}
		} else {
			_ = json.Unmarshal([]byte(r.Changes), &changes)
		}
		for _, c := range changes {
			rec.Changes = append(rec.Changes, &aftersalesv1.FieldChange{Field: c.Field, OldValue: c.Old, NewValue: c.New})
		}
		resp.AuditRecords = append(resp.AuditRecords, rec)
	}
	return resp, nil
}

// auditView is what the audit trail and the change feed keep of a
// resource: the resource itself, except a fee schedule, whose lines (up to
// 5000) would not fit an audit record; they are immutable once published
// and GetFeeSchedule returns them.
func auditView(m proto.Message) proto.Message {
	if fs, ok := m.(*aftersalesv1.FeeSchedule); ok && fs != nil && len(fs.GetLines())+len(fs.GetCategories()) > 0 {
		c := proto.CloneOf(fs)
		c.Lines, c.Categories = nil, nil
		return c
	}
	return m
}
