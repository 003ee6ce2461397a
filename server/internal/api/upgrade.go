package api

import (
	"context"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
)

// UpgradeSession offers the upgrade of a web chat to a standard session.
func (h sessionHandler) UpgradeSession(ctx context.Context, req *assistv1.UpgradeSessionRequest) (*assistv1.UpgradeSessionResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	s, offered, err := h.Upgrade.Upgrade(ctx, auth.FromContext(ctx), sid)
	if err != nil {
		return nil, err
	}
	return &assistv1.UpgradeSessionResponse{Session: s, UpgradeOffered: offered}, nil
}

// standardStartPortal is the portal service with StartSession completed
// for accounts without web chat: such a session starts as a standard
// session, and the response carries its opener link.
type standardStartPortal struct{ portalHandler }

func (h standardStartPortal) StartSession(ctx context.Context, req *assistv1.StartSessionRequest) (*assistv1.StartSessionResponse, error) {
	res, err := h.portalHandler.StartSession(ctx, req)
	if err != nil || res.GetSession().GetKind() != assistv1.SessionKind_SESSION_KIND_STANDARD {
		return res, err
	}
	sid, err := parseID("session_id", res.GetSession().GetId())
	if err != nil {
		return nil, err
	}
	url, err := h.Upgrade.StartStandard(ctx, sid)
	if err != nil {
		return nil, err
	}
	res.OpenerUrl = url
	res.Session.UpgradeState = assistv1.UpgradeState_UPGRADE_STATE_OFFERED
	return res, nil
}

// customerAppHandler serves CustomerAppService.
type customerAppHandler struct{ *Domain }

func (h customerAppHandler) RedeemOpener(ctx context.Context, req *assistv1.RedeemOpenerRequest) (*assistv1.RedeemOpenerResponse, error) {
	r, err := h.Upgrade.Redeem(ctx, req.GetOpenerToken(), req.GetAppPlatform())
	if err != nil {
		return nil, err
	}
	return &assistv1.RedeemOpenerResponse{Session: r.Session, AppToken: r.AppToken, Handoff: r.Handoff}, nil
}

func (h customerAppHandler) RespondToScreenShare(ctx context.Context, req *assistv1.RespondToScreenShareRequest) (*assistv1.RespondToScreenShareResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	s, err := h.Upgrade.RespondToScreenShare(ctx, auth.FromContext(ctx), sid, req.GetAccepted())
	if err != nil {
		return nil, err
	}
	return &assistv1.RespondToScreenShareResponse{Session: s}, nil
}

// Account settings of AdminService (the rest is in admin.go).

func (h adminHandler) GetAccountSettings(ctx context.Context, _ *assistv1.GetAccountSettingsRequest) (*assistv1.GetAccountSettingsResponse, error) {
	s, err := h.Accounts.Settings(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &assistv1.GetAccountSettingsResponse{Settings: s}, nil
}

func (h adminHandler) UpdateAccountSettings(ctx context.Context, req *assistv1.UpdateAccountSettingsRequest) (*assistv1.UpdateAccountSettingsResponse, error) {
	s, err := h.Accounts.UpdateSettings(ctx, auth.FromContext(ctx), req.GetSettings(), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &assistv1.UpdateAccountSettingsResponse{Settings: s}, nil
}
