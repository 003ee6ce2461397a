package admin

import (
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

func advisorProto(a dbq.Advisor) *assistv1.Advisor {
	return &assistv1.Advisor{
		Id: a.ID.String(), AccountId: a.AccountID.String(), Email: a.Email,
		DisplayName: a.DisplayName, ReportAccess: a.ReportAccess, Admin: a.Admin,
		Disabled: a.Disabled, CreateTime: timestamppb.New(a.CreateTime),
	}
}

func portalProto(p dbq.Portal, advisors []uuid.UUID) *assistv1.Portal {
	out := &assistv1.Portal{
		Id: p.ID.String(), AccountId: p.AccountID.String(), Slug: p.Slug,
		DisplayName: p.DisplayName, Mode: assistv1.PortalMode(p.Mode), CreateTime: timestamppb.New(p.CreateTime),
	}
	for _, a := range advisors {
		out.AdvisorIds = append(out.AdvisorIds, a.String())
	}
	return out
}

func apiKeyProto(k dbq.ApiKey) *assistv1.ApiKey {
	out := &assistv1.ApiKey{
		Id: k.ID.String(), AccountId: k.AccountID.String(), Name: k.Name, Prefix: k.Prefix,
		CreateTime: timestamppb.New(k.CreateTime), RevokeTime: optionalTime(k.RevokeTime),
		LastUseTime: optionalTime(k.LastUseTime),
	}
	for _, s := range k.Scopes {
		out.Scopes = append(out.Scopes, assistv1.ApiKeyScope(s))
	}
	return out
}

func auditProto(e dbq.AuditEvent) *assistv1.AuditEvent {
	actor := &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, DisplayName: e.ActorDisplayName}
	if e.ActorAdvisorID != nil {
		actor.Id = e.ActorAdvisorID.String()
	}
	return &assistv1.AuditEvent{
		Id: e.ID, CreateTime: timestamppb.New(e.CreateTime), Actor: actor, Action: e.Action,
		TargetType: e.TargetType, TargetId: e.TargetID, Details: e.Details,
	}
}

func optionalTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

// Audit page tokens hold the last id shown; the account always comes from
// the caller, so a forged token only moves within the caller's own log.
func encodeAuditToken(id int64) string {
	return base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64([]byte{1}, uint64(id)))
}

func decodeAuditToken(tok string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 9 || b[0] != 1 || int64(binary.BigEndian.Uint64(b[1:])) <= 0 {
		return 0, failure.InvalidArgument("page_token", "is not a token from a previous page")
	}
	return int64(binary.BigEndian.Uint64(b[1:])), nil
}
