package service

import (
	"context"
	"database/sql"
	"strconv"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/pagetoken"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/changefeed"
	"github.com/aftersales/aftersales/server/internal/followupflow"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// The change feed: outbox.go writes events in the transactions of the
// changes; here the sequencer gives committed events their positions,
// retention deletes old ones, a loop emits followup.due, and
// ListEvents/WatchEvents read the feed in the caller's scope.

// Leases of the feed's background loops.
const (
	sequencerLease   = "event-sequencer"
	retentionLease   = "event-retention"
	followUpDueLease = "followup-due"
)

// sequenceBatch is how many events one sequencer statement numbers.
const sequenceBatch = 1000

// cursorFollowUpDue is how far (in due time, Unix microseconds) the
// follow-up loop has emitted followup.due.
const cursorFollowUpDue = "followup_due"

// signal wakes everyone waiting for news at once: wait returns a channel
// that fire closes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

type eventServer struct {
	aftersalesv1.UnimplementedEventServiceServer
	*base
	// poll is how often a watcher looks for events sequenced by another
	// replica; those of this one wake it at once.
	poll time.Duration
}

var eventFilter = filter.Schema{{Name: "type"}, {Name: "resource_type"}, {Name: "resource"}}

func (s *eventServer) ListEvents(ctx context.Context, req *aftersalesv1.ListEventsRequest) (*aftersalesv1.ListEventsResponse, error) {
	size, err := pagetoken.Size(req.GetPageSize(), pagetoken.DefaultSize, pagetoken.MaxSize)
	if err != nil {
		return nil, apierr.InvalidField("page_size", "must not be negative")
	}
	conds, err := parseEventFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	evs, next, err := s.page(ctx, principal.FromContext(ctx), req.GetAfterId(), conds, size)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &aftersalesv1.ListEventsResponse{Events: evs, NextAfterId: next}, nil
}

// watchStartHeader is the WatchEvents response header with the id the
// stream starts after: with after_id 0, the feed's position at the call.
const watchStartHeader = "aftersales-after-id"

func (s *eventServer) WatchEvents(req *aftersalesv1.WatchEventsRequest, stream grpc.ServerStreamingServer[aftersalesv1.Event]) error {
	ctx := stream.Context()
	if req.GetAfterId() < 0 {
		return apierr.InvalidField("after_id", "must not be negative")
	}
	conds, err := parseEventFilter(req.GetFilter())
	if err != nil {
		return err
	}
	caller := principal.FromContext(ctx)
	after := req.GetAfterId()
	if after == 0 {
		if after, err = s.feedNow(ctx); err != nil {
			return s.toStatus(ctx, err)
		}
	}
	// The headers say the watch is live: every event committed after
	// they arrive is sent. Until then a caller starting "from now" cannot
	// know whether what it does next is before or after that.
	if err := stream.SendHeader(metadata.Pairs(watchStartHeader, strconv.FormatInt(after, 10))); err != nil {
		return err
	}
	const batch = 500
	for {
		// Take the channel before reading, so an event sequenced in
		// between still wakes the next wait.
		wake := s.events.wait()
		evs, next, err := s.page(ctx, caller, after, conds, batch)
		if err != nil {
			return s.toStatus(ctx, err)
		}
		for _, ev := range evs {
			if err := stream.Send(ev); err != nil {
				return err
			}
		}
		after = next
		if len(evs) == batch {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(s.poll):
		}
	}
}

func parseEventFilter(f string) ([]filter.Cond, error) {
	conds, err := filter.Parse(f, eventFilter)
	if err != nil {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_INVALID_FILTER, apierr.Violation{Field: "filter", Description: err.Error()})
	}
	return conds, nil
}

// top returns the highest position of a visible event, 0 when none.
func (b *base) top(ctx context.Context) (int64, error) {
	var top sql.NullInt64
	err := b.db.Gorm(ctx).Model(&store.Event{}).Select("MAX(seq)").Scan(&top).Error
	return top.Int64, store.Translate(err)
}

// feedNow returns the feed's position now: after every event committed
// before the call, which it numbers first rather than wait for the
// sequencer loop, so that "from now on" leaves none of them out.
func (b *base) feedNow(ctx context.Context) (int64, error) {
	if _, err := b.sequence(ctx); err != nil {
		return 0, err
	}
	return b.top(ctx)
}

// page reads up to size events after position after that p may see and
// conds select, and the position to continue from. When fewer than size
// match, that position is the feed's top when the page was read, so a
// reader moves past what it may not see instead of reading it again.
func (b *base) page(ctx context.Context, p principal.Principal, after int64, conds []filter.Cond, size int) ([]*aftersalesv1.Event, int64, error) {
	if err := b.checkCursor(ctx, after); err != nil {
		return nil, 0, err
	}
	top, err := b.top(ctx)
	if err != nil || top <= after {
		return nil, after, err
	}
	q := eventScope(b.db.Gorm(ctx).Model(&store.Event{}), p).Where("seq > ? AND seq <= ?", after, top)
	for _, c := range conds {
		q = q.Where(c.Field+" "+string(c.Op)+" ?", c.Value)
	}
	var rows []store.Event
	if err := q.Order("seq").Limit(size).Find(&rows).Error; err != nil {
		return nil, 0, store.Translate(err)
	}
	// Retention may have deleted events after the cursor while we read:
	// then the page has a gap, and the caller must hear so.
	if err := b.checkCursor(ctx, after); err != nil {
		return nil, 0, err
	}
	next := top
	if len(rows) == size {
		next = *rows[len(rows)-1].Seq
	}
	out := make([]*aftersalesv1.Event, 0, len(rows))
	for i := range rows {
		ev, err := eventFor(&rows[i], p)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, ev)
	}
	return out, next, nil
}

// checkCursor refuses a position older than what retention kept:
// FAILED_PRECONDITION naming the oldest position the feed continues from
// without a gap. 0 means "the oldest kept" and is always valid.
func (b *base) checkCursor(ctx context.Context, after int64) error {
	if after == 0 {
		return nil
	}
	purged, err := b.db.EventPosition(ctx, store.CursorPurged)
	if err != nil || after >= purged {
		return err
	}
	oldest := strconv.FormatInt(purged, 10)
	msg := "events up to " + oldest + " were deleted by retention; continue from after_id=" + oldest + " (events in between are lost to this reader)"
	st, err := status.New(codes.FailedPrecondition, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: aftersalesv1.ErrorReason_EVENT_CURSOR_EXPIRED.String(), Domain: apierr.Domain,
			Metadata: map[string]string{"oldest_after_id": oldest}},
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
			Type: "EVENT_CURSOR", Subject: "after_id=" + strconv.FormatInt(after, 10), Description: msg,
		}}},
	)
	if err != nil {
		return err
	}
	return st.Err()
}

// sequence numbers every committed event waiting for a position, and
// wakes this replica's readers when it numbered any.
func (b *base) sequence(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := b.db.SequenceEvents(ctx, sequenceBatch)
		total += int(n)
		if err != nil {
			return total, err
		}
		if n < sequenceBatch {
			break
		}
	}
	if total > 0 {
		b.events.fire()
	}
	return total, nil
}

// purgeEvents deletes events older than the retention.
func (b *base) purgeEvents(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := b.db.PurgeEvents(ctx, b.now().Add(-b.feed.Retention), sequenceBatch)
		total += int(n)
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// emitFollowUpsDue emits followup.due for each scheduled follow-up whose
// due time has come since the last pass. The loop starts from the time of
// its first pass: follow-ups already overdue then are not announced
// again.
func (b *base) emitFollowUpsDue(ctx context.Context) (int, error) {
	ctx = principal.NewContext(ctx, principal.NewSystem("followups"))
	now := b.now()
	n := 0
	err := b.db.InTx(ctx, func(tx *gorm.DB) error {
		n = 0 // InTx may rerun this
		var c store.EventCursor
		err := tx.Where("name = ?", cursorFollowUpDue).Take(&c).Error
		if err != nil && !isNotFound(store.Translate(err)) {
			return err
		}
		if c.Name == "" {
			return store.SetEventPosition(tx, cursorFollowUpDue, now.UnixMicro())
		}
		from := time.UnixMicro(c.Position).UTC()
		var rows []store.FollowUp
		if err := tx.Where("state = ? AND due_time > ? AND due_time <= ?", int32(followupflow.Scheduled), from, now).
			Order("due_time").Order("id").Limit(sequenceBatch).Find(&rows).Error; err != nil {
			return store.Translate(err)
		}
		to := now
		if len(rows) == sequenceBatch {
			// Several follow-ups may share the last due time: stop just
			// before it, so none of them is skipped.
			to = rows[len(rows)-1].DueTime.Add(-time.Microsecond)
		}
		for i := range rows {
			if !rows[i].DueTime.After(to) {
				msg := followUpProto(&rows[i], now)
				data, err := anyBytes(msg)
				if err != nil {
					return err
				}
				if err := b.emit(ctx, tx, resname.Format(resname.FollowUps, rows[i].ID), "followup."+changefeed.Due, msg, data); err != nil {
					return err
				}
				n++
			}
		}
		return store.SetEventPosition(tx, cursorFollowUpDue, to.UnixMicro())
	})
	return n, err
}
