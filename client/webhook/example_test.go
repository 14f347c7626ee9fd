package webhook_test

import (
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/aftersales/aftersales/client/webhook"
)

// A receiver checks each delivery's signature before acting on it.
func Example_receiver() {
	secret := os.Getenv("AFTERSALES_WEBHOOK_SECRET")
	http.HandleFunc("POST /aftersales/events", func(w http.ResponseWriter, r *http.Request) {
		// Cap the body: it is read before it is authenticated.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header.Get(webhook.Header), body, 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		// Retries repeat the event id: record r.Header.Get(webhook.EventIDHeader)
		// in the same transaction as the work, and skip ids already recorded.
		log.Printf("%s event %s", r.Header.Get(webhook.EventTypeHeader), r.Header.Get(webhook.EventIDHeader))
		w.WriteHeader(http.StatusNoContent)
	})
	log.Fatal(http.ListenAndServe(":8080", nil))
}
