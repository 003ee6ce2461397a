package sessionlog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// notifyChannel is the PostgreSQL channel that wakes other replicas.
const notifyChannel = "assist_log"

// maxPayload keeps each NOTIFY payload under PostgreSQL's 8000-byte limit.
const maxPayload = 7900

// notification is what one replica tells the others at commit. The table
// stays the truth: a notification only says where to look again.
//
// Its wire form is "<kind>:<replica>:<items>", items separated by commas:
//
//	e  appended       <session>/<last seq>
//	q  queue changed  <portal>/<session>
//	a  access changed <session>          (who may read it changed)
//	c  credential     <credential key>   (revoked, disabled, logged out)
//	j  joined         <advisor>/<session> (invited, or transferred to)
//	t  typing         one base64 SessionEvent (never stored)
type notification struct {
	replica  string
	appended []sessionSeq
	queue    []queueChange
	access   []uuid.UUID
	revoked  []string
	joined   []advisorJoined
	typing   *assistv1.SessionEvent
}

// advisorJoined is an advisor brought into a session by a colleague.
type advisorJoined struct {
	advisor uuid.UUID
	session uuid.UUID
}

type sessionSeq struct {
	session uuid.UUID
	seq     int64
}

type queueChange struct {
	portal  uuid.UUID
	session uuid.UUID
}

// encode returns the payloads that carry n, each within maxPayload.
func (n notification) encode() ([]string, error) {
	var out []string
	pack := func(kind byte, items []string) {
		prefix := string(kind) + ":" + n.replica + ":"
		var b strings.Builder
		for _, item := range items {
			if b.Len() > 0 && b.Len()+1+len(item) > maxPayload {
				out = append(out, b.String())
				b.Reset()
			}
			if b.Len() == 0 {
				b.WriteString(prefix)
			} else {
				b.WriteByte(',')
			}
			b.WriteString(item)
		}
		if b.Len() > 0 {
			out = append(out, b.String())
		}
	}
	items := make([]string, 0, len(n.appended))
	for _, a := range n.appended {
		items = append(items, a.session.String()+"/"+strconv.FormatInt(a.seq, 10))
	}
	pack('e', items)
	items = items[:0]
	for _, q := range n.queue {
		items = append(items, q.portal.String()+"/"+q.session.String())
	}
	pack('q', items)
	items = items[:0]
	for _, id := range n.access {
		items = append(items, id.String())
	}
	pack('a', items)
	for _, key := range n.revoked {
		if strings.ContainsAny(key, ",:") {
			return nil, fmt.Errorf("credential key %q has a separator", key)
		}
	}
	pack('c', n.revoked)
	items = items[:0]
	for _, j := range n.joined {
		items = append(items, j.advisor.String()+"/"+j.session.String())
	}
	pack('j', items)
	if n.typing != nil {
		data, err := proto.Marshal(n.typing)
		if err != nil {
			return nil, err
		}
		p := "t:" + n.replica + ":" + base64.StdEncoding.EncodeToString(data)
		if len(p) <= maxPayload { // typing is best effort: too large, not sent
			out = append(out, p)
		}
	}
	return out, nil
}

var errBadNotification = errors.New("malformed notification")

// parseNotification reads one payload written by encode.
func parseNotification(payload string) (notification, error) {
	kind, rest, ok1 := strings.Cut(payload, ":")
	replica, body, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || len(kind) != 1 || replica == "" || body == "" {
		return notification{}, errBadNotification
	}
	n := notification{replica: replica}
	if kind == "t" {
		data, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return notification{}, errBadNotification
		}
		ev := new(assistv1.SessionEvent)
		if err := proto.Unmarshal(data, ev); err != nil {
			return notification{}, errBadNotification
		}
		n.typing = ev
		return n, nil
	}
	for item := range strings.SplitSeq(body, ",") {
		switch kind {
		case "e":
			sid, seq, ok := strings.Cut(item, "/")
			id, err1 := uuid.Parse(sid)
			n64, err2 := strconv.ParseInt(seq, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return notification{}, errBadNotification
			}
			n.appended = append(n.appended, sessionSeq{id, n64})
		case "q":
			p, sid, ok := strings.Cut(item, "/")
			portal, err1 := uuid.Parse(p)
			session, err2 := uuid.Parse(sid)
			if !ok || err1 != nil || err2 != nil {
				return notification{}, errBadNotification
			}
			n.queue = append(n.queue, queueChange{portal, session})
		case "a":
			id, err := uuid.Parse(item)
			if err != nil {
				return notification{}, errBadNotification
			}
			n.access = append(n.access, id)
		case "j":
			a, sid, ok := strings.Cut(item, "/")
			advisor, err1 := uuid.Parse(a)
			session, err2 := uuid.Parse(sid)
			if !ok || err1 != nil || err2 != nil {
				return notification{}, errBadNotification
			}
			n.joined = append(n.joined, advisorJoined{advisor, session})
		case "c":
			if item == "" {
				return notification{}, errBadNotification
			}
			n.revoked = append(n.revoked, item)
		default:
			return notification{}, errBadNotification
		}
	}
	return n, nil
}
