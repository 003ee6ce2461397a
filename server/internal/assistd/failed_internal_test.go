package assistd

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/assist-chat/assist/server/internal/limits"
	"github.com/assist-chat/assist/server/internal/pgtest"
)

// If the listener fails after start-up, Failed says so, so that the
// process exits instead of hanging with nothing served.
func TestAFailedListenerIsReported(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := Start(ctx, Config{Addr: "127.0.0.1:0", DatabaseURL: pgtest.NewDatabase(t), Logger: slog.New(slog.DiscardHandler), CredentialRate: limits.RateOff})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	_ = srv.listener.Close()
	select {
	case err := <-srv.Failed():
		if err == nil {
			t.Fatal("Failed delivered nil")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the failed listener was not reported")
	}
}
