package webhook_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/client/webhook"
	"github.com/aftersales/aftersales/pkg/webhooksig"
)

func TestReceiver(t *testing.T) {
	const secret = "whsec_test"
	// Event ids of accepted deliveries, written by the server's goroutine.
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header.Get(webhook.Header), body, 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, r.Header.Get(webhook.EventIDHeader))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	body := []byte(`{"type":"ticket.updated","resource":"tickets/abc"}`)
	tests := []struct {
		name       string
		header     string
		body       []byte
		wantStatus int
		wantErr    string
	}{
		{name: "signed now", header: webhooksig.Sign(secret, time.Now(), body), body: body, wantStatus: http.StatusNoContent},
		{name: "clock a minute off", header: webhooksig.Sign(secret, time.Now().Add(time.Minute), body), body: body, wantStatus: http.StatusNoContent},
		{name: "tampered body", header: webhooksig.Sign(secret, time.Now(), body), body: bytes.Replace(body, []byte("abc"), []byte("abd"), 1), wantStatus: http.StatusBadRequest, wantErr: "signature mismatch"},
		{name: "wrong secret", header: webhooksig.Sign("whsec_other", time.Now(), body), body: body, wantStatus: http.StatusBadRequest, wantErr: "signature mismatch"},
		{name: "replayed", header: webhooksig.Sign(secret, time.Now().Add(-time.Hour), body), body: body, wantStatus: http.StatusBadRequest, wantErr: "outside tolerance"},
		{name: "unsigned", body: body, wantStatus: http.StatusBadRequest, wantErr: "missing signature header"},
		{name: "body over the cap", header: webhooksig.Sign(secret, time.Now(), make([]byte, 1<<20+1)), body: make([]byte, 1<<20+1), wantStatus: http.StatusBadRequest, wantErr: "cannot read body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			if tc.header != "" {
				req.Header.Set(webhook.Header, tc.header)
			}
			req.Header.Set(webhook.EventIDHeader, "42")
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			msg, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())

			require.Equal(t, tc.wantStatus, resp.StatusCode, string(msg))
			require.Contains(t, string(msg), tc.wantErr)
			mu.Lock()
			defer mu.Unlock()
			if tc.wantStatus == http.StatusNoContent {
				require.Equal(t, []string{"42"}, got)
			} else {
				require.Empty(t, got)
			}
		})
	}
}

func TestErrorsAreShared(t *testing.T) {
	// A receiver tests errors against this package's variables; they must
	// be the very values Verify returns.
	for _, tc := range []struct {
		header string
		want   error
	}{
		{header: "", want: webhook.ErrMissingHeader},
		{header: "t=x", want: webhook.ErrInvalidHeader},
		{header: webhooksig.Sign("s", time.Now().Add(-time.Hour), nil), want: webhook.ErrTooOld},
		{header: webhooksig.Sign("other", time.Now(), nil), want: webhook.ErrMismatch},
	} {
		err := webhook.Verify("s", tc.header, nil, time.Minute)
		require.ErrorIs(t, err, tc.want, tc.header)
	}
	require.ErrorIs(t, webhook.Verify("", "t=1,v1=00", nil, time.Minute), webhook.ErrNoSecret)
}
