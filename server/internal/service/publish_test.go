package service_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestEventsToNATS: with --events-nats-url every event of the feed is
// published to JetStream, in feed order, with its id as Nats-Msg-Id.
func TestEventsToNATS(t *testing.T) {
	url := storetest.NATSURL(t)
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			suffix := hex.EncodeToString(b)
			stream, prefix := "AFTERSALES_TEST_"+strings.ToUpper(suffix), "aftersales.test."+suffix
			nc, err := nats.Connect(url)
			require.NoError(t, err)
			defer nc.Close()
			js, err := jetstream.New(nc)
			require.NoError(t, err)
			t.Cleanup(func() { _ = js.DeleteStream(context.Background(), stream) })

			e := start(t, dialect, func(c *config.Config) {
				c.EventsNATSURL, c.EventsNATSStream, c.EventsNATSSubjectPrefix = url, stream, prefix
			})
			f := e.seed()
			ticketWork(t, e, f, 2)
			want := e.feed(e.admin(), 0, "")

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
			require.NoError(t, err)
			var got []*aftersalesv1.Event
			for len(got) < len(want) {
				msg, err := cons.Next(jetstream.FetchMaxWait(25 * time.Second))
				require.NoError(t, err, "got %d of %d events", len(got), len(want))
				ev := &aftersalesv1.Event{}
				require.NoError(t, protojson.Unmarshal(msg.Data(), ev))
				require.Equal(t, strconv.FormatInt(ev.GetId(), 10), msg.Headers().Get(jetstream.MsgIDHeader))
				require.Equal(t, prefix+"."+ev.GetType(), msg.Subject())
				got = append(got, ev)
			}
			for i := range want {
				require.Equal(t, want[i].GetId(), got[i].GetId(), "same events, same order")
				require.Equal(t, want[i].GetType(), got[i].GetType())
			}
		})
	}
}
