package assist_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// An integrator follows every event of its account (API key with the
// SESSIONS_READ scope); after a restart it passes the last position it
// stored and gets exactly what it missed.
func ExampleClient_FollowAccount() {
	c := assist.New("https://assist.example.com", assist.WithToken("ast_key_…"))
	var lastPosition int64 // load it from your store
	err := c.FollowAccount(context.Background(), lastPosition, func(ev *assistv1.AccountEvent) error {
		fmt.Println(ev.GetPosition(), ev.GetType(), ev.GetEvent().GetSessionId())
		lastPosition = ev.GetPosition() // save it with what you did, in one transaction
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// A webhook receiver verifies each delivery before acting on it, and
// deduplicates on webhook-id (delivery is at least once).
func ExampleVerifyWebhook() {
	secrets := []string{"whsec_…"} // during a rotation: the new and the old secret
	http.HandleFunc("/assist-webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := assist.VerifyWebhook(secrets, r.Header, body, 0); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		// Handle body ({"type": "session.message", "timestamp": …, "data": …})
		// once per r.Header.Get("webhook-id").
		w.WriteHeader(http.StatusNoContent)
	})
}
