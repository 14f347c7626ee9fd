package app

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	moneypb "google.golang.org/genproto/googleapis/type/money"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/money"
)

// mimeCSV is the Accept value that asks the gateway for CSV.
const mimeCSV = "text/csv"

// csvTables are the answers that have a CSV form (report.proto): the
// repeated field whose elements are the table's rows.
var csvTables = map[protoreflect.FullName]protoreflect.Name{
	(&aftersalesv1.ServiceMetrics{}).ProtoReflect().Descriptor().FullName():  "rows",
	(&aftersalesv1.FaultStatistics{}).ProtoReflect().Descriptor().FullName(): "rows",
	// A partner's settlement statement: one row per claim (claim.proto).
	(&aftersalesv1.SettlementStatement{}).ProtoReflect().Descriptor().FullName(): "lines",
	// Warranty cost by model and fault code (report.proto).
	(&aftersalesv1.CostMetrics{}).ProtoReflect().Descriptor().FullName(): "rows",
}

// csvMarshaler renders the metrics tables of the report service as CSV
// for spreadsheets: one header row, then one row per element of the
// table's rows. Columns are the row message's fields in declaration
// order, by proto name; nested messages are flattened into
// "field_subfield" columns (so a Ratio gives its numerator, denominator
// and value), durations are seconds, timestamps RFC 3339, enums their
// names, an unset duration an empty cell, and a repeated field one cell
// of its elements separated by spaces (a message element as its fields
// joined by ":", e.g. "2025-03:4"). Money (google.type.Money) is two
// columns, "{field}_currency_code" and "{field}" as an exact decimal with
// the currency's digits ("1234.50"), which a spreadsheet reads without
// rounding. Every other message, errors included, is JSON as without
// Accept: text/csv.
type csvMarshaler struct {
	runtime.Marshaler // JSON, for everything but the tables
}

// table returns the rows field of a message with a CSV form.
func (m csvMarshaler) table(v any) (protoreflect.Message, protoreflect.FieldDescriptor) {
	pm, ok := v.(proto.Message)
	if !ok {
		return nil, nil
	}
	msg := pm.ProtoReflect()
	name, ok := csvTables[msg.Descriptor().FullName()]
	if !ok {
		return nil, nil
	}
	return msg, msg.Descriptor().Fields().ByName(name)
}

func (m csvMarshaler) ContentType(v any) string {
	if _, fd := m.table(v); fd != nil {
		return "text/csv; charset=utf-8"
	}
	return m.Marshaler.ContentType(v)
}

func (m csvMarshaler) Marshal(v any) ([]byte, error) {
	msg, fd := m.table(v)
	if fd == nil {
		return m.Marshaler.Marshal(v)
	}
	cols := csvColumns(fd.Message(), nil)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := make([]string, len(cols))
	for i, c := range cols {
		names := make([]string, len(c))
		for j, f := range c {
			names[j] = string(f.Name())
		}
		head[i] = strings.Join(names, "_")
	}
	_ = w.Write(head)
	list := msg.Get(fd).List()
	for i := range list.Len() {
		row := list.Get(i).Message()
		cells := make([]string, len(cols))
		for j, c := range cols {
			cells[j] = csvCell(row, c)
		}
		_ = w.Write(cells)
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvColumns lists the leaf fields of md as paths from the row.
func csvColumns(md protoreflect.MessageDescriptor, prefix []protoreflect.FieldDescriptor) [][]protoreflect.FieldDescriptor {
	var out [][]protoreflect.FieldDescriptor
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		path := append(append([]protoreflect.FieldDescriptor(nil), prefix...), fd)
		if fd.Message() != nil && !fd.IsList() && fd.Message().FullName() == moneyName {
			// The currency, then the amount itself (csvValue).
			out = append(out, append(append([]protoreflect.FieldDescriptor(nil), path...), fd.Message().Fields().ByName("currency_code")), path)
			continue
		}
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() && !isWellKnownTime(fd.Message()) {
			out = append(out, csvColumns(fd.Message(), path)...)
			continue
		}
		out = append(out, path)
	}
	return out
}

// moneyName is google.type.Money, rendered as currency and decimal.
const moneyName protoreflect.FullName = "google.type.Money"

func isWellKnownTime(md protoreflect.MessageDescriptor) bool {
	n := md.FullName()
	return n == "google.protobuf.Duration" || n == "google.protobuf.Timestamp"
}

// csvCell formats the field at path in row.
func csvCell(row protoreflect.Message, path []protoreflect.FieldDescriptor) string {
	msg := row
	for _, fd := range path[:len(path)-1] {
		msg = msg.Get(fd).Message()
	}
	fd := path[len(path)-1]
	if fd.IsList() {
		list := msg.Get(fd).List()
		parts := make([]string, list.Len())
		for i := range parts {
			parts[i] = csvValue(fd, list.Get(i))
		}
		return strings.Join(parts, " ")
	}
	if fd.Message() != nil && !msg.Has(fd) {
		return ""
	}
	return csvValue(fd, msg.Get(fd))
}

// csvValue formats one value of fd.
func csvValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	case protoreflect.MessageKind, protoreflect.GroupKind:
		m := v.Message()
		fields := m.Descriptor().Fields()
		secs, nanos := fields.ByName("seconds"), fields.ByName("nanos")
		switch m.Descriptor().FullName() {
		case "google.protobuf.Duration":
			d := time.Duration(m.Get(secs).Int())*time.Second + time.Duration(m.Get(nanos).Int())
			return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		case "google.protobuf.Timestamp":
			return time.Unix(m.Get(secs).Int(), m.Get(nanos).Int()).UTC().Format(time.RFC3339Nano)
		case moneyName:
			return moneyDecimal(m)
		}
		parts := make([]string, fields.Len())
		for i := range parts {
			parts[i] = csvValue(fields.Get(i), m.Get(fields.Get(i)))
		}
		return strings.Join(parts, ":")
	}
	return v.String()
}

// moneyDecimal is a google.type.Money as an exact decimal: with the
// currency's digits when it is a valid amount of a known currency, else
// units and nanos as they are, trailing zeros dropped.
func moneyDecimal(m protoreflect.Message) string {
	mp, ok := m.Interface().(*moneypb.Money)
	if !ok {
		return ""
	}
	if a, err := money.FromProto(mp); err == nil {
		return a.String()
	}
	units, nanos := mp.GetUnits(), int64(mp.GetNanos())
	sign := ""
	if units < 0 || nanos < 0 {
		sign = "-"
	}
	whole := strconv.FormatUint(absUint(units), 10)
	if nanos == 0 {
		return sign + whole
	}
	frac := strings.TrimRight(fmt.Sprintf("%09d", absUint(nanos)), "0")
	return sign + whole + "." + frac
}

func absUint(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1
	}
	return uint64(v)
}
