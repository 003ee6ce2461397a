package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"connectrpc.com/connect/v2"
)

// A write that fails because the client left (the replay's reader resets
// its stream once it has the last event) is Canceled, not a logged
// Internal; the same failure while the client is still there is a bug.
func TestAWriteToAClientThatLeftIsCanceledNotInternal(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	streamClosed := errors.New("http2: stream closed")

	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if code := connect.CodeOf(toConnect(gone, logger, "/p", streamClosed)); code != connect.CodeCanceled || logs.Len() != 0 {
		t.Fatalf("client gone: %v, logged %q; want canceled, nothing logged", code, logs.String())
	}
	late, cancelLate := context.WithTimeout(context.Background(), 0)
	defer cancelLate()
	<-late.Done()
	if code := connect.CodeOf(toConnect(late, logger, "/p", streamClosed)); code != connect.CodeDeadlineExceeded {
		t.Fatalf("deadline passed: %v, want deadline_exceeded", code)
	}
	if code := connect.CodeOf(toConnect(context.Background(), logger, "/p", streamClosed)); code != connect.CodeInternal || logs.Len() == 0 {
		t.Fatalf("client still there: %v, logged %q; want internal, logged", code, logs.String())
	}
}
