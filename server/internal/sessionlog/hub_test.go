package sessionlog

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

func event(session uuid.UUID, seq int64) *assistv1.SessionEvent {
	return &assistv1.SessionEvent{SessionId: session.String(), Seq: seq}
}

func ready(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(time.Second):
		t.Fatal("not signalled")
	}
}

func notReady(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
		t.Fatal("signalled, want nothing")
	default:
	}
}

// A subscriber gets its session's events in order, and nothing of others.
func TestHubDeliversASessionsEventsToItsSubscribers(t *testing.T) {
	t.Parallel()
	h := NewHub()
	s1, s2 := uuid.New(), uuid.New()
	sub := h.Subscribe(s1)
	defer sub.Close()
	h.Publish(event(s1, 1), event(s2, 1), event(s1, 2))
	ready(t, sub.Ready())
	got, wake := sub.Drain()
	if len(got) != 2 || got[0].GetSeq() != 1 || got[1].GetSeq() != 2 || wake != 0 {
		t.Fatalf("drained %v (wake %d), want seqs 1, 2 of its session only", got, wake)
	}
	sub.Close()
	h.Publish(event(s1, 3))
	notReady(t, sub.Ready())
}

// A subscriber that falls too far behind loses its backlog and is told to
// read the table: the hub never blocks a writer and never loses an event
// silently.
func TestHubOverflowAsksTheSubscriberToReadTheTable(t *testing.T) {
	t.Parallel()
	h := NewHub()
	s := uuid.New()
	sub := h.Subscribe(s)
	defer sub.Close()
	for i := range maxPending + 5 {
		h.Publish(event(s, int64(i+1)))
	}
	got, wake := sub.Drain()
	if wake != math.MaxInt64 {
		t.Fatalf("wake %d after an overflow, want a read of everything", wake)
	}
	if len(got) > maxPending {
		t.Fatalf("%d events held, more than the bound %d", len(got), maxPending)
	}
}

// A wake-up from another replica says up to which seq to read.
func TestHubWakeCarriesTheCommittedSeq(t *testing.T) {
	t.Parallel()
	h := NewHub()
	s := uuid.New()
	sub := h.Subscribe(s)
	defer sub.Close()
	h.Wake(s, 4)
	h.Wake(s, 9)
	h.Wake(s, 6)
	ready(t, sub.Ready())
	if _, wake := sub.Drain(); wake != 9 {
		t.Fatalf("wake %d, want the highest, 9", wake)
	}
	h.WakeAll()
	if _, wake := sub.Drain(); wake != math.MaxInt64 {
		t.Fatalf("wake %d after WakeAll, want a read of everything", wake)
	}
}

// A queue watcher learns which sessions of its portals changed, and to
// re-read everything after WakeAll.
func TestHubQueueWatchCollectsChangedSessions(t *testing.T) {
	t.Parallel()
	h := NewHub()
	p1, p2 := uuid.New(), uuid.New()
	a, b := uuid.New(), uuid.New()
	w := h.WatchQueues(uuid.New(), p1)
	defer w.Close()
	h.QueueChanged(p2, b)
	notReady(t, w.Ready())
	h.QueueChanged(p1, a)
	h.QueueChanged(p1, a)
	ready(t, w.Ready())
	got, all := w.Drain()
	if all || len(got) != 1 || got[0] != a {
		t.Fatalf("drained %v (all %v), want just %v", got, all, a)
	}
	h.WakeAll()
	ready(t, w.Ready())
	if _, all := w.Drain(); !all {
		t.Fatal("after WakeAll the watcher must re-read the whole queue")
	}
}

// A session a colleague brings an advisor into reaches that advisor's
// queue watches only, apart from queue changes.
func TestHubTellsAnAdvisorsWatchesTheSessionsTheyJoin(t *testing.T) {
	t.Parallel()
	h := NewHub()
	me, other, sess := uuid.New(), uuid.New(), uuid.New()
	mine, theirs := h.WatchQueues(me), h.WatchQueues(other)
	defer mine.Close()
	defer theirs.Close()
	h.AdvisorJoined(me, sess)
	ready(t, mine.Ready())
	notReady(t, theirs.Ready())
	if got, all := mine.Drain(); len(got) != 0 || all {
		t.Errorf("a join drained as queue changes %v (all %v)", got, all)
	}
	if got := mine.DrainJoined(); len(got) != 1 || got[0] != sess {
		t.Errorf("joined %v, want [%v]", got, sess)
	}
	if got := mine.DrainJoined(); len(got) != 0 {
		t.Errorf("drained twice: %v", got)
	}
}

// Every access and credential listener hears every change, and WakeAll
// tells them that anything may have changed.
func TestHubTellsEveryAccessListener(t *testing.T) {
	t.Parallel()
	h := NewHub()
	var sessions [2][]uuid.UUID
	var keys [2][]string
	for i := range 2 {
		h.OnAccessChanged(func(id uuid.UUID) { sessions[i] = append(sessions[i], id) })
		h.OnRevoked(func(key string) { keys[i] = append(keys[i], key) })
	}
	s := uuid.New()
	h.AccessChanged(s)
	h.CredentialRevoked("adv-1")
	h.WakeAll()
	for i := range 2 {
		if want := []uuid.UUID{s, uuid.Nil}; !slices.Equal(sessions[i], want) {
			t.Errorf("access listener %d heard %v, want %v", i, sessions[i], want)
		}
		if want := []string{"adv-1", ""}; !slices.Equal(keys[i], want) {
			t.Errorf("credential listener %d heard %v, want %v", i, keys[i], want)
		}
	}
}
