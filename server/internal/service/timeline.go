package service

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// eventExtras are what a timeline event (a ticket's or a complaint's)
// carries besides its row's plain columns: the changed values and who is
// told about it.
type eventExtras struct {
	details map[string]string
	notice  []string
}

func (e *eventExtras) setDetail(k, v string) {
	if e.details == nil {
		e.details = map[string]string{}
	}
	e.details[k] = v
}

// notify adds a staff member (by id) to those told of the event.
func (e *eventExtras) notify(staffID string) {
	if staffID != "" {
		e.notifyName(resname.Format(resname.Staff, staffID))
	}
}

// notifyName adds a principal (by resource name) to those told.
func (e *eventExtras) notifyName(name string) {
	if name != "" && !slices.Contains(e.notice, name) {
		e.notice = append(e.notice, name)
	}
}

// encode returns the extras as stored: details as JSON ("" when none)
// and the comma-separated notify list.
func (e *eventExtras) encode() (details, notify string) {
	if len(e.details) > 0 {
		b, _ := json.Marshal(e.details)
		details = string(b)
	}
	return details, strings.Join(e.notice, ",")
}

// decodeExtras reads stored extras back.
func decodeExtras(details, notify string) (map[string]string, []string) {
	var d map[string]string
	if details != "" {
		_ = json.Unmarshal([]byte(details), &d)
	}
	var n []string
	if notify != "" {
		n = strings.Split(notify, ",")
	}
	return d, n
}

// listTimeline pages through the events (table of E, joined to their
// parent by column) of the parent with id, after checking that the
// caller's scope holds the parent: one outside it is NOT_FOUND, like a
// missing one. Callers who may not read internal notes get none.
func listTimeline[E any, PE interface {
	*E
	keyed
}](ctx context.Context, b *base, scope func(*gorm.DB, principal.Principal) *gorm.DB, parentModel any,
	column, id, parent string, pageSize int32, pageToken string,
) ([]E, string, error) {
	caller := principal.FromContext(ctx)
	db := b.db.Gorm(ctx)
	if ok, err := exists(scope(db, caller), parentModel, id); err != nil || !ok {
		return nil, "", b.toStatus(ctx, orErr(err, notFound(parent)))
	}
	var model E
	q := db.Model(&model).Where(column+" = ?", id)
	if !seesInternal(caller) {
		q = q.Where("internal = ?", false)
	}
	rows, next, err := list[E, PE](q, listSpec{}, listRequest{parent: parent, pageSize: pageSize, pageToken: pageToken})
	if err != nil {
		return nil, "", b.toStatus(ctx, err)
	}
	return rows, next, nil
}
