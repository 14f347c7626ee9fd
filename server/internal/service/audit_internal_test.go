package service

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// diffByJSON is how the trail's changes were computed before diff
// compared fields directly: both states whole in protojson, compared key
// by key. diff must agree with it.
func diffByJSON(t *testing.T, before, after proto.Message) []fieldChange {
	old, err := jsonFields(before)
	require.NoError(t, err)
	cur, err := jsonFields(after)
	require.NoError(t, err)
	var keys []string
	for k := range old {
		keys = append(keys, k)
	}
	for k := range cur {
		if _, ok := old[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []fieldChange
	for _, k := range keys {
		if slices.Contains(unaudited, k) || string(old[k]) == string(cur[k]) {
			continue
		}
		out = append(out, fieldChange{Field: k, Old: string(old[k]), New: string(cur[k])})
	}
	return out
}

// randomTicket sets a random subset of a ticket's fields, of every kind
// (strings, enums, ints, bools, timestamps, a message, a repeated field),
// from small pools so that two tickets often share values.
func randomTicket(r *rand.Rand) *aftersalesv1.Ticket {
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	t := &aftersalesv1.Ticket{Name: "tickets/a"}
	if r.IntN(2) == 0 {
		t.Title = pick("", "Washer leaks", "Dryer is loud")
	}
	if r.IntN(2) == 0 {
		t.State = aftersalesv1.Ticket_State(r.IntN(5))
	}
	if r.IntN(2) == 0 {
		t.Priority = aftersalesv1.Ticket_Priority(r.IntN(3))
	}
	if r.IntN(2) == 0 {
		t.Assignee = pick("", "staff/a", "staff/b")
	}
	if r.IntN(2) == 0 {
		t.EscalationLevel = int32(r.IntN(3))
	}
	if r.IntN(2) == 0 {
		t.Etag = pick("", "W/1", "W/2")
	}
	base := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	if r.IntN(2) == 0 {
		t.ResolveTime = timestamppb.New(base.Add(time.Duration(r.IntN(3)) * time.Hour))
	}
	if r.IntN(2) == 0 {
		t.UpdateTime = timestamppb.New(base.Add(time.Duration(r.IntN(2)) * time.Microsecond))
	}
	if r.IntN(2) == 0 {
		t.FeeQuote = &aftersalesv1.FeeQuote{Description: pick("", "parts", "labour"), ApprovalState: aftersalesv1.FeeQuote_ApprovalState(r.IntN(2))}
	}
	return t
}

func TestDiffAgreesWithJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		before, after := randomTicket(r), randomTicket(r)
		if i%7 == 0 {
			after = proto.CloneOf(before)
		}
		var b, a proto.Message = before, after
		switch i % 11 {
		case 0:
			b = nil // a creation
		case 1:
			a = nil // a deletion
		}
		got, err := diff(b, a)
		require.NoError(t, err)
		want := diffByJSON(t, b, a)
		if !slices.Equal(got, want) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			t.Fatalf("case %d: diff %s, JSON comparison %s", i, gj, wj)
		}
	}
}
