package reports

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/failure"
)

// cursor is where a page ends: the last report's end time and session id.
type cursor struct {
	EndTime time.Time
	ID      uuid.UUID
}

// A page token is version (1 byte) | end time in µs (8) | session id (16) |
// filter digest (8), base64url. It holds a position only: the account is
// always the caller's, so a forged token can at most move within the
// caller's own reports. The digest refuses a token from another filter,
// whose position would mean nothing.
const (
	tokenVersion = 1
	tokenLen     = 1 + 8 + 16 + 8
)

func encodePageToken(c cursor, f Filter) string {
	b := make([]byte, 0, tokenLen)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.EndTime.UnixMicro()))
	b = append(b, c.ID[:]...)
	b = append(b, f.digest()...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(tok string, f Filter) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != tokenLen || b[0] != tokenVersion {
		return cursor{}, failure.InvalidArgument("page_token", "is not a token from a previous page")
	}
	if string(b[25:]) != string(f.digest()) {
		return cursor{}, failure.InvalidArgument("page_token", "comes from a page with other filters: keep the filters while paging")
	}
	id, _ := uuid.FromBytes(b[9:25])
	return cursor{EndTime: time.UnixMicro(int64(binary.BigEndian.Uint64(b[1:9]))), ID: id}, nil
}

// digest identifies the filter's values.
func (f Filter) digest() []byte {
	opt := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return fmt.Sprint(t.UnixMicro())
	}
	id := func(u *uuid.UUID) string {
		if u == nil {
			return "-"
		}
		return u.String()
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%s|%s|%d|%d|%q|%s",
		opt(f.EndFrom), opt(f.EndTo), id(f.PortalID), id(f.AdvisorID), f.Outcome, f.Kind, f.Query, id(f.SessionID)))
	return h[:8]
}
