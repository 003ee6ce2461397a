package feed

import (
	"testing"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Sessions are merged by time, but a session's own events keep their seq
// order even when another replica's clock put a later seq earlier.
func TestMergeKeepsEachSessionsSeqOrderAndInterleavesByTime(t *testing.T) {
	t.Parallel()
	a, b := uuid.MustParse("00000000-0000-0000-0000-00000000000a"), uuid.MustParse("00000000-0000-0000-0000-00000000000b")
	t0 := time.Unix(1000, 0)
	row := func(s uuid.UUID, seq int64, at int) dbq.FeedEventsInRangesRow {
		return dbq.FeedEventsInRangesRow{SessionID: s, Seq: seq, CreateTime: t0.Add(time.Duration(at) * time.Second)}
	}
	rows := []dbq.FeedEventsInRangesRow{
		row(a, 1, 1), row(a, 2, 5), row(a, 3, 4), // seq 3's clock ran behind
		row(b, 7, 2), row(b, 8, 3), row(b, 9, 6),
	}
	got := mergeByTime(rows)
	want := []struct {
		s   uuid.UUID
		seq int64
	}{{a, 1}, {b, 7}, {b, 8}, {a, 2}, {a, 3}, {b, 9}}
	if len(got) != len(want) {
		t.Fatalf("merged %d rows, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].SessionID != w.s || got[i].Seq != w.seq {
			t.Fatalf("row %d is %s/%d, want %s/%d (whole: %v)", i, got[i].SessionID, got[i].Seq, w.s, w.seq, got)
		}
	}
}

func TestEventTypesFollowThePayload(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ev   *assistv1.SessionEvent
		want assistv1.AccountEventType
	}{
		{&assistv1.SessionEvent{Seq: 1, Payload: &assistv1.SessionEvent_ParticipantJoined{}}, assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_STARTED},
		{&assistv1.SessionEvent{Seq: 3, Payload: &assistv1.SessionEvent_ParticipantJoined{}}, assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_PARTICIPANT_JOINED},
		{&assistv1.SessionEvent{Seq: 4, Payload: &assistv1.SessionEvent_StateChanged{StateChanged: &assistv1.StateChanged{
			FromState: assistv1.SessionState_SESSION_STATE_WAITING, ToState: assistv1.SessionState_SESSION_STATE_ACTIVE}}}, assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_PICKED_UP},
		{&assistv1.SessionEvent{Seq: 5, Payload: &assistv1.SessionEvent_Message{}}, assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_MESSAGE},
		{&assistv1.SessionEvent{Seq: 6, Payload: &assistv1.SessionEvent_UpgradeOffered{}}, assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_UPGRADE_OFFERED},
		{&assistv1.SessionEvent{Seq: 9, Payload: &assistv1.SessionEvent_SessionEnded{}}, assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_ENDED},
	}
	for _, c := range cases {
		if got := TypeOf(c.ev); got != c.want {
			t.Errorf("%v: type %v, want %v", c.ev, got, c.want)
		}
	}
	for v := range assistv1.AccountEventType_name {
		tp := assistv1.AccountEventType(v)
		if tp != assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_UNSPECIFIED && TypeName(tp) == "session.event" {
			t.Errorf("%v has no webhook type name", tp)
		}
	}
}
