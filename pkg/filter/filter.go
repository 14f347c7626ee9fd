// Package filter parses the subset of AIP-160 filters and AIP-132 order_by
// strings that list methods support, validating them against an allow-list of
// fields.
//
// A filter is a conjunction of comparisons:
//
//	expr  := cmp ("AND" cmp)*
//	cmp   := FIELD OP VALUE
//	OP    := "=" | "!=" | "<" | ">" | "<=" | ">="
//	FIELD := IDENT ("." IDENT)*        e.g. state, create_time, product.model
//	VALUE := STRING | BARE
//
// STRING is a double-quoted string with Go backslash escapes ("staff/abc").
// BARE is a run of ASCII letters, digits and _ - . / : + (NEW, 42, true,
// 2026-01-01T00:00:00Z). AND is case-sensitive, as in AIP-160; whitespace
// between tokens is ignored. OR, NOT, parentheses, functions and the has
// operator (:) are not supported.
//
// The package is shared by servers and clients, so it reports plain errors:
// an *Error wrapping one of ErrSyntax, ErrUnknownField, ErrBadValue or
// ErrBadOperator, which the caller maps to a status code.
package filter

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on client input, to bound parsing work and the size of the
// resulting database query.
const (
	// MaxLength is the longest filter or order_by string accepted, in bytes.
	MaxLength = 2048
	// MaxConditions is the largest number of comparisons in a filter.
	MaxConditions = 20
)

// Sentinel errors, wrapped by *Error. Compare with errors.Is.
var (
	// ErrSyntax means the input does not follow the grammar or exceeds a limit.
	ErrSyntax = errors.New("filter: syntax error")
	// ErrUnknownField means a field is not in the allow-list.
	ErrUnknownField = errors.New("filter: unknown field")
	// ErrBadValue means a value does not fit the field's kind.
	ErrBadValue = errors.New("filter: invalid value")
	// ErrBadOperator means an operator is not allowed on a field.
	ErrBadOperator = errors.New("filter: operator not allowed")
)

// Error describes a problem with a filter or order_by string. Msg is written
// for API users and is what Error returns.
type Error struct {
	// Field is the filter field the problem concerns, or "" when none is known
	// (most syntax errors). Servers can use it to name a field violation.
	Field string
	// Pos is the 0-based byte offset in the input where the problem was found.
	Pos int
	// Msg is a human-readable description.
	Msg string
	// Err is the sentinel describing the class of problem.
	Err error
}

// Error returns e.Msg.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel, so errors.Is(err, ErrSyntax) and friends work.
func (e *Error) Unwrap() error { return e.Err }

// Kind is the type of a filterable field; it decides how values are parsed.
type Kind int

// Field kinds. The zero Kind is KindString.
const (
	// KindString values are strings, compared as given.
	KindString Kind = iota
	// KindEnum values are strings that must be one of Field.Enum.
	KindEnum
	// KindInt values are decimal 64-bit integers, parsed as int64.
	KindInt
	// KindBool values are true or false, parsed as bool.
	KindBool
	// KindTime values are RFC 3339 timestamps, parsed as time.Time in UTC.
	KindTime
)

var kindNames = [...]string{"string", "enum", "int", "bool", "time"}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Op is a comparison operator, spelled as in the filter.
type Op string

// Supported operators.
const (
	Eq Op = "="
	Ne Op = "!="
	Lt Op = "<"
	Gt Op = ">"
	Le Op = "<="
	Ge Op = ">="
)

// Operators allowed by default. Ordering only makes sense for numbers and
// times; strings, enums and bools get equality only.
var (
	equalityOps = []Op{Eq, Ne}
	allOps      = []Op{Eq, Ne, Lt, Gt, Le, Ge}
)

// Field describes one filterable field.
type Field struct {
	// Name is the field name as written in filters, e.g. "create_time".
	Name string
	// Kind decides how values are parsed.
	Kind Kind
	// Ops lists the allowed operators. If empty, the default for the kind is
	// used: = and != for string, enum and bool; all six for int and time.
	Ops []Op
	// Enum lists the allowed values of a KindEnum field, matched
	// case-sensitively.
	Enum []string
}

// AllowedOps returns the operators allowed on f, applying the default for its
// kind when Ops is empty.
func (f Field) AllowedOps() []Op {
	switch {
	case len(f.Ops) > 0:
		return f.Ops
	case f.Kind == KindInt || f.Kind == KindTime:
		return allOps
	default:
		return equalityOps
	}
}

// Schema is the allow-list of filterable fields. A slice keeps declarations
// short and lookups fast for the handful of fields a resource has.
type Schema []Field

// Lookup returns the field with the given name.
func (s Schema) Lookup(name string) (Field, bool) {
	for _, f := range s {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

func (s Schema) names() []string {
	names := make([]string, len(s))
	for i, f := range s {
		names[i] = f.Name
	}
	sort.Strings(names)
	return names
}

// Cond is one comparison of a parsed filter.
type Cond struct {
	Field string
	Op    Op
	// Value is a string (KindString, KindEnum), int64 (KindInt), bool
	// (KindBool) or time.Time in UTC (KindTime).
	Value any
}

// Parse parses filter s and validates it against schema. An empty or blank
// filter yields no conditions and no error. Errors are *Error values.
func Parse(s string, schema Schema) ([]Cond, error) {
	p := parser{s: s}
	if err := p.checkInput("filter"); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, nil
	}
	var conds []Cond
	for {
		if len(conds) == MaxConditions {
			return nil, p.syntaxErr(p.pos, "too many conditions (maximum %d)", MaxConditions)
		}
		c, err := p.cond(schema)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)

		p.skipSpace()
		if p.eof() {
			return conds, nil
		}
		start := p.pos
		switch w := p.word(); {
		case w == "AND":
		case w == "":
			return nil, p.syntaxErr(start, "expected AND, got %s", p.describe(start))
		case strings.EqualFold(w, "AND"):
			return nil, p.syntaxErr(start, "expected AND, got %q (AND must be upper case)", w)
		case strings.EqualFold(w, "OR"):
			return nil, p.syntaxErr(start, "OR is not supported; only conditions joined by AND are allowed")
		default:
			return nil, p.syntaxErr(start, "expected AND, got %q", w)
		}
		p.skipSpace()
		if p.eof() {
			return nil, p.syntaxErr(p.pos, "expected a condition after AND")
		}
	}
}

type parser struct {
	s   string
	pos int
}

// checkInput applies the checks that concern the whole input. what names the
// input in messages ("filter" or "order_by").
func (p *parser) checkInput(what string) error {
	if len(p.s) > MaxLength {
		return p.syntaxErr(MaxLength, "%s is too long (%d bytes, maximum %d)", what, len(p.s), MaxLength)
	}
	if !utf8.ValidString(p.s) {
		i := 0
		for i < len(p.s) {
			r, n := utf8.DecodeRuneInString(p.s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return p.syntaxErr(i, "%s is not valid UTF-8", what)
	}
	return nil
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) skipSpace() {
	for !p.eof() {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func isBare(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == '+'
}

// word consumes a run of bare-token characters, possibly empty.
func (p *parser) word() string {
	start := p.pos
	for !p.eof() && isBare(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// describe names what is at offset i, for "expected X, got Y" messages.
func (p *parser) describe(i int) string {
	if i >= len(p.s) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.s[i:])
	return strconv.QuoteRune(r)
}

// fieldName consumes and checks a field name; it is shared with ParseOrderBy.
func (p *parser) fieldName() (string, error) {
	start := p.pos
	name := p.word()
	switch {
	case name == "":
		if !p.eof() && p.s[p.pos] == '(' {
			return "", p.syntaxErr(start, "parentheses are not supported")
		}
		return "", p.syntaxErr(start, "expected a field name, got %s", p.describe(start))
	case name == "NOT" || name == "OR" || name == "AND":
		return "", p.syntaxErr(start, "expected a field name, got %s (only conditions joined by AND are supported)", name)
	case strings.HasPrefix(name, "-"):
		return "", p.syntaxErr(start, "negation with %q is not supported", "-")
	case strings.Contains(name, ":"):
		return "", p.syntaxErr(start, "invalid field name %q (the %q operator is not supported)", name, ":")
	case !isIdentPath(name):
		return "", p.syntaxErr(start, "invalid field name %q", name)
	}
	return name, nil
}

// isIdentPath reports whether s is one or more identifiers joined by dots.
func isIdentPath(s string) bool {
	for seg := range strings.SplitSeq(s, ".") {
		if seg == "" || '0' <= seg[0] && seg[0] <= '9' {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
				return false
			}
		}
	}
	return true
}

func (p *parser) cond(schema Schema) (Cond, error) {
	start := p.pos
	name, err := p.fieldName()
	if err != nil {
		return Cond{}, err
	}
	f, ok := schema.Lookup(name)
	if !ok {
		return Cond{}, &Error{
			Field: name, Pos: start, Err: ErrUnknownField,
			Msg: fmt.Sprintf("unknown field %q (allowed: %s)", name, strings.Join(schema.names(), ", ")),
		}
	}

	p.skipSpace()
	opPos := p.pos
	op := p.op()
	if op == "" {
		return Cond{}, p.syntaxErr(opPos, "expected an operator (=, !=, <, >, <=, >=) after field %q, got %s", name, p.describe(opPos))
	}
	if allowed := f.AllowedOps(); !slices.Contains(allowed, op) {
		return Cond{}, &Error{
			Field: name, Pos: opPos, Err: ErrBadOperator,
			Msg: fmt.Sprintf("operator %q not allowed on field %q (allowed: %s)", op, name, joinOps(allowed)),
		}
	}

	p.skipSpace()
	valPos := p.pos
	raw, err := p.value()
	if err != nil {
		return Cond{}, err
	}
	if raw == "" && valPos == p.pos {
		return Cond{}, p.syntaxErr(valPos, "expected a value after %q, got %s", op, p.describe(valPos))
	}
	v, msg := convert(f, raw)
	if msg != "" {
		return Cond{}, &Error{
			Field: name, Pos: valPos, Err: ErrBadValue,
			Msg: fmt.Sprintf("field %q: value %q %s", name, raw, msg),
		}
	}
	return Cond{Field: name, Op: op, Value: v}, nil
}

// op consumes an operator, returning "" if there is none.
func (p *parser) op() Op {
	rest := p.s[p.pos:]
	for _, op := range [...]Op{Ne, Le, Ge, Eq, Lt, Gt} { // two-byte operators first
		if strings.HasPrefix(rest, string(op)) {
			p.pos += len(op)
			return op
		}
	}
	return ""
}

// value consumes a quoted or bare value and returns its text.
func (p *parser) value() (string, error) {
	if p.eof() || p.s[p.pos] != '"' {
		return p.word(), nil
	}
	start := p.pos
	for i := start + 1; i < len(p.s); i++ {
		switch p.s[i] {
		case '\\':
			i++ // skip the escaped character, which may be a quote
		case '"':
			p.pos = i + 1
			v, err := strconv.Unquote(p.s[start:p.pos])
			if err != nil {
				return "", p.syntaxErr(start, "invalid string %s (check escapes and line breaks)", p.s[start:p.pos])
			}
			return v, nil
		}
	}
	return "", p.syntaxErr(start, "unterminated string")
}

// convert parses raw as a value of f's kind. On failure it returns the end of
// an error message ("is not an integer").
func convert(f Field, raw string) (any, string) {
	switch f.Kind {
	case KindEnum:
		if !slices.Contains(f.Enum, raw) {
			return nil, "is not one of " + strings.Join(f.Enum, ", ")
		}
		return raw, ""
	case KindInt:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, "is not a 64-bit integer"
		}
		return n, ""
	case KindBool:
		switch raw {
		case "true":
			return true, ""
		case "false":
			return false, ""
		}
		return nil, "is not true or false"
	case KindTime:
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			return nil, `is not an RFC 3339 timestamp such as "2026-01-01T00:00:00Z"`
		}
		t = t.UTC()
		// An offset can move a valid local time out of the four-digit year
		// range, where it could not be written back in RFC 3339.
		if t.Year() < 1 || t.Year() > 9999 {
			return nil, "is out of range"
		}
		return t, ""
	default:
		// Escapes can produce bytes that are not text; no database column
		// could match them, and some would reject the query outright.
		if !utf8.ValidString(raw) || strings.IndexByte(raw, 0) >= 0 {
			return nil, "is not valid UTF-8 text"
		}
		return raw, ""
	}
}

func joinOps(ops []Op) string {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = string(op)
	}
	return strings.Join(s, ", ")
}

func (p *parser) syntaxErr(pos int, format string, args ...any) *Error {
	return &Error{
		Pos: pos, Err: ErrSyntax,
		Msg: fmt.Sprintf("syntax error at offset %d: ", pos) + fmt.Sprintf(format, args...),
	}
}

// Canonical returns a normalized filter string equivalent to conds, for
// binding page tokens to a filter independently of how it was spelled:
// whitespace, quoting, time zone offsets and the order of conditions do not
// affect the result. Parse accepts the result and yields the same conditions,
// possibly reordered. Canonical of no conditions is "".
func Canonical(conds []Cond) string {
	switch len(conds) {
	case 0:
		return ""
	case 1:
		return formatCond(conds[0])
	}
	parts := make([]string, len(conds))
	for i, c := range conds {
		parts[i] = formatCond(c)
	}
	// A conjunction means the same in any order.
	sort.Strings(parts)
	return strings.Join(parts, " AND ")
}

func formatCond(c Cond) string {
	var v string
	switch x := c.Value.(type) {
	case string:
		v = strconv.Quote(x)
	case int64:
		v = strconv.FormatInt(x, 10)
	case bool:
		v = strconv.FormatBool(x)
	case time.Time:
		v = strconv.Quote(x.UTC().Format(time.RFC3339Nano))
	default:
		v = strconv.Quote(fmt.Sprint(x))
	}
	return c.Field + string(c.Op) + v
}
