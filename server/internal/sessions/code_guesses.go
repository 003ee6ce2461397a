package sessions

import (
	"sync"
	"time"
)

// A session code is six digits: one in a million, which a customer types
// right or nearly right, and a guesser wrong again and again. Each caller
// (a client address, or an API key) may get a few codes wrong; then code
// attempts wait until its window passes, far below StartSession's own
// rate limit. Each replica counts for itself.
const (
	codeMisses       = 10
	codeMissesWindow = 10 * time.Minute
	// codeCallersKept bounds the callers remembered; beyond it the oldest
	// half of the windows is dropped.
	codeCallersKept = 100_000
)

// codeGuesses counts the codes each caller got wrong in its window.
type codeGuesses struct {
	mu      sync.Mutex
	now     func() time.Time
	callers map[string]*missWindow
}

type missWindow struct {
	start  time.Time
	misses int
}

func newCodeGuesses() *codeGuesses {
	return &codeGuesses{now: time.Now, callers: map[string]*missWindow{}}
}

// wait returns how long caller must wait before trying a code again; 0
// when it may try now.
func (g *codeGuesses) wait(caller string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	w := g.callers[caller]
	if w == nil {
		return 0
	}
	if left := w.start.Add(codeMissesWindow).Sub(g.now()); left > 0 && w.misses >= codeMisses {
		return left
	}
	return 0
}

// missed records a wrong code by caller.
func (g *codeGuesses) missed(caller string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	w := g.callers[caller]
	if w == nil || now.Sub(w.start) >= codeMissesWindow {
		if len(g.callers) >= codeCallersKept {
			g.forgetOldest(now)
		}
		w = &missWindow{start: now}
		g.callers[caller] = w
	}
	w.misses++
}

// forgetOldest drops the windows that are over, or if none is, those
// older than half a window.
func (g *codeGuesses) forgetOldest(now time.Time) {
	for k, w := range g.callers {
		if now.Sub(w.start) >= codeMissesWindow/2 {
			delete(g.callers, k)
		}
	}
	if len(g.callers) >= codeCallersKept {
		clear(g.callers)
	}
}
