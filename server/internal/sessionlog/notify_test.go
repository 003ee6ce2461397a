package sessionlog

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// Every notification reads back as written, however it was split into
// payloads, and every payload fits PostgreSQL's limit.
func TestNotificationRoundTrips(t *testing.T) {
	t.Parallel()
	s1, s2, p1 := uuid.New(), uuid.New(), uuid.New()
	many := make([]sessionSeq, 400)
	for i := range many {
		many[i] = sessionSeq{uuid.New(), int64(i + 1)}
	}
	typing := &assistv1.SessionEvent{SessionId: s1.String(), Payload: &assistv1.SessionEvent_Typing{Typing: &assistv1.Typing{Active: true}}}
	cases := []struct {
		name string
		n    notification
	}{
		{"appended", notification{appended: []sessionSeq{{s1, 7}, {s2, 1}}}},
		{"appended over several payloads", notification{appended: many}},
		{"queue", notification{queue: []queueChange{{p1, s1}, {p1, s2}}}},
		{"access", notification{access: []uuid.UUID{s1, s2}}},
		{"revoked", notification{revoked: []string{"adv-" + s1.String(), "key-" + s2.String()}}},
		{"joined", notification{joined: []advisorJoined{{p1, s1}, {p1, s2}}}},
		{"typing", notification{typing: typing}},
		{"everything", notification{appended: []sessionSeq{{s1, 3}}, queue: []queueChange{{p1, s1}}, access: []uuid.UUID{s1}, revoked: []string{"ses-" + s1.String()}, joined: []advisorJoined{{p1, s2}}, typing: typing}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.n.replica = strings.Repeat("a", 32)
			payloads, err := c.n.encode()
			if err != nil {
				t.Fatal(err)
			}
			var got notification
			for _, p := range payloads {
				if len(p) > maxPayload {
					t.Fatalf("a payload of %d bytes exceeds %d", len(p), maxPayload)
				}
				n, err := parseNotification(p)
				if err != nil {
					t.Fatalf("parse %q: %v", p, err)
				}
				if n.replica != c.n.replica {
					t.Fatalf("replica %q, want %q", n.replica, c.n.replica)
				}
				got.appended = append(got.appended, n.appended...)
				got.queue = append(got.queue, n.queue...)
				got.access = append(got.access, n.access...)
				got.revoked = append(got.revoked, n.revoked...)
				got.joined = append(got.joined, n.joined...)
				if n.typing != nil {
					got.typing = n.typing
				}
			}
			if len(c.n.appended) > 100 && len(payloads) < 2 {
				t.Fatalf("%d sessions fit in one payload; the split was not exercised", len(c.n.appended))
			}
			if !equalSlices(got.appended, c.n.appended) || !equalSlices(got.queue, c.n.queue) ||
				!equalSlices(got.access, c.n.access) || !equalSlices(got.revoked, c.n.revoked) ||
				!equalSlices(got.joined, c.n.joined) || !proto.Equal(got.typing, c.n.typing) {
				t.Fatalf("read back %+v, want %+v", got, c.n)
			}
		})
	}
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A malformed payload is refused, never half-read.
func TestNotificationRefusesMalformedPayloads(t *testing.T) {
	t.Parallel()
	for _, p := range []string{
		"", "e", "e:r", "e:r:", "x:r:1", "e:r:not-a-uuid/1", "e:r:" + uuid.NewString() + "/x",
		"q:r:" + uuid.NewString(), "a:r:nope", "t:r:%%%", "c:r:,", "j:r:" + uuid.NewString(), "j:r:" + uuid.NewString() + "/nope",
	} {
		if _, err := parseNotification(p); err == nil {
			t.Errorf("parseNotification(%q) succeeded, want an error", p)
		}
	}
}
