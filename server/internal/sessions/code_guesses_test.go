package sessions

import (
	"testing"
	"time"
)

// A caller who gets codes wrong again and again waits out its window; a
// caller who got a few wrong, or another caller, is not held back.
func TestCodeGuessersWaitOutTheirWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	g := newCodeGuesses()
	g.now = func() time.Time { return now }
	for range codeMisses - 1 {
		g.missed("203.0.113.7")
	}
	if w := g.wait("203.0.113.7"); w != 0 {
		t.Fatalf("after %d misses: wait %v, want none", codeMisses-1, w)
	}
	g.missed("203.0.113.7")
	if w := g.wait("203.0.113.7"); w != codeMissesWindow {
		t.Fatalf("after %d misses: wait %v, want the window, %v", codeMisses, w, codeMissesWindow)
	}
	if w := g.wait("198.51.100.1"); w != 0 {
		t.Errorf("another caller waits %v", w)
	}
	now = now.Add(codeMissesWindow - time.Minute)
	if w := g.wait("203.0.113.7"); w != time.Minute {
		t.Errorf("near the window's end: wait %v, want 1m", w)
	}
	now = now.Add(time.Minute)
	if w := g.wait("203.0.113.7"); w != 0 {
		t.Errorf("after the window: wait %v, want none", w)
	}
	g.missed("203.0.113.7")
	if w := g.wait("203.0.113.7"); w != 0 {
		t.Errorf("one miss in a new window: wait %v, want none", w)
	}
}
