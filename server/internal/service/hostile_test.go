package service_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/api/annotations"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// This file is the hostile-input test: every RPC of aftersales.v1,
// enumerated from the registered descriptors so that a new RPC is covered
// without a change here, is sent malformed and oversized fields over gRPC
// and over the JSON gateway, as the bootstrap admin so that access is
// never the reason for a refusal. Every answer must be a client error
// carrying an ErrorInfo (INVALID_ARGUMENT also a BadRequest with field
// violations), and the database must be unchanged afterwards.
//
// FuzzGateway (gateway_fuzz_test.go) throws arbitrary paths, queries and bodies at
// the gateway with the same expectations, minus the database check.

// Oversized strings. Every string field gets one longer than any field's
// limit (10000 characters) and than a TEXT column (65535 bytes), so that
// a field without a limit cannot slip into the database either, or fail
// there. The body's first text field (a ticket's title) also gets 1 MiB,
// well below the 4 MB request limit: the field's own validation must
// refuse it, not the transport. (1 MiB in every field would make this
// test minutes longer under the race detector and find nothing more.)
const (
	hostileOversize = 70_000
	hostileHuge     = 1 << 20
)

// hostileRefFields are the string fields that hold resource names besides
// name and parent (the proto comments say "staff/{staff}" and so on;
// descriptors keep no comments). They get malformed names.
var hostileRefFields = map[string]bool{
	"assignee": true, "complaint": true, "course": true, "customer": true, "escalated_to": true,
	"event": true, "first_contact": true, "follow_up": true, "handler": true, "manager": true,
	"partner": true, "performed_by": true, "policy": true, "product": true, "responsible_staff": true,
	"staff": true, "ticket": true,
}

// hostileNames are malformed resource names and well-formed ones with
// hostile ids.
var hostileNames = []string{
	"tickets/",
	"../",
	"tickets/../../etc/passwd",
	"tickets/x/",
	" tickets/x",
	"票据/😀",
	"tickets/😀",
	"tickets/a\x00b",
	"\x00",
	"tickets/" + strings.Repeat("x", 10_000),
	strings.Repeat("tickets/", 2_000),
}

// hostileStrings are malformed values of string fields with a grammar of
// their own.
var hostileStrings = map[string][]string{
	"filter":     {"state = = NEW", "no_such_field = 1", "create_time > yesterday", "(state = NEW)", "state = NEW OR state = CLOSED", "\x00", `title = "unterminated`},
	"order_by":   {"create_time desc desc", "no_such_field", "create_time, create_time", "create_time;drop table tickets", "\x00"},
	"page_token": {"garbage", "AQ", strings.Repeat("A", 64), "%%%", "\x00"},
}

// hostileMutation is one malformed field of a request: how to set it in
// the proto message and in the gateway's JSON.
type hostileMutation struct {
	field   string // dotted proto path of the malformed field
	what    string // "ticket.title: 1 MB string"
	setMsg  func(protoreflect.Message)
	setJSON func(map[string]any)
}

// hostileMutations lists the malformed fields of messages of type md, at
// most depth levels of message fields deep. pathBound names the fields
// that are path variables of the HTTP route; they are required, so they
// also get the empty string.
func hostileMutations(md protoreflect.MessageDescriptor, prefix string, depth int, pathBound map[string]bool) []hostileMutation {
	var out []hostileMutation
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		path := prefix + string(fd.Name())
		if fd.IsMap() {
			continue
		}
		var leaves []hostileLeaf
		switch fd.Kind() {
		case protoreflect.MessageKind, protoreflect.GroupKind:
			switch fd.Message().FullName() {
			case "google.protobuf.Timestamp":
				leaves = hostileTimestamps
			case "google.protobuf.Duration":
				leaves = hostileDurations
			case "google.protobuf.FieldMask":
				leaves = hostileMasks
			default:
				if depth > 1 && !strings.HasPrefix(string(fd.Message().FullName()), "google.") {
					for _, m := range hostileMutations(fd.Message(), path+".", depth-1, pathBound) {
						out = append(out, hostileNest(fd, m))
					}
				}
			}
		case protoreflect.StringKind:
			var values []string
			switch {
			case fd.Name() == "name" || fd.Name() == "parent" || pathBound[path]:
				values = append([]string{""}, hostileNames...)
			case hostileRefFields[string(fd.Name())]:
				values = hostileNames
			}
			values = append(values, hostileStrings[string(fd.Name())]...)
			values = append(values, strings.Repeat("x", hostileOversize))
			for _, v := range values {
				leaves = append(leaves, hostileLeaf{what: describe(v), scalar: protoreflect.ValueOfString(v), json: v})
			}
		case protoreflect.EnumKind:
			for _, n := range []int32{999, -1} {
				leaves = append(leaves, hostileLeaf{what: fmt.Sprintf("enum number %d", n), scalar: protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), json: n})
			}
		case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
			for _, n := range []int32{-1, math.MinInt32} {
				leaves = append(leaves, hostileLeaf{what: fmt.Sprint(n), scalar: protoreflect.ValueOfInt32(n), json: n})
			}
		case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
			for _, n := range []int64{-1, math.MinInt64} {
				leaves = append(leaves, hostileLeaf{what: fmt.Sprint(n), scalar: protoreflect.ValueOfInt64(n), json: strconv.FormatInt(n, 10)})
			}
		case protoreflect.DoubleKind:
			for _, v := range []float64{math.NaN(), math.Inf(1)} {
				leaves = append(leaves, hostileLeaf{what: fmt.Sprint(v), scalar: protoreflect.ValueOfFloat64(v), json: fmt.Sprint(v)})
			}
		}
		for _, l := range leaves {
			out = append(out, hostileSet(fd, path, l))
		}
	}
	return out
}

// hostileHugeBody is the 1 MiB mutation of md's body message (the field
// that the HTTP rule names as the body, such as a CreateTicketRequest's
// ticket): in its first string field that holds no resource name.
func hostileHugeBody(md protoreflect.MessageDescriptor, route hostileRoute) []hostileMutation {
	body := md.Fields().ByName(protoreflect.Name(route.body))
	if body == nil || body.Message() == nil || body.IsList() {
		return nil
	}
	fields := body.Message().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.StringKind || fd.IsList() || fd.Name() == "name" || hostileRefFields[string(fd.Name())] {
			continue
		}
		v := strings.Repeat("x", hostileHuge)
		path := string(body.Name()) + "." + string(fd.Name())
		return []hostileMutation{hostileNest(body, hostileSet(fd, path, hostileLeaf{what: describe(v), scalar: protoreflect.ValueOfString(v), json: v}))}
	}
	return nil
}

// describe names a hostile string value briefly.
func describe(v string) string {
	if len(v) > 40 {
		return fmt.Sprintf("%q… (%d bytes)", v[:20], len(v))
	}
	return strconv.Quote(v)
}

// hostileLeaf is a malformed value: a scalar, or a well-known message
// (Timestamp, Duration, FieldMask) that is malformed over gRPC, with its
// malformed JSON spelling.
type hostileLeaf struct {
	what   string
	scalar protoreflect.Value
	wkt    proto.Message
	json   any
}

// value returns the leaf as a field value; empty is a new value of the
// field, which a well-known message is copied into (the request is a
// dynamic message, whose fields take only dynamic messages).
func (l hostileLeaf) value(empty func() protoreflect.Value) protoreflect.Value {
	if l.wkt == nil {
		return l.scalar
	}
	v := empty()
	raw, err := proto.Marshal(l.wkt)
	if err == nil {
		err = proto.Unmarshal(raw, v.Message().Interface())
	}
	if err != nil {
		panic(err) // the values above are all marshalable
	}
	return v
}

// hostileSet is the mutation that sets field fd to l, or makes l the one
// element of a repeated fd.
func hostileSet(fd protoreflect.FieldDescriptor, path string, l hostileLeaf) hostileMutation {
	m := hostileMutation{field: path, what: path + ": " + l.what}
	if fd.IsList() {
		m.what += " (list element)"
		m.setMsg = func(msg protoreflect.Message) {
			list := msg.Mutable(fd).List()
			list.Append(l.value(list.NewElement))
		}
		m.setJSON = func(j map[string]any) { j[fd.JSONName()] = []any{l.json} }
		return m
	}
	m.setMsg = func(msg protoreflect.Message) {
		msg.Set(fd, l.value(func() protoreflect.Value { return msg.NewField(fd) }))
	}
	m.setJSON = func(j map[string]any) { j[fd.JSONName()] = l.json }
	return m
}

// hostileNest applies a mutation of a message field's field: in the
// field itself or, for a repeated field, in its one element.
func hostileNest(fd protoreflect.FieldDescriptor, m hostileMutation) hostileMutation {
	return hostileMutation{
		field: m.field,
		what:  m.what,
		setMsg: func(msg protoreflect.Message) {
			if fd.IsList() {
				l := msg.Mutable(fd).List()
				e := l.NewElement()
				m.setMsg(e.Message())
				l.Append(e)
				return
			}
			m.setMsg(msg.Mutable(fd).Message())
		},
		setJSON: func(j map[string]any) {
			if fd.IsList() {
				e := map[string]any{}
				m.setJSON(e)
				j[fd.JSONName()] = []any{e}
				return
			}
			child, _ := j[fd.JSONName()].(map[string]any)
			if child == nil {
				child = map[string]any{}
				j[fd.JSONName()] = child
			}
			m.setJSON(child)
		},
	}
}

// Malformed well-known values, each with a malformed JSON spelling.
var (
	hostileTimestamps = []hostileLeaf{
		{what: "before year 1", wkt: &timestamppb.Timestamp{Seconds: -62135596801}, json: "0000-12-31T23:59:59Z"},
		{what: "after year 9999", wkt: &timestamppb.Timestamp{Seconds: 253402300800}, json: "10000-01-01T00:00:00Z"},
		{what: "negative nanos", wkt: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}, json: "2026-13-45T99:00:00Z"},
		{what: "nanos overflow", wkt: &timestamppb.Timestamp{Seconds: 1, Nanos: 1e9}, json: "yesterday"},
	}
	hostileDurations = []hostileLeaf{
		{what: "negative", wkt: &durationpb.Duration{Seconds: -1}, json: "-1s"},
		{what: "beyond 10000 years", wkt: &durationpb.Duration{Seconds: 315576000001}, json: "315576000001s"},
		{what: "mixed signs", wkt: &durationpb.Duration{Seconds: 1, Nanos: -1}, json: "1 hour"},
	}
	hostileMasks = []hostileLeaf{
		{what: "unknown path", wkt: &fieldmaskpb.FieldMask{Paths: []string{"no_such_field"}}, json: "noSuchField"},
		{what: "sub-path of a scalar", wkt: &fieldmaskpb.FieldMask{Paths: []string{"name.first"}}, json: "name.first"},
		{what: "empty path", wkt: &fieldmaskpb.FieldMask{Paths: []string{""}}, json: ","},
		{what: "oversized", wkt: &fieldmaskpb.FieldMask{Paths: []string{strings.Repeat("x", hostileOversize)}}, json: strings.Repeat("x", hostileOversize)},
	}
)

// hostileRoute is a method's primary HTTP binding.
type hostileRoute struct {
	verb, template, body string
}

func hostileRouteOf(md protoreflect.MethodDescriptor) (hostileRoute, bool) {
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil {
		return hostileRoute{}, false
	}
	r := hostileRoute{body: rule.GetBody()}
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		r.verb, r.template = http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		r.verb, r.template = http.MethodPost, p.Post
	case *annotations.HttpRule_Patch:
		r.verb, r.template = http.MethodPatch, p.Patch
	case *annotations.HttpRule_Put:
		r.verb, r.template = http.MethodPut, p.Put
	case *annotations.HttpRule_Delete:
		r.verb, r.template = http.MethodDelete, p.Delete
	default:
		return hostileRoute{}, false
	}
	return r, true
}

// vars returns the route's path variables: field path → pattern.
func (r hostileRoute) vars() map[string]string {
	out := map[string]string{}
	for _, sub := range accPathVar.FindAllStringSubmatch(r.template, -1) {
		out[sub[1]] = sub[3]
	}
	return out
}

// fieldByPath walks a dotted proto field path; mutable creates the
// messages on the way.
func fieldByPath(m protoreflect.Message, path string) (protoreflect.Message, protoreflect.FieldDescriptor) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(p))
		m = m.Mutable(fd).Message()
	}
	return m, m.Descriptor().Fields().ByName(protoreflect.Name(parts[len(parts)-1]))
}

// jsonPath is the JSON spelling of a dotted proto field path.
func jsonPath(md protoreflect.MessageDescriptor, path string) []string {
	var out []string
	for p := range strings.SplitSeq(path, ".") {
		fd := md.Fields().ByName(protoreflect.Name(p))
		out = append(out, fd.JSONName())
		if fd.Message() != nil {
			md = fd.Message()
		}
	}
	return out
}

// httpRequest spells a request for the gateway: the path with its
// variables filled from req, and the JSON form of base with mutate
// applied: the body field (or all of it) as the body, and what is left as
// query parameters. base is req before its mutation, which JSON may not
// be able to spell (a Timestamp out of range); mutate spells it.
func (r hostileRoute) httpRequest(t *testing.T, base, req protoreflect.Message, mutate func(map[string]any)) (path, query string, body any) {
	t.Helper()
	raw, err := protojson.Marshal(base.Interface())
	require.NoError(t, err)
	j := map[string]any{}
	require.NoError(t, json.Unmarshal(raw, &j))
	if mutate != nil {
		mutate(j)
	}
	path = accPathVar.ReplaceAllStringFunc(r.template, func(v string) string {
		field := accPathVar.FindStringSubmatch(v)[1]
		m, fd := fieldByPath(req, field)
		// The gateway overwrites the body's copy with the path's.
		jp := jsonPath(req.Descriptor(), field)
		parent := j
		for _, k := range jp[:len(jp)-1] {
			parent, _ = parent[k].(map[string]any)
			if parent == nil {
				break
			}
		}
		if parent != nil {
			delete(parent, jp[len(jp)-1])
		}
		// Unescaped: url.URL escapes what must be.
		return m.Get(fd).String()
	})
	switch r.body {
	case "*":
		body, j = j, nil
	case "":
	default:
		k := req.Descriptor().Fields().ByName(protoreflect.Name(r.body)).JSONName()
		body = j[k]
		if body == nil {
			body = map[string]any{}
		}
		delete(j, k)
	}
	q := url.Values{}
	flattenQuery(q, "", j)
	return path, q.Encode(), body
}

// flattenQuery adds the JSON value v as query parameters named by dotted
// paths, the way the gateway reads them. Lists of objects cannot be
// spelt and are left out.
func flattenQuery(q url.Values, prefix string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if prefix != "" {
				k = prefix + "." + k
			}
			flattenQuery(q, k, e)
		}
	case []any:
		for _, e := range x {
			if _, ok := e.(map[string]any); !ok {
				flattenQuery(q, prefix, e)
			}
		}
	case string:
		q.Add(prefix, x)
	case float64:
		q.Add(prefix, strconv.FormatFloat(x, 'f', -1, 64))
	case int32:
		q.Add(prefix, strconv.Itoa(int(x)))
	case bool:
		q.Add(prefix, strconv.FormatBool(x))
	}
}

// hostileClient does not follow redirects: a redirect is the answer.
var hostileClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// hostileDo sends one request to the gateway as actor; body is JSON
// unless it is already []byte.
func hostileDo(e *env, method string, u *url.URL, actor string, body any) (httpResult, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return httpResult{}, err
		}
		rd = bytes.NewReader(raw)
	}
	base, err := url.Parse(e.baseURL)
	if err != nil {
		return httpResult{}, err
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	req, err := http.NewRequest(method, base.String(), rd)
	if err != nil {
		return httpResult{}, err
	}
	req.URL = u
	req.Header.Set("Content-Type", "application/json")
	if actor != "" {
		req.Header.Set("Authorization", "Bearer "+bearer(actor))
	}
	resp, err := hostileClient.Do(req)
	if err != nil {
		return httpResult{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return httpResult{}, err
	}
	r := httpResult{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), raw: raw}
	if strings.HasPrefix(r.contentType, "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			return r, fmt.Errorf("answer is not JSON: %w: %q", err, raw)
		}
	}
	return r, nil
}

// hostileClientCodes are the codes that refuse a client's input.
var hostileClientCodes = map[codes.Code]bool{
	codes.InvalidArgument: true, codes.NotFound: true, codes.FailedPrecondition: true,
	codes.AlreadyExists: true, codes.Aborted: true, codes.OutOfRange: true,
}

// grpcRefusal returns what is wrong with err as the answer to hostile
// input, or "" when it is a proper refusal.
func grpcRefusal(err error) string { return refusal(err, false) }

// refusal is grpcRefusal; wholeBody lets a field violation leave out the
// field, which the gateway does for a body it cannot read at all, as
// Google's APIs do.
func refusal(err error, wholeBody bool) string {
	if err == nil {
		return "accepted"
	}
	st := status.Convert(err)
	switch {
	case !hostileClientCodes[st.Code()]:
		return fmt.Sprintf("%s is not a client error: %s", st.Code(), st.Message())
	case apierr.Reason(err) == aftersalesv1.ErrorReason_ERROR_REASON_UNSPECIFIED:
		return fmt.Sprintf("%s without an ErrorInfo: %s", st.Code(), st.Message())
	case st.Code() == codes.InvalidArgument && len(apierr.FieldViolations(err)) == 0:
		return "INVALID_ARGUMENT without field violations: " + st.Message()
	}
	for _, v := range apierr.FieldViolations(err) {
		if v.Field == "" && !wholeBody || v.Description == "" {
			return fmt.Sprintf("field violation without field or description: %+v", v)
		}
	}
	return ""
}

// jsonRefusal returns what is wrong with a gateway answer to hostile
// input, or "" when it is a proper refusal: see jsonProblem.
func jsonRefusal(r httpResult) string { return jsonProblem(r, false) }

// jsonProblem returns what is wrong with a gateway answer, or "": never a
// 5xx; a 4xx is a google.rpc.Status with the HTTP status of its code and
// the same promises as over gRPC (grpcRefusal); a 2xx only if okAllowed.
// The HTTP server's own answers to what never reaches the gateway (a
// malformed request line, headers too large, a path to clean) carry no
// such body and are let through.
func jsonProblem(r httpResult, okAllowed bool) string {
	switch {
	case r.status >= 500:
		return fmt.Sprintf("HTTP %d: %s", r.status, r.raw)
	case r.status < 300:
		if okAllowed {
			return ""
		}
		return fmt.Sprintf("accepted (HTTP %d)", r.status)
	case r.status < 400:
		if slices.Contains([]int{http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect}, r.status) {
			return "" // http.ServeMux cleaning "..", "//" out of the path
		}
		return fmt.Sprintf("HTTP %d: %s", r.status, r.raw)
	case r.body == nil:
		if slices.Contains([]int{http.StatusBadRequest, http.StatusRequestURITooLong, http.StatusRequestHeaderFieldsTooLarge}, r.status) {
			return ""
		}
		return fmt.Sprintf("HTTP %d without a google.rpc.Status body: %q", r.status, r.raw)
	}
	st := &spb.Status{}
	if err := protojson.Unmarshal(r.raw, st); err != nil {
		return fmt.Sprintf("HTTP %d body is not a google.rpc.Status: %v: %s", r.status, err, r.raw)
	}
	if want := runtime.HTTPStatusFromCode(codes.Code(st.GetCode())); want != r.status {
		return fmt.Sprintf("HTTP %d for code %s (want HTTP %d): %s", r.status, codes.Code(st.GetCode()), want, r.raw)
	}
	if msg := refusal(status.FromProto(st).Err(), true); msg != "" {
		return fmt.Sprintf("HTTP %d: %s", r.status, msg)
	}
	return ""
}

// dbSnapshot fingerprints every table of the API's data: row count and a
// hash of the rows, so that an insert, delete or update shows. Leases are
// left out: replicas renew them on their own.
func dbSnapshot(t *testing.T, e *env) map[string]string {
	t.Helper()
	db := e.app.DB().Gorm(context.Background())
	out := map[string]string{}
	for _, model := range append(store.ResourceModels(), &store.IdempotencyKey{}) {
		stmt := &gorm.Statement{DB: db}
		require.NoError(t, stmt.Parse(model))
		table := stmt.Schema.Table
		rows, err := db.Table(table).Rows()
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		var hashes []string
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			h := sha256.New()
			for _, v := range vals {
				fmt.Fprintf(h, "%d:", len(v))
				h.Write(v)
			}
			hashes = append(hashes, hex.EncodeToString(h.Sum(nil)))
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		sort.Strings(hashes)
		sum := sha256.Sum256([]byte(strings.Join(hashes, ",")))
		out[table] = fmt.Sprintf("%d rows %x", len(hashes), sum[:8])
	}
	return out
}

// quietSnapshot waits until background work (event numbering, report
// rollups) has settled and returns the snapshot.
func quietSnapshot(t *testing.T, e *env) map[string]string {
	t.Helper()
	prev := dbSnapshot(t, e)
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		cur := dbSnapshot(t, e)
		if equalSnapshots(prev, cur) {
			return cur
		}
		prev = cur
	}
	t.Fatal("the database does not settle")
	return nil
}

func equalSnapshots(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// hostileCall sends req as admin over gRPC; a stream is opened, sent req
// and read until its first answer, within a deadline that only an
// accepted watch reaches.
func hostileCall(t *testing.T, w *accWorld, md protoreflect.MethodDescriptor, name string, req proto.Message) error {
	ctx := accCtx(t, w.admin)
	resp := dynamicpb.NewMessage(md.Output())
	if !md.IsStreamingServer() {
		return w.e.conn.Invoke(ctx, name, req, resp)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := w.e.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, name)
	if err == nil {
		err = s.SendMsg(req)
	}
	if err == nil {
		err = s.CloseSend()
	}
	if err == nil {
		err = s.RecvMsg(resp)
	}
	// A watch that was let in waits for events until the deadline, which
	// it may end first itself (EOF after an OK status).
	if errors.Is(err, io.EOF) || status.Code(err) == codes.DeadlineExceeded {
		return nil
	}
	return err
}

// hostileBase is a request that mutations start from.
type hostileBase struct {
	kind string // "ghost" (path names of missing resources) or "real"
	req  *dynamicpb.Message
}

// hostileBases returns the requests to mutate for md: its path variables
// filled with well-formed names of missing resources, and with names of
// existing ones where the world has some. Each is sent as it is first;
// only those refused with a client error, or answered without changing
// the database (reads), are kept, so that a mutation's refusal is the
// mutation's doing or a read's.
func hostileBases(t *testing.T, w *accWorld, md protoreflect.MethodDescriptor, name string, route hostileRoute, hasRoute bool, real map[string]string) []hostileBase {
	var out []hostileBase
	for _, kind := range []string{"ghost", "real"} {
		req := dynamicpb.NewMessage(md.Input())
		filled := false
		if hasRoute {
			for field, pattern := range route.vars() {
				v := strings.NewReplacer("**", "ghost", "*", "ghost").Replace(pattern)
				if pattern == "" {
					v = "ghost"
				}
				if kind == "real" && real[pattern] != "" {
					v, filled = real[pattern], true
				}
				m, fd := fieldByPath(req, field)
				m.Set(fd, protoreflect.ValueOfString(v))
			}
		}
		if kind == "real" && !filled {
			break // the same as the ghost base
		}
		// A write changes its own rows before it answers, so a snapshot
		// right after tells a read from a write.
		before := dbSnapshot(t, w.e)
		err := hostileCall(t, w, md, name, req)
		switch {
		case err == nil && equalSnapshots(before, dbSnapshot(t, w.e)):
			out = append(out, hostileBase{kind, req}) // a read
		case err == nil:
			t.Logf("%s: the %s base request is accepted and changes data; not mutated", name, kind)
			// Let what follows a write (event numbering) settle, or the
			// next probe would be blamed for it.
			quietSnapshot(t, w.e)
		default:
			if msg := grpcRefusal(err); msg != "" {
				t.Errorf("%s: %s base request: %s", name, kind, msg)
			}
			out = append(out, hostileBase{kind, req})
		}
	}
	return out
}

// TestHostileInput sends every RPC malformed and oversized fields over
// gRPC and JSON and checks the refusals and that nothing changed.
func TestHostileInput(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			// Refusals are logged at INFO, a million of them; problems at
			// WARN and above.
			e := start(t, dialect, func(c *config.Config) {
				c.LogLevel = slog.LevelWarn
				// Background loops would write to the database mid-test.
				c.ReportRollupInterval = time.Hour
				c.ComplaintCheckInterval = time.Hour
				c.QualificationCheckInterval = time.Hour
			})
			w := accSetup(t, e)
			admin := w.admin

			// A published price list and a shop's warranty claim, so that
			// fee and claim methods get real bases too.
			schedule := e.publishSchedule(testSchedule())
			claimed := e.newTicket(w.f, w.f.inWarranty)
			shop := as(w.f.partner.GetName())
			_, err := e.tickets.AssignTicket(as(w.f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: claimed.GetName(), Assignee: w.f.partnerTech.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.AcceptTicket(shop, &aftersalesv1.AcceptTicketRequest{Name: claimed.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.StartTicket(shop, &aftersalesv1.StartTicketRequest{Name: claimed.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.ResolveTicket(shop, &aftersalesv1.ResolveTicketRequest{Name: claimed.GetName(), Resolution: withParts("P-BRUSH", 1)})
			require.NoError(t, err)
			claims, err := e.claims.ListWarrantyClaims(shop, &aftersalesv1.ListWarrantyClaimsRequest{Parent: w.f.partner.GetName()})
			require.NoError(t, err)
			require.Len(t, claims.GetClaims(), 1)

			// Names of existing resources by pattern, for the real bases.
			real := map[string]string{}
			for _, n := range []string{w.tA.GetName(), w.custX.GetName(), w.f.inWarranty.GetName(), w.partnerA.GetName(), w.t1.GetName(),
				schedule.GetName(), claims.GetClaims()[0].GetName(), w.f.partner.GetName() + "/settlements/" + e.clock.Now().Format("2006-01")} {
				segs := strings.Split(n, "/")
				for i := 1; i < len(segs); i += 2 {
					segs[i] = "*"
				}
				real[strings.Join(segs, "/")] = n
			}

			methods := accMethods(t)
			type job struct {
				name  string
				md    protoreflect.MethodDescriptor
				route hostileRoute
				ok    bool
				bases []hostileBase
			}
			var jobs []job
			for _, name := range accSorted(methods) {
				md := methods[name]
				route, ok := hostileRouteOf(md)
				jobs = append(jobs, job{name: name, md: md, route: route, ok: ok})
			}
			// Probe every base before the snapshot: accepted bases may
			// change data, and are then left out.
			for i := range jobs {
				jobs[i].bases = hostileBases(t, w, jobs[i].md, jobs[i].name, jobs[i].route, jobs[i].ok, real)
			}
			before := quietSnapshot(t, e)

			var grpcCalls, jsonCalls int
			problems := map[string]int{}
			report := func(transport, msg string) {
				problems[transport]++
				if problems[transport] <= 400 {
					t.Error(msg)
				}
			}
			for _, j := range jobs {
				pathBound := map[string]bool{}
				for f := range j.route.vars() {
					pathBound[f] = true
				}
				muts := hostileMutations(j.md.Input(), "", 3, pathBound)
				muts = append(muts, hostileHugeBody(j.md.Input(), j.route)...)
				for _, b := range j.bases {
					for _, m := range muts {
						if b.kind == "real" && pathBound[m.field] {
							continue // replaces the real name: the ghost base's request
						}
						req := proto.Clone(b.req).(*dynamicpb.Message)
						m.setMsg(req)
						what := fmt.Sprintf("%s (%s base) %s", j.name, b.kind, m.what)

						grpcCalls++
						if msg := grpcRefusal(hostileCall(t, w, j.md, j.name, req)); msg != "" {
							report("grpc", "gRPC "+what+": "+msg)
						}

						// Streams are gRPC only (WatchEvents, event.proto).
						if !j.ok || j.md.IsStreamingServer() {
							continue
						}
						// The JSON form: the base's, with the mutation spelt
						// in JSON; path variables come from the mutated
						// request.
						path, query, body := j.route.httpRequest(t, b.req, req, m.setJSON)
						if j.route.verb == http.MethodGet || j.route.verb == http.MethodDelete {
							body = nil
						}
						jsonCalls++
						r, err := hostileDo(e, j.route.verb, &url.URL{Path: path, RawQuery: query}, admin, body)
						if err != nil {
							report("json", fmt.Sprintf("JSON %s %s: %v", j.route.verb, what, err))
						} else if msg := jsonRefusal(r); msg != "" {
							report("json", fmt.Sprintf("JSON %s %s %s: %s", j.route.verb, hostileShort(path), what, msg))
						}
					}
				}
			}
			t.Logf("%d gRPC and %d JSON hostile requests; problems: %v", grpcCalls, jsonCalls, problems)

			after := quietSnapshot(t, e)
			for table, b := range before {
				require.Equal(t, b, after[table], "table %s changed", table)
			}
		})
	}
}

// hostileShort shortens a path for messages.
func hostileShort(p string) string {
	if len(p) > 80 {
		return p[:80] + "…"
	}
	return p
}
