package filter

import (
	"fmt"
	"sort"
	"strings"
)

// Order is one key of a parsed AIP-132 order_by.
type Order struct {
	Field string
	Desc  bool
}

// ParseOrderBy parses an AIP-132 order_by string: comma-separated field names,
// each optionally followed by asc or desc (in any case). Fields must be
// present and true in allowed, and may appear only once. An empty or blank
// string yields nil and no error. Errors are *Error values of the same kinds
// Parse returns.
func ParseOrderBy(s string, allowed map[string]bool) ([]Order, error) {
	p := parser{s: s}
	if err := p.checkInput("order_by"); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, nil
	}
	var orders []Order
	for {
		start := p.pos
		name, err := p.fieldName()
		if err != nil {
			return nil, err
		}
		if !allowed[name] {
			return nil, &Error{
				Field: name, Pos: start, Err: ErrUnknownField,
				Msg: fmt.Sprintf("cannot order by field %q (allowed: %s)", name, strings.Join(allowedNames(allowed), ", ")),
			}
		}
		for _, o := range orders {
			if o.Field == name {
				return nil, &Error{
					Field: name, Pos: start, Err: ErrSyntax,
					Msg: fmt.Sprintf("syntax error at offset %d: field %q appears more than once in order_by", start, name),
				}
			}
		}
		o := Order{Field: name}

		p.skipSpace()
		if !p.eof() && p.s[p.pos] != ',' {
			dirPos := p.pos
			switch dir := p.word(); {
			case strings.EqualFold(dir, "desc"):
				o.Desc = true
			case strings.EqualFold(dir, "asc"):
			case dir == "":
				return nil, p.syntaxErr(dirPos, "expected asc, desc or a comma after field %q, got %s", name, p.describe(dirPos))
			default:
				return nil, p.syntaxErr(dirPos, "expected asc, desc or a comma after field %q, got %q", name, dir)
			}
			p.skipSpace()
		}
		orders = append(orders, o)

		if p.eof() {
			return orders, nil
		}
		if p.s[p.pos] != ',' {
			return nil, p.syntaxErr(p.pos, "expected a comma, got %s", p.describe(p.pos))
		}
		p.pos++
		p.skipSpace()
	}
}

func allowedNames(allowed map[string]bool) []string {
	names := make([]string, 0, len(allowed))
	for name, ok := range allowed {
		if ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// CanonicalOrderBy returns the normalized order_by string for orders, such as
// "create_time desc, id", for binding page tokens. Unlike filter conditions,
// keys keep their order because it changes the result.
func CanonicalOrderBy(orders []Order) string {
	var b strings.Builder
	for i, o := range orders {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.Field)
		if o.Desc {
			b.WriteString(" desc")
		}
	}
	return b.String()
}
