package api

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
)

// A panic in a goroutine a request started is recovered and reported as
// Internal, instead of killing the process.
func TestRunSafelyTurnsAPanicIntoInternal(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	done := make(chan error, 1)
	go func() { done <- runSafely(logger, "test", func() error { panic("on purpose") }) }()
	select {
	case err := <-done:
		if connect.CodeOf(err) != connect.CodeInternal {
			t.Fatalf("got %v, want Internal", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no result after the panic")
	}
	if err := runSafely(logger, "test", func() error { return nil }); err != nil {
		t.Fatalf("a normal return gave %v", err)
	}
}
