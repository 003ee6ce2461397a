package sessionlog

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// OnFreshStack returns what fn returns, and a panic in fn goes on in the
// caller, where the request's recovery sees it.
func TestOnFreshStackReturnsAndPanicsLikeACall(t *testing.T) {
	t.Parallel()
	v, err := OnFreshStack(func() (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Fatalf("got %d, %v; want 7, nil", v, err)
	}
	boom := errors.New("boom")
	if _, err := OnFreshStack(func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	defer func() {
		if r := recover(); r != "on purpose" {
			t.Fatalf("recovered %v, want the panic of fn", r)
		}
	}()
	_, _ = OnFreshStack(func() (int, error) { panic("on purpose") })
	t.Fatal("the panic did not reach the caller")
}

// The SessionEnded event is recognized from its stored bytes alone.
func TestStoredSessionEndedIsRecognized(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ev   *assistv1.SessionEvent
		want bool
	}{
		{&assistv1.SessionEvent{Seq: 9, Payload: &assistv1.SessionEvent_SessionEnded{SessionEnded: &assistv1.SessionEnded{}}}, true},
		{&assistv1.SessionEvent{Seq: 3, ClientMessageId: "x", Payload: &assistv1.SessionEvent_Message{Message: &assistv1.ChatMessage{Text: "fin"}}}, false},
	} {
		data, err := proto.Marshal(c.ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := isSessionEnded(data); got != c.want {
			t.Errorf("isSessionEnded(%v) = %v, want %v", c.ev, got, c.want)
		}
	}
	if isSessionEnded([]byte{0xff, 0xff}) {
		t.Error("garbage read as SessionEnded")
	}
}
