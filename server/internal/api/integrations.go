package api

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"context"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/feed"
	"github.com/assist-chat/assist/server/internal/webhooks"
)

// eventHandler serves EventService.
type eventHandler struct{ *Domain }

func (h eventHandler) StreamAccountEvents(ctx context.Context, req *assistv1.StreamAccountEventsRequest, stream assistv1connect.EventServiceStreamAccountEventsServerStream) error {
	p := auth.FromContext(ctx)
	// Refuse before opening: a caller without rights gets its error at once.
	if err := feed.Authorize(p); err != nil {
		return err
	}
	ctx, finish, cancel := h.guardStream(ctx)
	defer cancel()
	if err := stream.SendHeaders(); err != nil {
		return finish(err)
	}
	return finish(h.Feed.Stream(ctx, p, feed.StreamRequest{
		AfterPosition:       req.GetAfterPosition(),
		FromOldestAvailable: req.GetFromOldestAvailable(),
		Types:               req.GetTypes(),
	}, func(ev *assistv1.AccountEvent) error {
		return stream.Send(&assistv1.StreamAccountEventsResponse{Event: ev})
	}))
}

// webhookHandler serves WebhookService.
type webhookHandler struct{ *Domain }

func (h webhookHandler) CreateWebhookEndpoint(ctx context.Context, req *assistv1.CreateWebhookEndpointRequest) (*assistv1.CreateWebhookEndpointResponse, error) {
	ep, secret, err := h.Webhooks.Create(ctx, auth.FromContext(ctx), req.GetUrl(), req.GetDescription(), req.GetEventTypes())
	if err != nil {
		return nil, err
	}
	return &assistv1.CreateWebhookEndpointResponse{Endpoint: ep, Secret: secret}, nil
}

func (h webhookHandler) ListWebhookEndpoints(ctx context.Context, _ *assistv1.ListWebhookEndpointsRequest) (*assistv1.ListWebhookEndpointsResponse, error) {
	eps, err := h.Webhooks.List(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &assistv1.ListWebhookEndpointsResponse{Endpoints: eps}, nil
}

func (h webhookHandler) UpdateWebhookEndpoint(ctx context.Context, req *assistv1.UpdateWebhookEndpointRequest) (*assistv1.UpdateWebhookEndpointResponse, error) {
	id, err := parseID("endpoint_id", req.GetEndpointId())
	if err != nil {
		return nil, err
	}
	u := webhooks.Update{URL: req.Url, Description: req.Description, Disabled: req.Disabled}
	if req.GetEventTypes() != nil {
		u.SetEventTypes, u.EventTypes = true, req.GetEventTypes().GetTypes()
	}
	ep, err := h.Webhooks.Update(ctx, auth.FromContext(ctx), id, u)
	if err != nil {
		return nil, err
	}
	return &assistv1.UpdateWebhookEndpointResponse{Endpoint: ep}, nil
}

func (h webhookHandler) DeleteWebhookEndpoint(ctx context.Context, req *assistv1.DeleteWebhookEndpointRequest) (*assistv1.DeleteWebhookEndpointResponse, error) {
	id, err := parseID("endpoint_id", req.GetEndpointId())
	if err != nil {
		return nil, err
	}
	if err := h.Webhooks.Delete(ctx, auth.FromContext(ctx), id); err != nil {
		return nil, err
	}
	return &assistv1.DeleteWebhookEndpointResponse{}, nil
}

func (h webhookHandler) RotateWebhookSecret(ctx context.Context, req *assistv1.RotateWebhookSecretRequest) (*assistv1.RotateWebhookSecretResponse, error) {
	id, err := parseID("endpoint_id", req.GetEndpointId())
	if err != nil {
		return nil, err
	}
	secret, expire, err := h.Webhooks.Rotate(ctx, auth.FromContext(ctx), id, req.GetPreviousSecretTtl())
	if err != nil {
		return nil, err
	}
	return &assistv1.RotateWebhookSecretResponse{Secret: secret, PreviousSecretExpireTime: timestamp(expire)}, nil
}

func (h webhookHandler) ListWebhookDeliveries(ctx context.Context, req *assistv1.ListWebhookDeliveriesRequest) (*assistv1.ListWebhookDeliveriesResponse, error) {
	id, err := parseID("endpoint_id", req.GetEndpointId())
	if err != nil {
		return nil, err
	}
	list, next, err := h.Webhooks.Deliveries(ctx, auth.FromContext(ctx), id, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &assistv1.ListWebhookDeliveriesResponse{Deliveries: list, NextPageToken: next}, nil
}

func (h webhookHandler) ReplayWebhookDelivery(ctx context.Context, req *assistv1.ReplayWebhookDeliveryRequest) (*assistv1.ReplayWebhookDeliveryResponse, error) {
	d, err := h.Webhooks.Replay(ctx, auth.FromContext(ctx), req.GetDeliveryId())
	if err != nil {
		return nil, err
	}
	return &assistv1.ReplayWebhookDeliveryResponse{Delivery: d}, nil
}

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
