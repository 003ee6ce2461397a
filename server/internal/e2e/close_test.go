package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/assist-chat/assist/clients/go/assist"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

// Closing a conversation, or cancelling the context it was opened with,
// returns promptly even when the session is quiet and the stream is
// waiting for the server.
func TestClientChatConnStopsPromptlyOnAQuietSession(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	for _, how := range []string{"Close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			sid, customerToken, _ := env.ActiveSession(t)
			customer := assist.New(env.URL, assist.WithToken(customerToken))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			conn, err := customer.OpenChat(ctx, sid, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Read the backlog, so the stream is open and idle.
			deadline := time.After(20 * time.Second)
			for conn.Cursor() == 0 {
				select {
				case <-conn.Events():
				case <-deadline:
					t.Fatal("no event arrived")
				}
			}
			go func() {
				for range conn.Events() {
				}
			}()
			time.Sleep(200 * time.Millisecond)

			stopped := make(chan struct{})
			go func() {
				if how == "cancel" {
					cancel()
				}
				_ = conn.Close()
				close(stopped)
			}()
			select {
			case <-stopped:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s did not return within 5s on a quiet session", how)
			}
		})
	}
}
