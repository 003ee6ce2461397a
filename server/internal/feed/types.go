// Package feed is the account-wide event stream: a sequencer gives every
// stored session event a position in its account's total order, readers
// stream that order from a cursor, and the retention job deletes old chat
// logs without ever leaving a silent gap in it.
package feed

import (
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// TypeOf classifies a stored session event for the account stream and
// webhooks.
func TypeOf(ev *assistv1.SessionEvent) assistv1.AccountEventType {
	switch p := ev.GetPayload().(type) {
	case *assistv1.SessionEvent_ParticipantJoined:
		if ev.GetSeq() == 1 {
			return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_STARTED
		}
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_PARTICIPANT_JOINED
	case *assistv1.SessionEvent_ParticipantLeft:
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_PARTICIPANT_LEFT
	case *assistv1.SessionEvent_Message:
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_MESSAGE
	case *assistv1.SessionEvent_SystemNotice:
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SYSTEM_NOTICE
	case *assistv1.SessionEvent_StateChanged:
		if p.StateChanged.GetFromState() == assistv1.SessionState_SESSION_STATE_WAITING &&
			p.StateChanged.GetToState() == assistv1.SessionState_SESSION_STATE_ACTIVE {
			return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_PICKED_UP
		}
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_STATE_CHANGED
	case *assistv1.SessionEvent_UpgradeOffered:
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_UPGRADE_OFFERED
	case *assistv1.SessionEvent_OpenerRedeemed:
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_OPENER_REDEEMED
	case *assistv1.SessionEvent_ScreenShareAnswered:
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SCREEN_SHARE_ANSWERED
	case *assistv1.SessionEvent_WebChatDisabled:
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_WEB_CHAT_DISABLED
	case *assistv1.SessionEvent_SessionTransferred:
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_TRANSFERRED
	case *assistv1.SessionEvent_SessionEnded:
		return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_ENDED
	}
	return assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_UNSPECIFIED
}

// typeNames are the webhook `type` strings, as the contract documents them.
var typeNames = map[assistv1.AccountEventType]string{
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_STARTED:       "session.started",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_PARTICIPANT_JOINED:    "session.participant_joined",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_PARTICIPANT_LEFT:      "session.participant_left",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_MESSAGE:               "session.message",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SYSTEM_NOTICE:         "session.system_notice",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_PICKED_UP:     "session.picked_up",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_STATE_CHANGED:         "session.state_changed",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_UPGRADE_OFFERED:       "session.upgrade_offered",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_OPENER_REDEEMED:       "session.opener_redeemed",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SCREEN_SHARE_ANSWERED: "session.screen_share_answered",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_WEB_CHAT_DISABLED:     "session.web_chat_disabled",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_TRANSFERRED:   "session.transferred",
	assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_SESSION_ENDED:         "session.ended",
}

// TypeName is the webhook `type` string of t ("session.message").
func TypeName(t assistv1.AccountEventType) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "session.event"
}
