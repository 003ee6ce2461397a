package sessionlog

import (
	"errors"
	"testing"
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
