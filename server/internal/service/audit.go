package service

import (
	"context"
	"encoding/json"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
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
func (b *base) auditAs(ctx context.Context, tx *gorm.DB, resource string, before, after proto.Message, verb string) error {
	changes, err := diff(before, after)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	raw, err := json.Marshal(changes)
	if err != nil {
		return err
	}
	p := principal.FromContext(ctx)
	method, ok := grpc.Method(ctx)
	if !ok {
		method = p.String() // a background job: its principal names it
	}
	if err := store.Translate(tx.Create(&store.AuditRecord{
		ID: ids.New(), Principal: p.String(), Via: p.Via, Method: method, Resource: resource,
		Changes: string(raw), CreateTime: b.now(),
	}).Error); err != nil {
		return err
	}
	rt := changefeed.ResourceType(resource)
	typ := rt + "." + verb
	if verb == "" {
		fields := make([]string, len(changes))
		for i, c := range changes {
			fields[i] = c.Field
		}
		typ = changefeed.Type(rt, before == nil, after == nil, fields)
	}
	state := after
	if state == nil {
		state = before
	}
	return b.emit(ctx, tx, resource, typ, state)
}

// fieldChange is a FieldChange as stored, in the trail's JSON column.
type fieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// diff compares two messages field by field in their JSON form.
func diff(before, after proto.Message) ([]fieldChange, error) {
	old, err := jsonFields(before)
	if err != nil {
		return nil, err
	}
	cur, err := jsonFields(after)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range old {
		keys = append(keys, k)
	}
	for k := range cur {
		if _, ok := old[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []fieldChange
	for _, k := range keys {
		if slices.Contains(unaudited, k) || string(old[k]) == string(cur[k]) {
			continue
		}
		out = append(out, fieldChange{Field: k, Old: string(old[k]), New: string(cur[k])})
	}
	return out, nil
}

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
		_ = json.Unmarshal([]byte(r.Changes), &changes)
		for _, c := range changes {
			rec.Changes = append(rec.Changes, &aftersalesv1.FieldChange{Field: c.Field, OldValue: c.Old, NewValue: c.New})
		}
		resp.AuditRecords = append(resp.AuditRecords, rec)
	}
	return resp, nil
}
