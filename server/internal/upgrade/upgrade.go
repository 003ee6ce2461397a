// Package upgrade holds the rules of the upgrade of a web chat to a
// standard session: the offer and its automatic notice, the single-use
// redemption of the opener by the customer app, the customer's answer to
// the screen-sharing request, and who may chat where after the handoff.
package upgrade

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/opener"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/sessions"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Service applies the upgrade rules.
type Service struct {
	store     *store.Store
	log       *sessionlog.Log
	sessions  *sessions.Service
	auth      *auth.Service
	keys      *opener.Keys
	publicURL func() string
	logger    *slog.Logger
	now       func() time.Time
}

// NewService returns the upgrade rules. publicURL is the server's base URL
// as customers reach it: opener links point there, and openers name it as
// their issuer.
func NewService(s *store.Store, l *sessionlog.Log, sess *sessions.Service, a *auth.Service, keys *opener.Keys, publicURL func() string, logger *slog.Logger) *Service {
	return &Service{store: s, log: l, sessions: sess, auth: a, keys: keys, publicURL: publicURL, logger: logger, now: time.Now}
}

var systemAuthor = &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_SYSTEM, DisplayName: "Assist"}

// OpenerPath is the HTTP path prefix that serves openers.
const OpenerPath = "/o/"

func (s *Service) openerURL(id uuid.UUID) string {
	return strings.TrimRight(s.publicURL(), "/") + OpenerPath + id.String()
}

// Upgrade offers the upgrade of an active web chat ("Yes"). A second call
// while the offer is live returns that offer and writes nothing.
func (s *Service) Upgrade(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (*assistv1.Session, *assistv1.SessionEvent, error) {
	if err := sessions.RequireAdvisor(p); err != nil {
		return nil, nil, err
	}
	a, err := s.sessions.Load(ctx, p, sessionID)
	if err != nil {
		return nil, nil, err
	}
	// The caller may read the session: its state is no secret to them.
	if err := upgradable(a.Session); err != nil {
		return nil, nil, err
	}
	if !a.Lead {
		return nil, nil, failure.PermissionDenied("only the session's lead advisor may upgrade it")
	}
	var offered *assistv1.SessionEvent
	_, err = s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		sess, err := s.store.Q.SessionGetForUpdate(ctx, tx, sessionID)
		if err != nil {
			return fmt.Errorf("lock session: %w", err)
		}
		if err := upgradable(sess); err != nil {
			return err
		}
		if live, err := s.liveOffer(ctx, tx, sess); err != nil || live != nil {
			offered = live
			return err
		}
		if assistv1.UpgradeState(sess.UpgradeState) == assistv1.UpgradeState_UPGRADE_STATE_APP_CONNECTED {
			return failure.FailedPrecondition("the session is already upgrading: the customer app is connected")
		}
		account, err := s.store.Q.AccountGet(ctx, tx, sess.AccountID)
		if err != nil {
			return fmt.Errorf("load account: %w", err)
		}
		offered, err = s.offer(ctx, tx, sess, account, assistv1.UpgradeHandoff(account.UpgradeHandoff), p.Participant())
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	sess, err := s.sessions.Get(ctx, p, sessionID)
	if err != nil {
		return nil, nil, err
	}
	s.logger.Info("upgrade offered", "session", sessionID, "advisor", p.AdvisorID, "seq", offered.GetSeq())
	return sess, offered, nil
}

// upgradable refuses what is not an active web chat.
func upgradable(sess dbq.Session) error {
	switch {
	case assistv1.SessionState(sess.State) == assistv1.SessionState_SESSION_STATE_ENDED:
		return failure.FailedPrecondition("the session has ended")
	case assistv1.SessionState(sess.State) != assistv1.SessionState_SESSION_STATE_ACTIVE:
		return failure.FailedPrecondition("the session is not active yet: pick it up first")
	case assistv1.SessionKind(sess.Kind) == assistv1.SessionKind_SESSION_KIND_FAST_CHAT:
		return failure.FailedPrecondition("a FastChat session can never be upgraded")
	case assistv1.SessionKind(sess.Kind) == assistv1.SessionKind_SESSION_KIND_STANDARD:
		return failure.FailedPrecondition("the session is already a standard session")
	case assistv1.SessionKind(sess.Kind) != assistv1.SessionKind_SESSION_KIND_WEB_CHAT:
		return failure.FailedPrecondition("only a web chat can be upgraded")
	}
	return nil
}

// liveOffer returns the stored UpgradeOffered event of the session's
// offer if it can still be redeemed, or nil.
func (s *Service) liveOffer(ctx context.Context, db dbq.DBTX, sess dbq.Session) (*assistv1.SessionEvent, error) {
	if assistv1.UpgradeState(sess.UpgradeState) != assistv1.UpgradeState_UPGRADE_STATE_OFFERED {
		return nil, nil
	}
	op, err := s.store.Q.OpenerLatest(ctx, db, sess.ID)
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load opener: %w", err)
	}
	if op.RedeemTime != nil || !s.now().Before(op.ExpireTime) {
		return nil, nil
	}
	rows, err := s.store.Q.EventListAfter(ctx, db, dbq.EventListAfterParams{SessionID: sess.ID, Seq: op.OfferSeq - 1, Limit: 1})
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("load offer event %d: %w", op.OfferSeq, err)
	}
	ev := &assistv1.SessionEvent{}
	if err := proto.Unmarshal(rows[0].Event, ev); err != nil {
		return nil, fmt.Errorf("decode offer event: %w", err)
	}
	return ev, nil
}

// offer stores a new opener, the UpgradeOffered event and the automatic
// notice, in tx.
func (s *Service) offer(ctx context.Context, tx *sessionlog.Tx, sess dbq.Session, account dbq.Account, handoff assistv1.UpgradeHandoff, author *assistv1.Participant) (*assistv1.SessionEvent, error) {
	keyID, _, err := s.keys.Current(ctx, tx)
	if err != nil {
		return nil, err
	}
	id := uuid.New()
	now := s.now().Truncate(time.Second) // openers carry whole seconds
	expire := now.Add(time.Duration(account.OpenerLifetimeSeconds) * time.Second)
	target := Platform{Device: assistv1.DeviceType(sess.CustomerDevice), OS: assistv1.OperatingSystem(sess.CustomerOs)}
	if target.OS == assistv1.OperatingSystem_OPERATING_SYSTEM_UNSPECIFIED && sess.CustomerUserAgent != "" {
		ua := FromUserAgent(sess.CustomerUserAgent)
		target.OS = ua.OS
		if target.Device == assistv1.DeviceType_DEVICE_TYPE_UNSPECIFIED {
			target.Device = ua.Device
		}
	}
	url := s.openerURL(id)
	offered, err := tx.Append(ctx, &assistv1.SessionEvent{
		SessionId: sess.ID.String(),
		Author:    author,
		Payload: &assistv1.SessionEvent_UpgradeOffered{UpgradeOffered: &assistv1.UpgradeOffered{
			OpenerUrl:        url,
			OpenerExpireTime: timestamppb.New(expire),
			TargetPlatform:   &assistv1.ClientPlatform{DeviceType: target.Device, OperatingSystem: target.OS},
			Handoff:          handoff,
		}},
	})
	if err != nil {
		return nil, err
	}
	_, err = tx.Append(ctx, &assistv1.SessionEvent{
		SessionId: sess.ID.String(),
		Author:    systemAuthor,
		Payload: &assistv1.SessionEvent_SystemNotice{SystemNotice: &assistv1.SystemNotice{
			Code: assistv1.SystemNoticeCode_SYSTEM_NOTICE_CODE_UPGRADE_STARTED,
			Text: upgradeStartedText(account.Language, url),
		}},
	})
	if err != nil {
		return nil, err
	}
	err = s.store.Q.OpenerInsert(ctx, tx, dbq.OpenerInsertParams{
		ID: id, SessionID: sess.ID, KeyID: keyID,
		Device: int16(target.Device), Os: int16(target.OS), Handoff: int16(handoff),
		OfferSeq: offered.GetSeq(), CreateTime: now, ExpireTime: expire,
	})
	if err != nil {
		return nil, fmt.Errorf("store opener: %w", err)
	}
	_, err = s.setUpgrade(ctx, tx, dbq.SessionSetUpgradeParams{
		ID: sess.ID, UpgradeState: int16(assistv1.UpgradeState_UPGRADE_STATE_OFFERED), Kind: sess.Kind, Handoff: sess.Handoff,
	})
	if err != nil {
		return nil, fmt.Errorf("mark session offered: %w", err)
	}
	return offered, nil
}

// StartStandard gives a session that starts as a standard session (the
// account has web chat disabled) its opener, and returns the opener's
// link. For any other session it returns "". Called again (a retried
// StartSession), it returns the session's latest opener link.
func (s *Service) StartStandard(ctx context.Context, sessionID uuid.UUID) (string, error) {
	var url string
	_, err := s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		sess, err := s.store.Q.SessionGetForUpdate(ctx, tx, sessionID)
		if err != nil {
			return fmt.Errorf("lock session: %w", err)
		}
		if assistv1.SessionKind(sess.Kind) != assistv1.SessionKind_SESSION_KIND_STANDARD {
			return nil
		}
		if assistv1.UpgradeState(sess.UpgradeState) != assistv1.UpgradeState_UPGRADE_STATE_NONE {
			op, err := s.store.Q.OpenerLatest(ctx, tx, sessionID)
			if err != nil {
				return fmt.Errorf("load opener: %w", err)
			}
			url = s.openerURL(op.ID)
			return nil
		}
		account, err := s.store.Q.AccountGet(ctx, tx, sess.AccountID)
		if err != nil {
			return fmt.Errorf("load account: %w", err)
		}
		// No web chat to keep: the app is where the customer chats.
		ev, err := s.offer(ctx, tx, sess, account, assistv1.UpgradeHandoff_UPGRADE_HANDOFF_TRANSFER_TO_APP, systemAuthor)
		if err != nil {
			return err
		}
		url = ev.GetUpgradeOffered().GetOpenerUrl()
		return nil
	})
	return url, err
}

// Redeemed is what a successful redemption gives the customer app.
type Redeemed struct {
	Session  *assistv1.Session
	AppToken string
	Handoff  assistv1.UpgradeHandoff
}

// Redeem exchanges an opener for an app token. Only the first of any
// number of concurrent redemptions succeeds: the opener's row is claimed
// by one conditional UPDATE. Every refusal is Unauthenticated and writes
// nothing.
func (s *Service) Redeem(ctx context.Context, token string, platform *assistv1.ClientPlatform) (*Redeemed, error) {
	if !store.TextOK(platform.GetUserAgent()) {
		return nil, failure.InvalidArgument("app_platform.user_agent", "must not contain NUL characters")
	}
	now := s.now()
	c, err := opener.Verify(ctx, token, s.publicURL(), now, s.keys.PublicKey)
	if err != nil {
		return nil, err
	}
	out := &Redeemed{}
	var sess dbq.Session
	_, err = s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		op, err := s.store.Q.OpenerRedeem(ctx, tx, dbq.OpenerRedeemParams{ID: c.OpenerID, SessionID: c.SessionID, Now: now.Add(-opener.ClockSkew)})
		if store.IsNotFound(err) {
			return failure.Unauthenticated("the opener was already used, or has expired")
		}
		if err != nil {
			return fmt.Errorf("redeem opener: %w", err)
		}
		sess, err = s.store.Q.SessionGetForUpdate(ctx, tx, c.SessionID)
		if store.IsNotFound(err) {
			return failure.Unauthenticated("the opener's session no longer exists")
		}
		if err != nil {
			return fmt.Errorf("lock session: %w", err)
		}
		if assistv1.SessionState(sess.State) == assistv1.SessionState_SESSION_STATE_ENDED {
			return failure.Unauthenticated("the session has ended")
		}
		latest, err := s.store.Q.OpenerLatest(ctx, tx, sess.ID)
		if err != nil {
			return fmt.Errorf("load opener: %w", err)
		}
		if latest.ID != op.ID || assistv1.UpgradeState(sess.UpgradeState) != assistv1.UpgradeState_UPGRADE_STATE_OFFERED {
			return failure.Unauthenticated("a newer opener replaced this one")
		}
		sess, err = s.setUpgrade(ctx, tx, dbq.SessionSetUpgradeParams{
			ID: sess.ID, UpgradeState: int16(assistv1.UpgradeState_UPGRADE_STATE_APP_CONNECTED), Kind: sess.Kind, Handoff: sess.Handoff,
		})
		if err != nil {
			return fmt.Errorf("mark app connected: %w", err)
		}
		out.AppToken, err = s.auth.MintSessionToken(ctx, tx, auth.KindCustomerApp, sess.AccountID, sess.ID)
		if err != nil {
			return err
		}
		out.Handoff = assistv1.UpgradeHandoff(op.Handoff)
		app := &assistv1.Participant{Role: assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER_APP, DisplayName: sess.CustomerDisplayName}
		_, err = tx.Append(ctx, &assistv1.SessionEvent{
			SessionId: sess.ID.String(),
			Author:    app,
			Payload: &assistv1.SessionEvent_OpenerRedeemed{OpenerRedeemed: &assistv1.OpenerRedeemed{
				AppPlatform: &assistv1.ClientPlatform{
					DeviceType: platform.GetDeviceType(), OperatingSystem: platform.GetOperatingSystem(), UserAgent: platform.GetUserAgent(),
				},
			}},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	sess, err = s.store.Q.SessionGet(ctx, s.store.Pool, sess.ID)
	if err != nil {
		return nil, fmt.Errorf("reload session: %w", err)
	}
	out.Session = sessions.ToProto(sess, nil)
	s.logger.Info("opener redeemed", "session", sess.ID, "opener", c.OpenerID, "key", c.KeyID)
	return out, nil
}

// RespondToScreenShare records the customer's answer in the app. On OK
// the session becomes standard and the handoff applies.
func (s *Service) RespondToScreenShare(ctx context.Context, p *auth.Principal, sessionID uuid.UUID, accepted bool) (*assistv1.Session, error) {
	if p == nil {
		return nil, failure.Unauthenticated("missing credentials")
	}
	if p.Kind != auth.KindCustomerApp {
		return nil, failure.PermissionDenied("only the customer app answers the request to share the screen")
	}
	if _, err := s.sessions.Load(ctx, p, sessionID); err != nil {
		return nil, err
	}
	_, err := s.log.Write(ctx, func(tx *sessionlog.Tx) error {
		sess, err := s.store.Q.SessionGetForUpdate(ctx, tx, sessionID)
		if err != nil {
			return fmt.Errorf("lock session: %w", err)
		}
		if assistv1.SessionState(sess.State) == assistv1.SessionState_SESSION_STATE_ENDED {
			return failure.FailedPrecondition("the session has ended")
		}
		if assistv1.UpgradeState(sess.UpgradeState) != assistv1.UpgradeState_UPGRADE_STATE_APP_CONNECTED {
			return failure.FailedPrecondition("the customer already answered the request to share the screen")
		}
		op, err := s.store.Q.OpenerLatest(ctx, tx, sessionID)
		if err != nil {
			return fmt.Errorf("load opener: %w", err)
		}
		account, err := s.store.Q.AccountGet(ctx, tx, sess.AccountID)
		if err != nil {
			return fmt.Errorf("load account: %w", err)
		}
		events := []*assistv1.SessionEvent{{Author: p.Participant(), Payload: &assistv1.SessionEvent_ScreenShareAnswered{
			ScreenShareAnswered: &assistv1.ScreenShareAnswered{Accepted: accepted}}}}
		params := dbq.SessionSetUpgradeParams{ID: sessionID, UpgradeState: int16(assistv1.UpgradeState_UPGRADE_STATE_SCREEN_SHARE_REFUSED), Kind: sess.Kind}
		if accepted {
			handoff := assistv1.UpgradeHandoff(op.Handoff)
			params.UpgradeState = int16(assistv1.UpgradeState_UPGRADE_STATE_SCREEN_SHARE_ACCEPTED)
			params.Kind, params.Handoff = int16(assistv1.SessionKind_SESSION_KIND_STANDARD), int16(handoff)
			if sess.Kind != params.Kind {
				events = append(events, &assistv1.SessionEvent{Author: systemAuthor, Payload: &assistv1.SessionEvent_StateChanged{StateChanged: &assistv1.StateChanged{
					FromState: assistv1.SessionState(sess.State), ToState: assistv1.SessionState(sess.State), Kind: assistv1.SessionKind_SESSION_KIND_STANDARD,
				}}})
			}
			if handoff == assistv1.UpgradeHandoff_UPGRADE_HANDOFF_TRANSFER_TO_APP {
				events = append(events, &assistv1.SessionEvent{Author: systemAuthor, Payload: &assistv1.SessionEvent_WebChatDisabled{WebChatDisabled: &assistv1.WebChatDisabled{
					Reason: WebChatDisabledText(account.Language),
				}}})
			}
		}
		if _, err := s.setUpgrade(ctx, tx, params); err != nil {
			return fmt.Errorf("record answer: %w", err)
		}
		for _, ev := range events {
			ev.SessionId = sessionID.String()
			if _, err := tx.Append(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logger.Info("screen sharing answered", "session", sessionID, "accepted", accepted)
	return s.sessions.Get(ctx, p, sessionID)
}

// setUpgrade records a step of the upgrade on the session. What the
// session's parties may send depends on it: their cached rights are
// forgotten on every replica when tx commits.
func (s *Service) setUpgrade(ctx context.Context, tx *sessionlog.Tx, params dbq.SessionSetUpgradeParams) (dbq.Session, error) {
	tx.AccessChanged(params.ID)
	return s.store.Q.SessionSetUpgrade(ctx, tx, params)
}

// MaySend applies the handoff to a sender: after a transfer to the app the
// customer's web chat may only read; the app chats only once the customer
// accepted, and only if the handoff gives it a chat area.
func MaySend(p *auth.Principal, sess dbq.Session) error {
	handoff := assistv1.UpgradeHandoff(sess.Handoff)
	switch p.Kind {
	case auth.KindCustomer:
		if handoff == assistv1.UpgradeHandoff_UPGRADE_HANDOFF_TRANSFER_TO_APP {
			return failure.FailedPrecondition("the conversation moved to the customer app: continue it there (this web chat can still be read)")
		}
	case auth.KindCustomerApp:
		switch handoff {
		case assistv1.UpgradeHandoff_UPGRADE_HANDOFF_UNSPECIFIED:
			return failure.PermissionDenied("the customer app has no chat area until the customer accepts to share the screen")
		case assistv1.UpgradeHandoff_UPGRADE_HANDOFF_KEEP_WEB_CHAT_APP_WITHOUT_CHAT:
			return failure.PermissionDenied("the customer app has no chat area on this account: the conversation continues in the web chat")
		}
	}
	return nil
}

// Download is what an opener link serves.
type Download struct {
	// Token is the signed opener.
	Token string
	// Platform is the one stored with the offer (may be unspecified).
	Platform Platform
	// ShortCode names the downloaded file.
	ShortCode string
}

// Download signs the opener of a live offer again for its download link.
// NotFound for an unknown id; FailedPrecondition once it is used, expired
// or its session ended.
func (s *Service) Download(ctx context.Context, openerID uuid.UUID) (*Download, error) {
	op, err := s.store.Q.OpenerGet(ctx, s.store.Pool, openerID)
	if store.IsNotFound(err) {
		return nil, failure.NotFound("opener")
	}
	if err != nil {
		return nil, fmt.Errorf("load opener: %w", err)
	}
	if op.RedeemTime != nil {
		return nil, failure.FailedPrecondition("this opener was already used")
	}
	if !s.now().Before(op.ExpireTime) {
		return nil, failure.FailedPrecondition("this opener has expired: ask your advisor for a new one")
	}
	sess, err := s.store.Q.SessionGet(ctx, s.store.Pool, op.SessionID)
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if assistv1.SessionState(sess.State) == assistv1.SessionState_SESSION_STATE_ENDED {
		return nil, failure.FailedPrecondition("the session has ended")
	}
	priv, err := s.keys.Private(ctx, s.store.Pool, op.KeyID)
	if err != nil {
		return nil, err
	}
	token, err := opener.Sign(priv, opener.Claims{
		OpenerID: op.ID, SessionID: op.SessionID, Issuer: s.publicURL(),
		IssueTime: op.CreateTime, ExpireTime: op.ExpireTime, KeyID: op.KeyID,
	})
	if err != nil {
		return nil, fmt.Errorf("sign opener: %w", err)
	}
	return &Download{
		Token:     token,
		Platform:  Platform{Device: assistv1.DeviceType(op.Device), OS: assistv1.OperatingSystem(op.Os)},
		ShortCode: strings.ToUpper(op.SessionID.String()[:8]),
	}, nil
}
