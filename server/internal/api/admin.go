package api

import (
	"context"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/admin"
	"github.com/assist-chat/assist/server/internal/auth"
)

// adminHandler serves AdminService (account settings are in upgrade.go).
type adminHandler struct {
	assistv1connect.UnimplementedAdminServiceHandler
	*Domain
}

func (h adminHandler) CreateAdvisor(ctx context.Context, req *assistv1.CreateAdvisorRequest) (*assistv1.CreateAdvisorResponse, error) {
	adv, err := h.Admin.CreateAdvisor(ctx, auth.FromContext(ctx), admin.NewAdvisor{
		Email: req.GetEmail(), DisplayName: req.GetDisplayName(), Password: req.GetPassword(),
		ReportAccess: req.GetReportAccess(), Admin: req.GetAdmin(),
	})
	if err != nil {
		return nil, err
	}
	return &assistv1.CreateAdvisorResponse{Advisor: adv}, nil
}

func (h adminHandler) ListAdvisors(ctx context.Context, _ *assistv1.ListAdvisorsRequest) (*assistv1.ListAdvisorsResponse, error) {
	list, err := h.Admin.ListAdvisors(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &assistv1.ListAdvisorsResponse{Advisors: list}, nil
}

func (h adminHandler) UpdateAdvisor(ctx context.Context, req *assistv1.UpdateAdvisorRequest) (*assistv1.UpdateAdvisorResponse, error) {
	adv, err := h.Admin.UpdateAdvisor(ctx, auth.FromContext(ctx), admin.AdvisorUpdate{
		AdvisorID: req.GetAdvisorId(), DisplayName: req.GetDisplayName(), Password: req.GetPassword(),
		ReportAccess: req.GetReportAccess(), Admin: req.GetAdmin(), Disabled: req.GetDisabled(),
		Paths: req.GetUpdateMask().GetPaths(),
	})
	if err != nil {
		return nil, err
	}
	return &assistv1.UpdateAdvisorResponse{Advisor: adv}, nil
}

func (h adminHandler) CreatePortal(ctx context.Context, req *assistv1.CreatePortalRequest) (*assistv1.CreatePortalResponse, error) {
	portal, err := h.Admin.CreatePortal(ctx, auth.FromContext(ctx), admin.NewPortal{
		Slug: req.GetSlug(), DisplayName: req.GetDisplayName(), Mode: req.GetMode(), AdvisorIDs: req.GetAdvisorIds(),
	})
	if err != nil {
		return nil, err
	}
	return &assistv1.CreatePortalResponse{Portal: portal}, nil
}

func (h adminHandler) ListPortals(ctx context.Context, _ *assistv1.ListPortalsRequest) (*assistv1.ListPortalsResponse, error) {
	list, err := h.Admin.ListPortals(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &assistv1.ListPortalsResponse{Portals: list}, nil
}

func (h adminHandler) UpdatePortal(ctx context.Context, req *assistv1.UpdatePortalRequest) (*assistv1.UpdatePortalResponse, error) {
	portal, err := h.Admin.UpdatePortal(ctx, auth.FromContext(ctx), admin.PortalUpdate{
		PortalID: req.GetPortalId(), DisplayName: req.GetDisplayName(), Mode: req.GetMode(),
		AdvisorIDs: req.GetAdvisorIds(), Paths: req.GetUpdateMask().GetPaths(),
	})
	if err != nil {
		return nil, err
	}
	return &assistv1.UpdatePortalResponse{Portal: portal}, nil
}

func (h adminHandler) CreateApiKey(ctx context.Context, req *assistv1.CreateApiKeyRequest) (*assistv1.CreateApiKeyResponse, error) {
	key, secret, err := h.Admin.CreateAPIKey(ctx, auth.FromContext(ctx), req.GetName(), req.GetScopes())
	if err != nil {
		return nil, err
	}
	return &assistv1.CreateApiKeyResponse{ApiKey: key, Secret: secret}, nil
}

func (h adminHandler) ListApiKeys(ctx context.Context, _ *assistv1.ListApiKeysRequest) (*assistv1.ListApiKeysResponse, error) {
	list, err := h.Admin.ListAPIKeys(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &assistv1.ListApiKeysResponse{ApiKeys: list}, nil
}

func (h adminHandler) RevokeApiKey(ctx context.Context, req *assistv1.RevokeApiKeyRequest) (*assistv1.RevokeApiKeyResponse, error) {
	key, err := h.Admin.RevokeAPIKey(ctx, auth.FromContext(ctx), req.GetApiKeyId())
	if err != nil {
		return nil, err
	}
	return &assistv1.RevokeApiKeyResponse{ApiKey: key}, nil
}

func (h adminHandler) ListAuditEvents(ctx context.Context, req *assistv1.ListAuditEventsRequest) (*assistv1.ListAuditEventsResponse, error) {
	events, next, err := h.Admin.ListAuditEvents(ctx, auth.FromContext(ctx), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &assistv1.ListAuditEventsResponse{Events: events, NextPageToken: next}, nil
}
