package filter_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/pkg/filter"
)

var testOrderFields = map[string]bool{"create_time": true, "id": true, "product.model": true, "disabled": false}

func TestParseOrderBy(t *testing.T) {
	tests := []struct {
		name    string
		orderBy string
		want    []filter.Order
		canon   string
	}{
		{name: "empty", orderBy: ""},
		{name: "blank", orderBy: "  "},
		{name: "one", orderBy: "create_time", want: []filter.Order{{Field: "create_time"}}, canon: "create_time"},
		{name: "desc", orderBy: "create_time desc", want: []filter.Order{{Field: "create_time", Desc: true}}, canon: "create_time desc"},
		{name: "explicit asc", orderBy: "create_time asc", want: []filter.Order{{Field: "create_time"}}, canon: "create_time"},
		{name: "upper case direction", orderBy: "create_time DESC", want: []filter.Order{{Field: "create_time", Desc: true}}, canon: "create_time desc"},
		{
			name: "several", orderBy: " create_time desc ,id,product.model   asc ",
			want:  []filter.Order{{Field: "create_time", Desc: true}, {Field: "id"}, {Field: "product.model"}},
			canon: "create_time desc, id, product.model",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := filter.ParseOrderBy(tt.orderBy, testOrderFields)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.canon, filter.CanonicalOrderBy(got))
		})
	}
}

func TestParseOrderByErrors(t *testing.T) {
	tests := []struct {
		name    string
		orderBy string
		wantErr error
		field   string
		pos     int
		msg     string
	}{
		{name: "unknown", orderBy: "name", wantErr: filter.ErrUnknownField, field: "name", msg: `cannot order by field "name" (allowed: create_time, id, product.model)`},
		{name: "disabled", orderBy: "id, disabled desc", wantErr: filter.ErrUnknownField, field: "disabled", pos: 4},
		{name: "duplicate", orderBy: "id, id desc", wantErr: filter.ErrSyntax, field: "id", pos: 4, msg: `syntax error at offset 4: field "id" appears more than once in order_by`},
		{name: "bad direction", orderBy: "id descending", wantErr: filter.ErrSyntax, pos: 3, msg: `syntax error at offset 3: expected asc, desc or a comma after field "id", got "descending"`},
		{name: "two directions", orderBy: "id asc desc", wantErr: filter.ErrSyntax, pos: 7, msg: `syntax error at offset 7: expected a comma, got 'd'`},
		{name: "trailing comma", orderBy: "id,", wantErr: filter.ErrSyntax, pos: 3, msg: `syntax error at offset 3: expected a field name, got end of input`},
		{name: "leading comma", orderBy: ",id", wantErr: filter.ErrSyntax, pos: 0},
		{name: "minus prefix", orderBy: "-id", wantErr: filter.ErrSyntax, pos: 0},
		{name: "bad char", orderBy: "id;", wantErr: filter.ErrSyntax, pos: 2, msg: `syntax error at offset 2: expected asc, desc or a comma after field "id", got ';'`},
		{name: "too long", orderBy: strings.Repeat(" ", filter.MaxLength+1), wantErr: filter.ErrSyntax, pos: filter.MaxLength, msg: `syntax error at offset 2048: order_by is too long (2049 bytes, maximum 2048)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := filter.ParseOrderBy(tt.orderBy, testOrderFields)
			require.Nil(t, got)
			require.ErrorIs(t, err, tt.wantErr)
			var ferr *filter.Error
			require.True(t, errors.As(err, &ferr))
			require.Equal(t, tt.field, ferr.Field)
			require.Equal(t, tt.pos, ferr.Pos)
			requireMsg(t, tt.msg, err)
		})
	}
}

// FuzzParseOrderBy: any input parses without panic to a classified
// *Error or to keys whose canonical form parses back to the same keys; an
// order_by built from allowed fields (picked, ordered and directed by pick,
// directions in any case, spaces anywhere a separator allows) is accepted.
func FuzzParseOrderBy(f *testing.F) {
	for _, s := range []string{"", "create_time desc, id", "id,", "ID DESC", "product.model asc,create_time"} {
		f.Add(s, uint32(len(s)*7919))
	}
	f.Fuzz(func(t *testing.T, s string, pick uint32) {
		orders, err := filter.ParseOrderBy(s, testOrderFields)
		if err != nil {
			var ferr *filter.Error
			require.True(t, errors.As(err, &ferr), "got %T", err)
			require.True(t, errors.Is(err, filter.ErrSyntax) || errors.Is(err, filter.ErrUnknownField), "unclassified error %v", err)
			require.GreaterOrEqual(t, ferr.Pos, 0)
			require.LessOrEqual(t, ferr.Pos, len(s))
			require.Nil(t, orders)
		} else {
			for _, o := range orders {
				require.True(t, testOrderFields[o.Field], "field %q is not allowed", o.Field)
			}
			canon := filter.CanonicalOrderBy(orders)
			again, err := filter.ParseOrderBy(canon, testOrderFields)
			require.NoError(t, err)
			require.Equal(t, orders, again)
		}

		text, want := validOrderBy(pick)
		got, err := filter.ParseOrderBy(text, testOrderFields)
		require.NoError(t, err, "valid order_by %q", text)
		require.Equal(t, want, got, "order_by %q", text)
	})
}

// validOrderBy spells an order_by over the allowed fields of
// testOrderFields as pick chooses: which fields in which order, each with no
// direction, asc or desc in some case, and extra blanks.
func validOrderBy(pick uint32) (string, []filter.Order) {
	fields := []string{"create_time", "id", "product.model"}
	next := func(n uint32) uint32 { r := pick % n; pick /= n; return r }
	var want []filter.Order
	var parts []string
	for range next(uint32(len(fields) + 1)) {
		name := fields[next(uint32(len(fields)))]
		fields = slices.DeleteFunc(fields, func(f string) bool { return f == name })
		o := filter.Order{Field: name}
		part := name
		switch next(5) {
		case 1:
			part += " asc"
		case 2:
			part += " ASC"
		case 3:
			part += " desc"
			o.Desc = true
		case 4:
			part += "  Desc"
			o.Desc = true
		}
		if next(2) == 1 {
			part = " " + part + "\t"
		}
		parts = append(parts, part)
		want = append(want, o)
	}
	return strings.Join(parts, ","), want
}

func BenchmarkParseOrderBy(b *testing.B) {
	for b.Loop() {
		if _, err := filter.ParseOrderBy("create_time desc, id", testOrderFields); err != nil {
			b.Fatal(err)
		}
	}
}
