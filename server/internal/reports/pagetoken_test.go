package reports

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/failure"
)

func TestPageTokenRoundTripsItsPosition(t *testing.T) {
	t.Parallel()
	portal := uuid.New()
	f := Filter{PortalID: &portal, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED, Query: "ada"}
	c := cursor{EndTime: time.UnixMicro(1_764_000_000_123_456), ID: uuid.New()}
	got, err := decodePageToken(encodePageToken(c, f), f)
	if err != nil || !got.EndTime.Equal(c.EndTime) || got.ID != c.ID {
		t.Fatalf("decoded %v (%v), want %v", got, err, c)
	}
}

func TestPageTokenFromAnotherFilterOrForgedIsRefused(t *testing.T) {
	t.Parallel()
	c := cursor{EndTime: time.Now(), ID: uuid.New()}
	tok := encodePageToken(c, Filter{Query: "ada"})
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	raw[0] = 9 // another version
	for name, tc := range map[string]struct {
		tok string
		f   Filter
	}{
		"another filter": {tok, Filter{Query: "bob"}},
		"no filter":      {tok, Filter{}},
		"not base64":     {"%%%", Filter{Query: "ada"}},
		"too short":      {tok[:10], Filter{Query: "ada"}},
		"bad version":    {base64.RawURLEncoding.EncodeToString(raw), Filter{Query: "ada"}},
	} {
		if _, err := decodePageToken(tc.tok, tc.f); !failure.IsKind(err, failure.KindInvalidArgument) {
			t.Errorf("%s: got %v, want InvalidArgument", name, err)
		}
	}
}

func TestLikePatternTakesWildcardsLiterally(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "  ": "", "ada": "%ada%", "100%": `%100\%%`, "a_b": `%a\_b%`, `c:\x`: `%c:\\x%`} {
		if got := likePattern(in); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", in, got, want)
		}
	}
}
