package sessions

import (
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// ToProto converts a stored session to the contract's Session.
func ToProto(s dbq.Session, invited []uuid.UUID) *assistv1.Session {
	out := &assistv1.Session{
		Id:           s.ID.String(),
		AccountId:    s.AccountID.String(),
		PortalId:     s.PortalID.String(),
		PortalMode:   assistv1.PortalMode(s.PortalMode),
		Kind:         assistv1.SessionKind(s.Kind),
		State:        assistv1.SessionState(s.State),
		UpgradeState: assistv1.UpgradeState(s.UpgradeState),
		Customer: &assistv1.CustomerInfo{
			DisplayName:        s.CustomerDisplayName,
			Email:              s.CustomerEmail,
			ProblemDescription: s.CustomerProblem,
		},
		CustomerPlatform: &assistv1.ClientPlatform{
			DeviceType:      assistv1.DeviceType(s.CustomerDevice),
			OperatingSystem: assistv1.OperatingSystem(s.CustomerOs),
			UserAgent:       s.CustomerUserAgent,
		},
		CreateTime: timestamppb.New(s.CreateTime),
		PickUpTime: optionalTime(s.PickUpTime),
		EndTime:    optionalTime(s.EndTime),
		Outcome:    assistv1.SessionOutcome(s.Outcome),
		LastSeq:    s.LastSeq,

		LogDeleteTime: optionalTime(s.LogDeleteTime),
	}
	if s.AdvisorID != nil {
		out.AdvisorId = s.AdvisorID.String()
	}
	if s.WaitingForAdvisorID != nil {
		out.WaitingForAdvisorId = s.WaitingForAdvisorID.String()
	}
	for _, id := range invited {
		out.InvitedAdvisorIds = append(out.InvitedAdvisorIds, id.String())
	}
	return out
}

func optionalTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
