package service

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/pagetoken"
	"github.com/aftersales/aftersales/server/internal/store"
)

// column maps one filterable API field onto a table column. conv turns
// the parsed filter value into the stored value (a resource name into an
// id, an enum name into its number); nil keeps it as is.
type column struct {
	field filter.Field
	name  string
	conv  func(v any) (any, error)
	// cond, when set, builds the SQL condition itself, for a field that
	// is computed from several columns (a follow-up's overdue).
	cond func(op filter.Op, v any) (string, []any)
}

// listSpec is how one List method maps onto its table.
type listSpec struct {
	columns []column
	// orderBy maps the API fields (time fields) a List may be ordered by
	// besides create_time onto their columns, which are NOT NULL so that
	// the keyset order is total. Such a page is read in two steps (see
	// list), which take the positions from the query, not the rows.
	orderBy map[string]string
	// indexes are the table's indexes of equality columns followed by
	// an order column (and the id, which InnoDB keys every secondary
	// index by), for forcedIndex.
	indexes []orderIndex
}

// orderIndex is an index on (eq..., order, id).
type orderIndex struct {
	name  string
	eq    []string // column names, in any order
	order string
}

// forcedIndex returns the index a MySQL query of the list must read when
// the equalities on its columns are exactly an index's leading columns
// (which the order column follows): a page is then a read of that index
// in order, of page-size entries. MariaDB 10.11 costs such an index as if
// it read every matching row and, for ORDER BY ... LIMIT, may prefer to
// scan the plain create_time index and test each row it reaches: once
// creates had filled the newest end of the table with NEW tickets, a
// technician's IN_PROGRESS page read 169k entries of 330k tickets (0.3 s
// alone, 8-10 s under load; 2026-12-04) instead of 51. With equalities
// on other columns too, the best index depends on the data, and the
// optimizer decides.
func (l listSpec) forcedIndex(eq map[string]bool, order string) string {
	for _, ix := range l.indexes {
		if ix.order != order || len(ix.eq) != len(eq) {
			continue
		}
		if !slices.ContainsFunc(ix.eq, func(c string) bool { return !eq[c] }) {
			return ix.name
		}
	}
	return ""
}

func (l listSpec) schema() filter.Schema {
	s := make(filter.Schema, len(l.columns))
	for i, c := range l.columns {
		s[i] = c.field
	}
	return s
}

func (l listSpec) column(field string) column {
	for _, c := range l.columns {
		if c.field.Name == field {
			return c
		}
	}
	panic("service: filter field without column: " + field)
}

// listRequest is what every AIP-132 List request carries.
type listRequest struct {
	parent    string
	filter    string
	orderBy   string
	pageSize  int32
	pageToken string
	// scopedBy is the column the caller's scope in q restricts the rows
	// by ("" for none): a customer's customer_id, a technician's
	// assignee_id. An index is forced (listSpec.forcedIndex) only when
	// the filter has an equality on it too; otherwise the scope may be
	// what selects the few rows, and the optimizer decides.
	scopedBy string
}

// keyed is a row's keyset position.
type keyed interface {
	Key() (time.Time, string)
}

// orderable is the ordering every List offers: by creation, either way.
// Keyset pagination needs a total order backed by an index, and every list
// index ends in (create_time, id).
var orderable = map[string]bool{"create_time": true}

// list runs one page of a List: it validates page size, filter, order and
// page token (INVALID_ARGUMENT with the matching reason), applies them to
// q as a keyset query (never OFFSET), and returns the rows and the next
// page token. q already carries the parent's conditions.
func list[M any, PM interface {
	*M
	keyed
}](q *gorm.DB, spec listSpec, req listRequest) ([]M, string, error) {
	size, err := pagetoken.Size(req.pageSize, pagetoken.DefaultSize, pagetoken.MaxSize)
	if err != nil {
		return nil, "", apierr.InvalidField("page_size", "must not be negative")
	}
	conds, err := filter.Parse(req.filter, spec.schema())
	if err != nil {
		return nil, "", apierr.Invalid(aftersalesv1.ErrorReason_INVALID_FILTER, apierr.Violation{Field: "filter", Description: err.Error()})
	}
	allowed := orderable
	if len(spec.orderBy) > 0 {
		allowed = maps.Clone(orderable)
		for f := range spec.orderBy {
			allowed[f] = true
		}
	}
	orders, err := filter.ParseOrderBy(req.orderBy, allowed)
	if err == nil && len(orders) > 1 {
		err = errors.New("order by one field only")
	}
	if err != nil {
		return nil, "", apierr.Invalid(aftersalesv1.ErrorReason_INVALID_ORDER_BY, apierr.Violation{Field: "order_by", Description: err.Error()})
	}
	// The page token's position holds the order's time column and the id.
	field, key, desc := "create_time", "create_time", false
	if len(orders) == 1 {
		field, desc = orders[0].Field, orders[0].Desc
		if c, ok := spec.orderBy[field]; ok {
			key = c
		}
	}
	// Extra names the collection, so that a token of one List is refused
	// by another even when neither has a parent or filter (AIP-158).
	query := pagetoken.Query{Parent: req.parent, Filter: filter.Canonical(conds), OrderBy: filter.CanonicalOrderBy(orders), Extra: reflect.TypeFor[M]().Name()}
	pos, err := pagetoken.Decode(req.pageToken, query)
	if err != nil {
		desc := "is not valid"
		if errors.Is(err, pagetoken.ErrMismatch) {
			desc = "was issued for a different query; parent, filter and order_by must not change between pages"
		}
		return nil, "", apierr.Invalid(aftersalesv1.ErrorReason_INVALID_PAGE_TOKEN, apierr.Violation{Field: "page_token", Description: desc})
	}

	eq := map[string]bool{}
	for _, c := range conds {
		col := spec.column(c.Field)
		if c.Op == filter.Eq && col.cond == nil {
			eq[col.name] = true
		}
		v := c.Value
		if col.conv != nil {
			if v, err = col.conv(v); err != nil {
				return nil, "", apierr.Invalid(aftersalesv1.ErrorReason_INVALID_FILTER, apierr.Violation{Field: "filter", Description: "field " + c.Field + ": " + err.Error()})
			}
		}
		if col.cond != nil {
			sql, args := col.cond(c.Op, v)
			q = q.Where(sql, args...)
			continue
		}
		q = q.Where(col.name+" "+string(c.Op)+" ?", v)
	}
	cmp, dir := ">", "ASC"
	if desc {
		cmp, dir = "<", "DESC"
	}
	if !pos.IsZero() {
		q = q.Where("("+key+" "+cmp+" ? OR ("+key+" = ? AND id "+cmp+" ?))", pos.CreateTime, pos.CreateTime, pos.ID)
	}
	var rows []M
	next := ""
	ix := spec.forcedIndex(eq, key)
	if ix != "" && (req.scopedBy == "" || eq[req.scopedBy]) && q.Dialector.Name() == "mysql" {
		if err := q.Statement.Parse(q.Statement.Model); err != nil {
			return nil, "", err
		}
		q = q.Table(q.Statement.Quote(q.Statement.Table) + " FORCE INDEX (" + ix + ")")
	}
	q = q.Order(key + " " + dir).Order("id " + dir)
	if field == "create_time" {
		if err := q.Limit(size + 1).Find(&rows).Error; err != nil {
			return nil, "", store.Translate(err)
		}
		if len(rows) > size {
			rows = rows[:size]
			t, id := PM(&rows[size-1]).Key()
			next = pagetoken.Encode(query, pagetoken.Position{CreateTime: t, ID: id})
		}
		return rows, next, nil
	}
	// Deferred read: the page's positions first, then the rows by id. A
	// filter that admits several values of the index's first column (the
	// work queue's open states) cannot read the index in order, so the
	// database sorts what matches; sorting index entries (an index-only
	// read of (state, resolve_due, id)) instead of whole rows made the
	// open queue's first page at 300k tickets, 10k of them open, about
	// twice as fast on MariaDB over HTTP (45-60 ms to 15-30 ms with the
	// rows cached; 270 to 45 ms for the SQL alone). The page and its
	// token come from the positions read, so a row changed in between is
	// shown as it is now but cannot end the paging early or make it skip.
	var keys []struct {
		ID string
		K  time.Time
	}
	if err := q.Select("id, " + key + " AS k").Limit(size + 1).Scan(&keys).Error; err != nil {
		return nil, "", store.Translate(err)
	}
	if len(keys) > size {
		keys = keys[:size]
		next = pagetoken.Encode(query, pagetoken.Position{CreateTime: keys[size-1].K, ID: keys[size-1].ID})
	}
	if len(keys) == 0 {
		return nil, next, nil
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	// The ids came through the caller's scope and filter; read them alone.
	var found []M
	if err := q.Session(&gorm.Session{NewDB: true}).Where("id IN ?", ids).Find(&found).Error; err != nil {
		return nil, "", store.Translate(err)
	}
	byID := make(map[string]*M, len(found))
	for i := range found {
		_, id := PM(&found[i]).Key()
		byID[id] = &found[i]
	}
	for _, id := range ids {
		if m, ok := byID[id]; ok {
			rows = append(rows, *m)
		}
	}
	return rows, next, nil
}
