package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connectproto"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/assist-chat/assist/server/internal/failure"
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

// A rule of the domain that refuses a field names it for programs too, in a
// google.rpc.BadRequest detail, over every protocol's error encoding.
func TestAnInvalidFieldIsNamedInABadRequestDetail(t *testing.T) {
	t.Parallel()
	err := toConnect(context.Background(), slog.New(slog.DiscardHandler), "/p",
		failure.InvalidArgument("session_code", "this portal needs the six-digit code your advisor gave you"))
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeInvalidArgument {
		t.Fatalf("got %v, want invalid_argument", err)
	}
	var fields []string
	for _, d := range cerr.Details() {
		msg, err := connectproto.UnmarshalErrorDetail(d)
		if err != nil {
			t.Fatal(err)
		}
		if br, ok := msg.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) != 1 || fields[0] != "session_code" {
		t.Errorf("BadRequest names %v, want [session_code]", fields)
	}
	// Errors about no field carry no such detail.
	err = toConnect(context.Background(), slog.New(slog.DiscardHandler), "/p", failure.NotFound("session code"))
	if errors.As(err, &cerr) && len(cerr.Details()) != 0 {
		t.Errorf("NotFound carries details %v", cerr.Details())
	}
}
