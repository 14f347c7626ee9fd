package natspub_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/natspub"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// testOptions returns options with a stream and subject prefix of their
// own, so tests and concurrent runs against one server do not see each
// other's events, and deletes the stream when the test ends.
func testOptions(t *testing.T, url string) natspub.Options {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	o := natspub.Options{
		Stream:          "AFTERSALES_TEST_" + strings.ToUpper(suffix),
		SubjectPrefix:   "aftersales.test." + suffix,
		DuplicateWindow: time.Minute,
		Name:            t.Name(),
	}
	js := jetStreamClient(t, url)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, o.Stream); err != nil {
			t.Logf("delete stream %s: %v", o.Stream, err)
		}
	})
	return o
}

// jetStreamClient opens a connection of the test's own, to inspect what
// the publisher stored.
func jetStreamClient(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name(t.Name()+" inspector"))
	require.NoError(t, err)
	// Registered before the stream deletion, so it runs after it.
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

func connect(t *testing.T, url string, o natspub.Options) *natspub.Publisher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := natspub.Connect(ctx, url, o)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var eventTypes = []string{"ticket.assigned", "followup.due", "ticket.created", "sla_policy.updated"}

type event struct {
	id   int64
	typ  string
	body string
}

func publishEvents(t *testing.T, p *natspub.Publisher, n int) []event {
	t.Helper()
	var events []event
	for i := 1; i <= n; i++ {
		e := event{int64(i), eventTypes[i%len(eventTypes)], fmt.Sprintf(`{"id":%d}`, i)}
		require.NoError(t, p.Publish(ctx(t), e.id, e.typ, []byte(e.body)), "publish event %d", i)
		events = append(events, e)
	}
	return events
}

func TestPublishStoresEventsInOrder(t *testing.T) {
	url := storetest.NATSURL(t)
	o := testOptions(t, url)
	p := connect(t, url, o)
	events := publishEvents(t, p, 20)

	js := jetStreamClient(t, url)
	s, err := js.Stream(ctx(t), o.Stream)
	require.NoError(t, err)
	info := s.CachedInfo()
	require.Equal(t, uint64(len(events)), info.State.Msgs)
	require.Equal(t, []string{o.SubjectPrefix + ".>"}, info.Config.Subjects)
	require.Equal(t, jetstream.FileStorage, info.Config.Storage)
	require.Equal(t, o.DuplicateWindow, info.Config.Duplicates)

	for i, e := range events {
		m, err := s.GetMsg(ctx(t), uint64(i+1))
		require.NoError(t, err)
		require.Equal(t, o.SubjectPrefix+"."+e.typ, m.Subject)
		require.Equal(t, strconv.FormatInt(e.id, 10), m.Header.Get(jetstream.MsgIDHeader))
		require.Equal(t, e.body, string(m.Data))
	}
}

func TestPublishSameIDStoresOnce(t *testing.T) {
	url := storetest.NATSURL(t)
	o := testOptions(t, url)
	p := connect(t, url, o)

	require.NoError(t, p.Publish(ctx(t), 7, "ticket.assigned", []byte("first")))
	// A relay that crashed before recording its progress publishes again.
	require.NoError(t, p.Publish(ctx(t), 7, "ticket.assigned", []byte("first")))
	require.NoError(t, p.Publish(ctx(t), 8, "ticket.assigned", []byte("second")))

	s, err := jetStreamClient(t, url).Stream(ctx(t), o.Stream)
	require.NoError(t, err)
	require.Equal(t, uint64(2), s.CachedInfo().State.Msgs)
	m, err := s.GetMsg(ctx(t), 2)
	require.NoError(t, err)
	require.Equal(t, "8", m.Header.Get(jetstream.MsgIDHeader))
}

func TestOrderedConsumerReadsEventsInOrder(t *testing.T) {
	url := storetest.NATSURL(t)
	o := testOptions(t, url)
	p := connect(t, url, o)
	events := publishEvents(t, p, 50)

	js := jetStreamClient(t, url)
	c, err := js.OrderedConsumer(ctx(t), o.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{o.SubjectPrefix + ".>"},
	})
	require.NoError(t, err)
	var got []event
	for len(got) < len(events) {
		batch, err := c.Fetch(len(events)-len(got), jetstream.FetchMaxWait(5*time.Second))
		require.NoError(t, err)
		n := 0
		for m := range batch.Messages() {
			id, err := strconv.ParseInt(m.Headers().Get(jetstream.MsgIDHeader), 10, 64)
			require.NoError(t, err)
			got = append(got, event{id, strings.TrimPrefix(m.Subject(), o.SubjectPrefix+"."), string(m.Data())})
			n++
		}
		require.NoError(t, batch.Error())
		require.NotZero(t, n, "fetch returned no events after %d of %d", len(got), len(events))
	}
	require.Equal(t, events, got)
}

func TestConnectKeepsExistingStreamLimits(t *testing.T) {
	url := storetest.NATSURL(t)
	o := testOptions(t, url)
	js := jetStreamClient(t, url)
	// An operator prepared the stream with a retention limit and another
	// subject, but a shorter duplicate window than ours.
	_, err := js.CreateStream(ctx(t), jetstream.StreamConfig{
		Name:       o.Stream,
		Subjects:   []string{o.SubjectPrefix + "-legacy.>"},
		Storage:    jetstream.MemoryStorage,
		MaxAge:     time.Hour,
		Duplicates: 10 * time.Second,
	})
	require.NoError(t, err)

	p := connect(t, url, o)
	require.NoError(t, p.Publish(ctx(t), 1, "ticket.created", []byte("{}")))

	s, err := js.Stream(ctx(t), o.Stream)
	require.NoError(t, err)
	cfg := s.CachedInfo().Config
	require.Equal(t, time.Hour, cfg.MaxAge)
	require.Equal(t, jetstream.MemoryStorage, cfg.Storage)
	require.Equal(t, o.DuplicateWindow, cfg.Duplicates)
	require.ElementsMatch(t, []string{o.SubjectPrefix + "-legacy.>", o.SubjectPrefix + ".>"}, cfg.Subjects)
	require.Equal(t, uint64(1), s.CachedInfo().State.Msgs)

	// Connecting again to a stream that fits changes nothing, and a
	// shorter window than the stream's does not narrow it.
	o.DuplicateWindow = time.Second
	connect(t, url, o).Close()
	s, err = js.Stream(ctx(t), o.Stream)
	require.NoError(t, err)
	require.Equal(t, time.Minute, s.CachedInfo().Config.Duplicates)
	require.Len(t, s.CachedInfo().Config.Subjects, 2)
}

func TestPublishRefusesInvalidEventTypes(t *testing.T) {
	url := storetest.NATSURL(t)
	o := testOptions(t, url)
	p := connect(t, url, o)
	for _, typ := range []string{"", "ticket.", ".ticket", "ticket..assigned", "ticket.*", "ticket.>", "ticket assigned"} {
		err := p.Publish(ctx(t), 1, typ, nil)
		require.ErrorContains(t, err, "invalid event type", "%q", typ)
	}
}

func TestConnectRefusesInvalidSubjectPrefix(t *testing.T) {
	_, err := natspub.Connect(t.Context(), "nats://127.0.0.1:1", natspub.Options{SubjectPrefix: "events.*"})
	require.ErrorContains(t, err, "invalid subject prefix")
}

func TestConnectToClosedPortFailsPromptly(t *testing.T) {
	// A port that was just free: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	url := "nats://user:secret@" + addr
	start := time.Now()
	p, err := natspub.Connect(t.Context(), url, natspub.Options{})
	require.Error(t, err)
	require.Nil(t, p)
	require.Less(t, time.Since(start), 3*time.Second)
	require.ErrorIs(t, err, nats.ErrNoServers)
	require.ErrorContains(t, err, "natspub: connect to nats://user:xxxxx@"+addr)
	require.NotContains(t, err.Error(), "secret")
}

func TestCloseTwice(t *testing.T) {
	url := storetest.NATSURL(t)
	p := connect(t, url, testOptions(t, url))
	p.Close()
	p.Close()
	require.Error(t, p.Publish(ctx(t), 1, "ticket.created", nil))
}
