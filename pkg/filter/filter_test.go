package filter_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/pkg/filter"
)

var testSchema = filter.Schema{
	{Name: "state", Kind: filter.KindEnum, Enum: []string{"NEW", "ASSIGNED", "CLOSED"}},
	{Name: "assignee"},
	{Name: "create_time", Kind: filter.KindTime},
	{Name: "priority", Kind: filter.KindInt},
	{Name: "urgent", Kind: filter.KindBool},
	{Name: "product.model"},
	{Name: "title", Ops: []filter.Op{filter.Eq}},
}

func TestParse(t *testing.T) {
	jan1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		filter string
		want   []filter.Cond
	}{
		{name: "empty", filter: ""},
		{name: "blank", filter: " \t\r\n "},
		{name: "enum bare", filter: "state=NEW", want: []filter.Cond{{Field: "state", Op: filter.Eq, Value: "NEW"}}},
		{name: "enum quoted", filter: `state = "NEW"`, want: []filter.Cond{{Field: "state", Op: filter.Eq, Value: "NEW"}}},
		{name: "enum not equal", filter: "state!=CLOSED", want: []filter.Cond{{Field: "state", Op: filter.Ne, Value: "CLOSED"}}},
		{name: "string with slash bare", filter: "assignee=staff/abc", want: []filter.Cond{{Field: "assignee", Op: filter.Eq, Value: "staff/abc"}}},
		{name: "string quoted", filter: `assignee="staff/abc"`, want: []filter.Cond{{Field: "assignee", Op: filter.Eq, Value: "staff/abc"}}},
		{name: "string empty", filter: `assignee=""`, want: []filter.Cond{{Field: "assignee", Op: filter.Eq, Value: ""}}},
		{name: "string escapes", filter: `assignee="a \"b\" \\ \u00e9"`, want: []filter.Cond{{Field: "assignee", Op: filter.Eq, Value: `a "b" \ é`}}},
		{name: "string unicode", filter: `assignee="José Ünal"`, want: []filter.Cond{{Field: "assignee", Op: filter.Eq, Value: "José Ünal"}}},
		{name: "string looks like keyword", filter: `assignee=AND`, want: []filter.Cond{{Field: "assignee", Op: filter.Eq, Value: "AND"}}},
		{name: "dotted field", filter: `product.model="X-100"`, want: []filter.Cond{{Field: "product.model", Op: filter.Eq, Value: "X-100"}}},
		{name: "time bare", filter: "create_time>=2026-01-01T00:00:00Z", want: []filter.Cond{{Field: "create_time", Op: filter.Ge, Value: jan1}}},
		{name: "time quoted", filter: `create_time < "2026-01-01T00:00:00Z"`, want: []filter.Cond{{Field: "create_time", Op: filter.Lt, Value: jan1}}},
		{name: "time offset becomes UTC", filter: "create_time>2026-01-01T01:00:00+01:00", want: []filter.Cond{{Field: "create_time", Op: filter.Gt, Value: jan1}}},
		{
			name:   "time fraction",
			filter: "create_time<=2026-01-01T00:00:00.123456Z",
			want:   []filter.Cond{{Field: "create_time", Op: filter.Le, Value: jan1.Add(123456 * time.Microsecond)}},
		},
		{name: "int", filter: "priority>3", want: []filter.Cond{{Field: "priority", Op: filter.Gt, Value: int64(3)}}},
		{name: "int negative", filter: "priority > -3", want: []filter.Cond{{Field: "priority", Op: filter.Gt, Value: int64(-3)}}},
		{name: "int quoted", filter: `priority="42"`, want: []filter.Cond{{Field: "priority", Op: filter.Eq, Value: int64(42)}}},
		{name: "bool", filter: "urgent=true", want: []filter.Cond{{Field: "urgent", Op: filter.Eq, Value: true}}},
		{name: "bool false", filter: "urgent != false", want: []filter.Cond{{Field: "urgent", Op: filter.Ne, Value: false}}},
		{
			name:   "conjunction",
			filter: `  state = NEW AND assignee="staff/abc"AND create_time>=2026-01-01T00:00:00Z  `,
			want: []filter.Cond{
				{Field: "state", Op: filter.Eq, Value: "NEW"},
				{Field: "assignee", Op: filter.Eq, Value: "staff/abc"},
				{Field: "create_time", Op: filter.Ge, Value: jan1},
			},
		},
		{
			name:   "same field twice",
			filter: "priority>1 AND priority<5",
			want: []filter.Cond{
				{Field: "priority", Op: filter.Gt, Value: int64(1)},
				{Field: "priority", Op: filter.Lt, Value: int64(5)},
			},
		},
		{
			name:   "newlines between tokens",
			filter: "state=NEW\nAND\turgent=true",
			want: []filter.Cond{
				{Field: "state", Op: filter.Eq, Value: "NEW"},
				{Field: "urgent", Op: filter.Eq, Value: true},
			},
		},
		{name: "max conditions", filter: strings.Repeat("priority>1 AND ", filter.MaxConditions-1) + "priority>1", want: repeatCond(filter.MaxConditions)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := filter.Parse(tt.filter, testSchema)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func repeatCond(n int) []filter.Cond {
	conds := make([]filter.Cond, n)
	for i := range conds {
		conds[i] = filter.Cond{Field: "priority", Op: filter.Gt, Value: int64(1)}
	}
	return conds
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		filter  string
		wantErr error
		field   string
		pos     int
		msg     string // exact, or a prefix when it ends in "..."
	}{
		{
			name: "unknown field", filter: "foo=1", wantErr: filter.ErrUnknownField, field: "foo", pos: 0,
			msg: `unknown field "foo" (allowed: assignee, create_time, priority, product.model, state, title, urgent)`,
		},
		{
			name: "unknown field later", filter: "state=NEW AND owner=x", wantErr: filter.ErrUnknownField, field: "owner", pos: 14,
			msg: `unknown field "owner" (allowed: ...`,
		},
		{
			name: "enum value", filter: "state=DONE", wantErr: filter.ErrBadValue, field: "state", pos: 6,
			msg: `field "state": value "DONE" is not one of NEW, ASSIGNED, CLOSED`,
		},
		{
			name: "enum is case-sensitive", filter: `state="new"`, wantErr: filter.ErrBadValue, field: "state", pos: 6,
			msg: `field "state": value "new" is not one of NEW, ASSIGNED, CLOSED`,
		},
		{
			name: "ordering on enum", filter: "state<NEW", wantErr: filter.ErrBadOperator, field: "state", pos: 5,
			msg: `operator "<" not allowed on field "state" (allowed: =, !=)`,
		},
		{
			name: "custom ops", filter: "title!=x", wantErr: filter.ErrBadOperator, field: "title", pos: 5,
			msg: `operator "!=" not allowed on field "title" (allowed: =)`,
		},
		{name: "ordering on bool", filter: "urgent>=true", wantErr: filter.ErrBadOperator, field: "urgent", pos: 6, msg: `operator ">=" not allowed on field "urgent" (allowed: =, !=)`},
		{name: "ordering on string", filter: "assignee>a", wantErr: filter.ErrBadOperator, field: "assignee", pos: 8, msg: `operator ">" not allowed on field "assignee" (allowed: =, !=)`},
		{name: "bad int", filter: "priority=high", wantErr: filter.ErrBadValue, field: "priority", pos: 9, msg: `field "priority": value "high" is not a 64-bit integer`},
		{name: "int overflow", filter: "priority=9223372036854775808", wantErr: filter.ErrBadValue, field: "priority", pos: 9, msg: `field "priority": value "9223372036854775808" is not a 64-bit integer`},
		{name: "bad bool", filter: "urgent=yes", wantErr: filter.ErrBadValue, field: "urgent", pos: 7, msg: `field "urgent": value "yes" is not true or false`},
		{name: "bool is exact", filter: "urgent=TRUE", wantErr: filter.ErrBadValue, field: "urgent", pos: 7, msg: `field "urgent": value "TRUE" is not true or false`},
		{
			name: "bad time", filter: `create_time>"yesterday"`, wantErr: filter.ErrBadValue, field: "create_time", pos: 12,
			msg: `field "create_time": value "yesterday" is not an RFC 3339 timestamp such as "2026-01-01T00:00:00Z"`,
		},
		{name: "date only", filter: `create_time>2026-01-01`, wantErr: filter.ErrBadValue, field: "create_time", pos: 12, msg: `field "create_time": value "2026-01-01" is not an RFC 3339 ...`},
		{name: "time out of range", filter: `create_time>0001-01-01T00:00:00+01:00`, wantErr: filter.ErrBadValue, field: "create_time", pos: 12, msg: `field "create_time": value "0001-01-01T00:00:00+01:00" is out of range`},
		{name: "invalid utf-8 via escape", filter: `assignee="\xff"`, wantErr: filter.ErrBadValue, field: "assignee", pos: 9, msg: `field "assignee": value "\xff" is not valid UTF-8 text`},
		{name: "nul via escape", filter: `assignee="a\x00"`, wantErr: filter.ErrBadValue, field: "assignee", pos: 9},
		{name: "missing operator", filter: "state NEW", wantErr: filter.ErrSyntax, pos: 6, msg: `syntax error at offset 6: expected an operator (=, !=, <, >, <=, >=) after field "state", got 'N'`},
		{name: "missing value", filter: "state=", wantErr: filter.ErrSyntax, pos: 6, msg: `syntax error at offset 6: expected a value after "=", got end of input`},
		{name: "double equals", filter: "state==NEW", wantErr: filter.ErrSyntax, pos: 6, msg: `syntax error at offset 6: expected a value after "=", got '='`},
		{name: "has operator", filter: "state:NEW", wantErr: filter.ErrSyntax, pos: 0, msg: `syntax error at offset 0: invalid field name "state:NEW" (the ":" operator is not supported)`},
		{name: "lower-case and", filter: "state=NEW and urgent=true", wantErr: filter.ErrSyntax, pos: 10, msg: `syntax error at offset 10: expected AND, got "and" (AND must be upper case)`},
		{name: "or", filter: "state=NEW OR state=CLOSED", wantErr: filter.ErrSyntax, pos: 10, msg: `syntax error at offset 10: OR is not supported; only conditions joined by AND are allowed`},
		{name: "not", filter: "NOT state=NEW", wantErr: filter.ErrSyntax, pos: 0, msg: `syntax error at offset 0: expected a field name, got NOT (only ...`},
		{name: "minus negation", filter: "-state=NEW", wantErr: filter.ErrSyntax, pos: 0, msg: `syntax error at offset 0: negation with "-" is not supported`},
		{name: "parentheses", filter: "(state=NEW)", wantErr: filter.ErrSyntax, pos: 0, msg: `syntax error at offset 0: parentheses are not supported`},
		{name: "trailing AND", filter: "state=NEW AND ", wantErr: filter.ErrSyntax, pos: 14, msg: `syntax error at offset 14: expected a condition after AND`},
		{name: "leading AND", filter: "AND state=NEW", wantErr: filter.ErrSyntax, pos: 0},
		{name: "missing AND", filter: "state=NEW urgent=true", wantErr: filter.ErrSyntax, pos: 10, msg: `syntax error at offset 10: expected AND, got "urgent"`},
		{name: "junk after value", filter: "state=NEW)", wantErr: filter.ErrSyntax, pos: 9, msg: `syntax error at offset 9: expected AND, got ')'`},
		{name: "bad field name", filter: "1state=NEW", wantErr: filter.ErrSyntax, pos: 0, msg: `syntax error at offset 0: invalid field name "1state"`},
		{name: "empty path segment", filter: "product..model=x", wantErr: filter.ErrSyntax, pos: 0},
		{name: "function call", filter: "state(NEW)", wantErr: filter.ErrSyntax, pos: 5},
		{name: "unterminated string", filter: `assignee="abc`, wantErr: filter.ErrSyntax, pos: 9, msg: `syntax error at offset 9: unterminated string`},
		{name: "unterminated after escape", filter: `assignee="abc\"`, wantErr: filter.ErrSyntax, pos: 9},
		{name: "bad escape", filter: `assignee="\q"`, wantErr: filter.ErrSyntax, pos: 9, msg: `syntax error at offset 9: invalid string "\q" (check escapes and line breaks)`},
		{name: "newline in string", filter: "assignee=\"a\nb\"", wantErr: filter.ErrSyntax, pos: 9},
		{name: "single quotes", filter: "assignee='a'", wantErr: filter.ErrSyntax, pos: 9},
		{name: "non-ascii bare value", filter: "assignee=José", wantErr: filter.ErrSyntax, pos: 12},
		{name: "invalid utf-8 input", filter: "assignee=\"a\xffb\"", wantErr: filter.ErrSyntax, pos: 11, msg: `syntax error at offset 11: filter is not valid UTF-8`},
		{
			name: "too long", filter: `assignee="` + strings.Repeat("a", filter.MaxLength) + `"`, wantErr: filter.ErrSyntax, pos: filter.MaxLength,
			msg: `syntax error at offset 2048: filter is too long (2059 bytes, maximum 2048)`,
		},
		{
			name: "too many conditions", filter: strings.Repeat("priority>1 AND ", filter.MaxConditions) + "priority>1", wantErr: filter.ErrSyntax, pos: 15 * filter.MaxConditions,
			msg: `syntax error at offset 300: too many conditions (maximum 20)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conds, err := filter.Parse(tt.filter, testSchema)
			require.Nil(t, conds)
			require.ErrorIs(t, err, tt.wantErr)
			var ferr *filter.Error
			require.True(t, errors.As(err, &ferr), "got %T", err)
			require.Equal(t, tt.field, ferr.Field)
			require.Equal(t, tt.pos, ferr.Pos, ferr.Msg)
			requireMsg(t, tt.msg, err)
		})
	}
}

func requireMsg(t *testing.T, want string, err error) {
	t.Helper()
	switch {
	case want == "":
	case strings.HasSuffix(want, "..."):
		require.True(t, strings.HasPrefix(err.Error(), strings.TrimSuffix(want, "...")), "message %q", err.Error())
	default:
		require.Equal(t, want, err.Error())
	}
}

func TestKindString(t *testing.T) {
	require.Equal(t, "string", filter.KindString.String())
	require.Equal(t, "time", filter.KindTime.String())
	require.Equal(t, "Kind(42)", filter.Kind(42).String())
}

func TestFieldAllowedOps(t *testing.T) {
	all := []filter.Op{filter.Eq, filter.Ne, filter.Lt, filter.Gt, filter.Le, filter.Ge}
	eq := []filter.Op{filter.Eq, filter.Ne}
	tests := []struct {
		field filter.Field
		want  []filter.Op
	}{
		{field: filter.Field{Kind: filter.KindString}, want: eq},
		{field: filter.Field{Kind: filter.KindEnum}, want: eq},
		{field: filter.Field{Kind: filter.KindBool}, want: eq},
		{field: filter.Field{Kind: filter.KindInt}, want: all},
		{field: filter.Field{Kind: filter.KindTime}, want: all},
		{field: filter.Field{Kind: filter.KindTime, Ops: []filter.Op{filter.Lt}}, want: []filter.Op{filter.Lt}},
	}
	for _, tt := range tests {
		t.Run(tt.field.Kind.String(), func(t *testing.T) {
			require.Equal(t, tt.want, tt.field.AllowedOps())
		})
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		name    string
		filters []string // all must yield want
		want    string
	}{
		{name: "empty", filters: []string{"", "   "}, want: ""},
		{
			name:    "spacing and quoting",
			filters: []string{"state=NEW", "state = NEW", ` state="NEW" `, "state\t=\n\"\\x4eEW\""},
			want:    `state="NEW"`,
		},
		{
			name: "order and time zones",
			filters: []string{
				`create_time>=2026-01-01T00:00:00Z AND assignee="staff/abc" AND priority>3 AND urgent=true`,
				`urgent = true AND priority > 3 AND assignee = staff/abc AND create_time >= "2026-01-01T01:00:00+01:00"`,
				`priority>"3" AND urgent=true AND create_time>=2026-01-01T00:00:00.000Z AND assignee="staff/abc"`,
			},
			want: `assignee="staff/abc" AND create_time>="2026-01-01T00:00:00Z" AND priority>3 AND urgent=true`,
		},
		{name: "fraction", filters: []string{"create_time<2026-01-01T00:00:00.5Z"}, want: `create_time<"2026-01-01T00:00:00.5Z"`},
		{name: "escapes", filters: []string{"assignee=\"a\\\"b\\n\""}, want: `assignee="a\"b\n"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range tt.filters {
				conds, err := filter.Parse(f, testSchema)
				require.NoError(t, err, f)
				got := filter.Canonical(conds)
				require.Equal(t, tt.want, got, f)

				again, err := filter.Parse(got, testSchema)
				require.NoError(t, err)
				require.Equal(t, got, filter.Canonical(again))
			}
		})
	}
}

func TestCanonicalDoesNotReorderInput(t *testing.T) {
	conds := []filter.Cond{
		{Field: "urgent", Op: filter.Eq, Value: true},
		{Field: "assignee", Op: filter.Eq, Value: "x"},
	}
	require.Equal(t, `assignee="x" AND urgent=true`, filter.Canonical(conds))
	require.Equal(t, "urgent", conds[0].Field)
}

// FuzzParse checks two properties. Any input: no panic, errors are
// classified *Error values pointing into the input, and an accepted filter's
// canonical form parses to the same conditions. A condition built from the
// schema (field, allowed operator, well-formed value picked by the other
// arguments) is accepted and yields exactly that condition.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"state=NEW",
		`state = "NEW" AND assignee="staff/abc" AND create_time>=2026-01-01T00:00:00Z`,
		`priority>-3 AND urgent!=false AND product.model="X \"1\""`,
		`create_time<"2026-01-01T01:00:00.123+01:00"`,
		`assignee="\u00e9\t"`,
		"state=NEW OR x",
		`a="`,
	} {
		f.Add(s, uint8(len(s)), uint8(0), s)
	}
	f.Fuzz(func(t *testing.T, s string, field, op uint8, value string) {
		conds, err := filter.Parse(s, testSchema)
		if err != nil {
			var ferr *filter.Error
			require.True(t, errors.As(err, &ferr), "got %T", err)
			require.True(t, errors.Is(err, filter.ErrSyntax) || errors.Is(err, filter.ErrUnknownField) ||
				errors.Is(err, filter.ErrBadValue) || errors.Is(err, filter.ErrBadOperator), "unclassified error %v", err)
			require.GreaterOrEqual(t, ferr.Pos, 0)
			require.LessOrEqual(t, ferr.Pos, len(s))
			require.Nil(t, conds)
		} else {
			require.LessOrEqual(t, len(conds), filter.MaxConditions)

			// The canonical form must parse to the same conditions. Quoting
			// can make it longer than the input, past the length limit.
			canon := filter.Canonical(conds)
			if len(canon) <= filter.MaxLength {
				again, err := filter.Parse(canon, testSchema)
				require.NoError(t, err, "canonical %q of %q", canon, s)
				require.Len(t, again, len(conds))
				require.Equal(t, canon, filter.Canonical(again))
			}
		}

		// A valid condition is accepted as written.
		want, text, ok := validCond(testSchema[int(field)%len(testSchema)], op, value)
		if !ok {
			return
		}
		got, err := filter.Parse(text, testSchema)
		require.NoError(t, err, "valid filter %q", text)
		require.Equal(t, []filter.Cond{want}, got, "filter %q", text)
	})
}

// validCond builds a well-formed condition on f from fuzzer input: the
// operator picked by op among those allowed, a value of f's kind derived
// from value. ok is false when value cannot be written within the limits.
func validCond(f filter.Field, op uint8, value string) (filter.Cond, string, bool) {
	ops := f.AllowedOps()
	c := filter.Cond{Field: f.Name, Op: ops[int(op)%len(ops)]}
	var n int64
	for i := 0; i < len(value); i++ {
		n = n*31 + int64(value[i])
	}
	var lit string
	switch f.Kind {
	case filter.KindEnum:
		v := f.Enum[len(value)%len(f.Enum)]
		c.Value, lit = v, v
	case filter.KindInt:
		c.Value, lit = n, strconv.FormatInt(n, 10)
	case filter.KindBool:
		v := len(value)%2 == 0
		c.Value, lit = v, strconv.FormatBool(v)
	case filter.KindTime:
		// Any instant of years 1 to 9999, in UTC.
		const span = 315537897600 // seconds from 0001-01-01 to 9999-12-31
		sec := n % span
		if sec < 0 {
			sec += span
		}
		v := time.Unix(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()+sec, int64(uint64(n)%1e9)).UTC()
		c.Value, lit = v, strconv.Quote(v.Format(time.RFC3339Nano))
	default:
		if !utf8.ValidString(value) || strings.IndexByte(value, 0) >= 0 {
			return c, "", false
		}
		c.Value, lit = value, strconv.Quote(value)
	}
	text := f.Name + " " + string(c.Op) + " " + lit
	return c, text, len(text) <= filter.MaxLength
}

var benchFilter = `state = NEW AND assignee="staff/abc" AND create_time>=2026-01-01T00:00:00Z AND priority>3`

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := filter.Parse(benchFilter, testSchema); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseError(b *testing.B) {
	for b.Loop() {
		if _, err := filter.Parse("state=DONE", testSchema); err == nil {
			b.Fatal("no error")
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	conds, err := filter.Parse(benchFilter, testSchema)
	require.NoError(b, err)
	for b.Loop() {
		filter.Canonical(conds)
	}
}
