package filter_test

import (
	"errors"
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

func FuzzParseOrderBy(f *testing.F) {
	for _, s := range []string{"", "create_time desc, id", "id,", "ID DESC", "product.model asc,create_time"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		orders, err := filter.ParseOrderBy(s, testOrderFields)
		if err != nil {
			var ferr *filter.Error
			require.True(t, errors.As(err, &ferr), "got %T", err)
			require.LessOrEqual(t, ferr.Pos, len(s))
			return
		}
		canon := filter.CanonicalOrderBy(orders)
		again, err := filter.ParseOrderBy(canon, testOrderFields)
		require.NoError(t, err)
		require.Equal(t, orders, again)
	})
}

func BenchmarkParseOrderBy(b *testing.B) {
	for b.Loop() {
		if _, err := filter.ParseOrderBy("create_time desc, id", testOrderFields); err != nil {
			b.Fatal(err)
		}
	}
}
