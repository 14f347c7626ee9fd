package webhook_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/pkg/webhooksig"
	"github.com/aftersales/aftersales/server/internal/webhook"
)

const secret = "whsec_test"

var signedAt = time.Unix(1767225600, 0)

// delivery is what a test receiver saw.
type delivery struct {
	header http.Header
	body   []byte
}

func TestSend(t *testing.T) {
	got := make(chan delivery, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{header: r.Header.Clone(), body: body}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	s := webhook.NewSender(webhook.SenderOptions{AllowPrivate: true, Now: func() time.Time { return signedAt }})
	body := []byte(`{"type":"ticket.updated","resource":"tickets/abc"}`)
	res := s.Send(context.Background(), srv.URL+"/hooks", secret, 42, "ticket.updated", body)
	require.NoError(t, res.Err)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Positive(t, res.Latency)

	d := <-got
	require.Equal(t, body, d.body)
	require.NoError(t, webhooksig.Verify(secret, d.header.Get(webhooksig.Header), d.body, 5*time.Minute, signedAt))
	require.Equal(t, webhooksig.Sign(secret, signedAt, body), d.header.Get(webhooksig.Header), "signed at Now")
	require.Equal(t, "42", d.header.Get(webhooksig.EventIDHeader))
	require.Equal(t, "ticket.updated", d.header.Get(webhooksig.EventTypeHeader))
	require.Equal(t, "application/json", d.header.Get("Content-Type"))
	require.Equal(t, "Aftersales-Webhooks/1", d.header.Get("User-Agent"))

	s = webhook.NewSender(webhook.SenderOptions{AllowPrivate: true, UserAgent: "test/2"})
	res = s.Send(context.Background(), srv.URL, secret, 43, "ticket.created", body)
	require.NoError(t, res.Err)
	d = <-got
	require.Equal(t, "test/2", d.header.Get("User-Agent"))
	require.NoError(t, webhooksig.Verify(secret, d.header.Get(webhooksig.Header), d.body, time.Minute, time.Now()), "signed at time.Now by default")
}

func TestSendStatus(t *testing.T) {
	var redirected atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("code") {
		case "200":
			_, _ = io.WriteString(w, "thanks")
		case "202":
			w.WriteHeader(http.StatusAccepted)
		case "302":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "307":
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		case "400":
			http.Error(w, "bad request: secret internal detail", http.StatusBadRequest)
		case "500":
			http.Error(w, "panic: secret internal detail", http.StatusInternalServerError)
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	s := webhook.NewSender(webhook.SenderOptions{AllowPrivate: true})
	tests := []struct {
		code    int
		wantErr string
	}{
		{code: 200},
		{code: 202},
		{code: 302, wantErr: "HTTP 302; redirects are not followed"},
		{code: 307, wantErr: "HTTP 307; redirects are not followed"},
		{code: 400, wantErr: "HTTP 400"},
		{code: 500, wantErr: "HTTP 500"},
		{code: 503, wantErr: "HTTP 503"},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			res := s.Send(context.Background(), srv.URL+"/status/"+strconv.Itoa(tc.code), secret, 1, "ticket.updated", []byte("{}"))
			require.Equal(t, tc.code, res.StatusCode)
			if tc.wantErr == "" {
				require.NoError(t, res.Err)
				return
			}
			require.EqualError(t, res.Err, tc.wantErr, "never the response body")
		})
	}
	require.Zero(t, redirected.Load(), "redirects must not be followed")
}

func TestSendTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	mux := http.NewServeMux()
	// The handlers read the body first: only then does the server notice
	// the client hanging up, and cancel r.Context().
	mux.HandleFunc("/no-answer", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done(): // the Sender gave up
		case <-time.After(10 * time.Second):
		}
	})
	mux.HandleFunc("/slow-body", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := webhook.NewSender(webhook.SenderOptions{AllowPrivate: true, Timeout: timeout})

	start := time.Now()
	res := s.Send(context.Background(), srv.URL+"/no-answer", secret, 1, "ticket.updated", []byte("{}"))
	elapsed := time.Since(start)
	require.EqualError(t, res.Err, "timeout after 300ms")
	require.Zero(t, res.StatusCode)
	require.GreaterOrEqual(t, elapsed, timeout)
	require.Less(t, elapsed, timeout+2*time.Second)
	require.InDelta(t, elapsed, res.Latency, float64(100*time.Millisecond))

	// The receiver answered; its body not ending only costs the timeout.
	start = time.Now()
	res = s.Send(context.Background(), srv.URL+"/slow-body", secret, 1, "ticket.updated", []byte("{}"))
	require.NoError(t, res.Err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Less(t, time.Since(start), timeout+2*time.Second)
}

func TestSendEndlessResponse(t *testing.T) {
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return // the Sender hung up
			}
		}
	}))
	defer srv.Close()

	// The default timeout, 10s, would be reached if Send read to the end.
	s := webhook.NewSender(webhook.SenderOptions{AllowPrivate: true, MaxResponseBytes: 100 << 10})
	start := time.Now()
	res := s.Send(context.Background(), srv.URL, secret, 1, "ticket.updated", []byte("{}"))
	require.NoError(t, res.Err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Less(t, time.Since(start), 3*time.Second)
	// The Sender read its 100 KiB, so the fourth 32 KiB write had begun and
	// the first three were counted; the fourth may still be under way (or
	// cut short) when Send returns, so it cannot be counted on.
	require.GreaterOrEqual(t, written.Load(), int64(3*32<<10))
}

func TestSendRefusesNonPublic(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	s := webhook.NewSender(webhook.SenderOptions{})

	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{name: "loopback literal", url: "https://127.0.0.1:" + strconv.Itoa(port) + "/hook", wantErr: "refused: 127.0.0.1 is a loopback address"},
		{name: "mapped loopback literal", url: "https://[::ffff:127.0.0.1]:" + strconv.Itoa(port) + "/hook", wantErr: "refused: 127.0.0.1 is a loopback address"},
		{name: "http", url: "http://127.0.0.1:" + strconv.Itoa(port) + "/hook", wantErr: "refused: not an https URL"},
	}
	// A name resolving to loopback stands for a subscription whose DNS
	// was changed after CheckURL accepted it.
	if ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip4", "localhost"); err == nil && len(ips) > 0 && ips[0].IsLoopback() {
		tests = append(tests, struct {
			name    string
			url     string
			wantErr string
		}{name: "name resolving to loopback", url: "https://localhost:" + strconv.Itoa(port) + "/hook", wantErr: "is a loopback address"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := s.Send(context.Background(), tc.url, secret, 1, "ticket.updated", []byte("{}"))
			require.Zero(t, res.StatusCode)
			require.ErrorContains(t, res.Err, tc.wantErr)
		})
	}
	require.Zero(t, calls.Load(), "the receiver must not be reached")
}

func TestSendConnectionErrors(t *testing.T) {
	// A port nothing listens on: listen, then close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedURL := "http://" + ln.Addr().String() + "/hook"
	require.NoError(t, ln.Close())

	s := webhook.NewSender(webhook.SenderOptions{AllowPrivate: true})
	res := s.Send(context.Background(), closedURL, secret, 1, "ticket.updated", []byte("{}"))
	require.EqualError(t, res.Err, "connection refused")
	require.Zero(t, res.StatusCode)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = s.Send(ctx, closedURL, secret, 1, "ticket.updated", []byte("{}"))
	require.EqualError(t, res.Err, "context canceled")
	require.ErrorIs(t, res.Err, context.Canceled)

	res = s.Send(context.Background(), "://bad", secret, 1, "ticket.updated", []byte("{}"))
	require.EqualError(t, res.Err, "invalid URL")
}
