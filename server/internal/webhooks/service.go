package webhooks

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// DefaultPreviousSecretTTL is how long a rotated-out secret keeps signing.
const DefaultPreviousSecretTTL = 24 * time.Hour

// Service is the admins' side of webhooks: endpoints and deliveries.
type Service struct {
	store  *store.Store
	guard  *Guard
	logger *slog.Logger
	// wake, if set, is called when deliveries are queued outside the
	// sequencer (replays).
	wake func()
}

// NewService returns the webhook administration over s.
func NewService(s *store.Store, guard *Guard, wake func(), logger *slog.Logger) *Service {
	return &Service{store: s, guard: guard, wake: wake, logger: logger}
}

// requireAdmin allows the account's admins only.
func requireAdmin(p *auth.Principal) error {
	switch {
	case p == nil:
		return failure.Unauthenticated("missing credentials")
	case p.Kind == auth.KindAdvisor && p.Admin:
		return nil
	}
	return failure.PermissionDenied("only the account's admins may manage webhooks")
}

func typesToDB(types []assistv1.AccountEventType) []int16 {
	out := make([]int16, 0, len(types))
	for _, t := range types {
		out = append(out, int16(t))
	}
	return out
}

func endpointProto(e dbq.WebhookEndpoint) *assistv1.WebhookEndpoint {
	out := &assistv1.WebhookEndpoint{
		Id: e.ID.String(), AccountId: e.AccountID.String(), Url: e.Url, Description: e.Description,
		Disabled: e.Disabled, DisabledReason: e.DisabledReason,
		CreateTime: timestamppb.New(e.CreateTime), UpdateTime: timestamppb.New(e.UpdateTime),
	}
	for _, t := range e.EventTypes {
		out.EventTypes = append(out.EventTypes, assistv1.AccountEventType(t))
	}
	return out
}

func textOK(field, v string) error {
	if !store.TextOK(v) {
		return failure.InvalidArgument(field, "must not contain NUL characters")
	}
	return nil
}

// Create registers an endpoint and returns it with its secret.
func (s *Service) Create(ctx context.Context, p *auth.Principal, url, description string, types []assistv1.AccountEventType) (*assistv1.WebhookEndpoint, string, error) {
	if err := requireAdmin(p); err != nil {
		return nil, "", err
	}
	if err := textOK("description", description); err != nil {
		return nil, "", err
	}
	if err := s.guard.CheckURL(ctx, "url", url); err != nil {
		return nil, "", err
	}
	secret := NewSecret()
	e, err := s.store.Q.WebhookEndpointInsert(ctx, s.store.Pool, dbq.WebhookEndpointInsertParams{
		AccountID: p.AccountID, Url: url, Description: description, EventTypes: typesToDB(types), Secret: secret,
	})
	if err != nil {
		return nil, "", fmt.Errorf("create endpoint: %w", err)
	}
	s.logger.Info("webhook endpoint created", "endpoint", e.ID, "by", p.AdvisorID)
	return endpointProto(e), secret, nil
}

// List returns the account's endpoints.
func (s *Service) List(ctx context.Context, p *auth.Principal) ([]*assistv1.WebhookEndpoint, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	rows, err := s.store.Q.WebhookEndpointList(ctx, s.store.Pool, p.AccountID)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	out := make([]*assistv1.WebhookEndpoint, 0, len(rows))
	for _, r := range rows {
		out = append(out, endpointProto(r))
	}
	return out, nil
}

// Update is a change to an endpoint; nil fields stay.
type Update struct {
	URL         *string
	Description *string
	EventTypes  []assistv1.AccountEventType
	// SetEventTypes: EventTypes replaces the list (even when empty).
	SetEventTypes bool
	Disabled      *bool
}

// Update changes an endpoint.
func (s *Service) Update(ctx context.Context, p *auth.Principal, id uuid.UUID, u Update) (*assistv1.WebhookEndpoint, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	if u.URL != nil {
		if err := s.guard.CheckURL(ctx, "url", *u.URL); err != nil {
			return nil, err
		}
	}
	if u.Description != nil {
		if err := textOK("description", *u.Description); err != nil {
			return nil, err
		}
	}
	e, err := s.store.Q.WebhookEndpointUpdate(ctx, s.store.Pool, dbq.WebhookEndpointUpdateParams{
		ID: id, AccountID: p.AccountID, Url: u.URL, Description: u.Description,
		SetEventTypes: u.SetEventTypes, EventTypes: typesToDB(u.EventTypes), Disabled: u.Disabled,
	})
	if store.IsNotFound(err) {
		return nil, failure.NotFound("webhook endpoint")
	}
	if err != nil {
		return nil, fmt.Errorf("update endpoint: %w", err)
	}
	return endpointProto(e), nil
}

// Delete deletes an endpoint and its deliveries.
func (s *Service) Delete(ctx context.Context, p *auth.Principal, id uuid.UUID) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	n, err := s.store.Q.WebhookEndpointDelete(ctx, s.store.Pool, dbq.WebhookEndpointDeleteParams{ID: id, AccountID: p.AccountID})
	if err != nil {
		return fmt.Errorf("delete endpoint: %w", err)
	}
	if n == 0 {
		return failure.NotFound("webhook endpoint")
	}
	return nil
}

// Rotate gives the endpoint a new secret; the previous one keeps signing
// for ttl (nil: DefaultPreviousSecretTTL).
func (s *Service) Rotate(ctx context.Context, p *auth.Principal, id uuid.UUID, ttl *durationpb.Duration) (string, time.Time, error) {
	if err := requireAdmin(p); err != nil {
		return "", time.Time{}, err
	}
	keep := DefaultPreviousSecretTTL
	if ttl != nil {
		keep = ttl.AsDuration()
	}
	expire := time.Now().Add(keep)
	secret := NewSecret()
	_, err := s.store.Q.WebhookEndpointRotate(ctx, s.store.Pool, dbq.WebhookEndpointRotateParams{
		ID: id, AccountID: p.AccountID, Secret: secret, PreviousSecretExpireTime: &expire,
	})
	if store.IsNotFound(err) {
		return "", time.Time{}, failure.NotFound("webhook endpoint")
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("rotate secret: %w", err)
	}
	return secret, expire, nil
}

// Deliveries returns a page of an endpoint's deliveries, newest first,
// with their attempts.
func (s *Service) Deliveries(ctx context.Context, p *auth.Principal, endpointID uuid.UUID, pageSize int32, pageToken string) ([]*assistv1.WebhookDelivery, string, error) {
	if err := requireAdmin(p); err != nil {
		return nil, "", err
	}
	if _, err := s.store.Q.WebhookEndpointGet(ctx, s.store.Pool, dbq.WebhookEndpointGetParams{ID: endpointID, AccountID: p.AccountID}); store.IsNotFound(err) {
		return nil, "", failure.NotFound("webhook endpoint")
	} else if err != nil {
		return nil, "", fmt.Errorf("load endpoint: %w", err)
	}
	if pageSize <= 0 {
		pageSize = 50
	}
	before := int64(math.MaxInt64)
	if pageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(pageToken)
		if err != nil || len(b) != 8 {
			return nil, "", failure.InvalidArgument("page_token", "is not a token from a previous page")
		}
		before = int64(binary.BigEndian.Uint64(b))
	}
	rows, err := s.store.Q.WebhookDeliveryList(ctx, s.store.Pool, dbq.WebhookDeliveryListParams{EndpointID: endpointID, BeforeID: before, MaxRows: pageSize + 1})
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	var next string
	if len(rows) > int(pageSize) {
		rows = rows[:pageSize]
		next = base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(rows[len(rows)-1].ID)))
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	attempts, err := s.store.Q.WebhookAttemptsFor(ctx, s.store.Pool, ids)
	if err != nil {
		return nil, "", fmt.Errorf("list attempts: %w", err)
	}
	byDelivery := map[int64][]*assistv1.WebhookAttempt{}
	for _, a := range attempts {
		byDelivery[a.DeliveryID] = append(byDelivery[a.DeliveryID], &assistv1.WebhookAttempt{
			Number: a.Number, AttemptTime: timestamppb.New(a.AttemptTime), StatusCode: a.StatusCode,
			Error: a.Error, Duration: durationpb.New(time.Duration(a.DurationMs) * time.Millisecond),
		})
	}
	out := make([]*assistv1.WebhookDelivery, 0, len(rows))
	for _, r := range rows {
		d := deliveryProto(r)
		d.Attempts = byDelivery[r.ID]
		out = append(out, d)
	}
	return out, next, nil
}

func deliveryProto(r dbq.WebhookDelivery) *assistv1.WebhookDelivery {
	d := &assistv1.WebhookDelivery{
		Id: strconv.FormatInt(r.ID, 10), EndpointId: r.EndpointID.String(), MessageId: r.MessageID,
		EventType: assistv1.AccountEventType(r.EventType), Position: r.FeedPos,
		State: assistv1.WebhookDeliveryState(r.State), CreateTime: timestamppb.New(r.CreateTime),
		Body: string(r.Body),
	}
	if r.State == statePending {
		d.NextAttemptTime = timestamppb.New(r.NextAttemptTime)
	}
	return d
}

// Replay queues a delivery again, after the endpoint's pending ones.
func (s *Service) Replay(ctx context.Context, p *auth.Principal, deliveryID string) (*assistv1.WebhookDelivery, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(deliveryID, 10, 64)
	if err != nil || id <= 0 {
		return nil, failure.InvalidArgument("delivery_id", "is not a delivery id")
	}
	orig, err := s.store.Q.WebhookDeliveryGet(ctx, s.store.Pool, dbq.WebhookDeliveryGetParams{ID: id, AccountID: p.AccountID})
	if store.IsNotFound(err) {
		return nil, failure.NotFound("webhook delivery")
	}
	if err != nil {
		return nil, fmt.Errorf("load delivery: %w", err)
	}
	ep, err := s.store.Q.WebhookEndpointGet(ctx, s.store.Pool, dbq.WebhookEndpointGetParams{ID: orig.EndpointID, AccountID: p.AccountID})
	if err != nil {
		return nil, fmt.Errorf("load endpoint: %w", err)
	}
	if ep.Disabled {
		return nil, failure.FailedPrecondition("the endpoint is disabled: enable it first")
	}
	copied, err := s.store.Q.WebhookDeliveryReplay(ctx, s.store.Pool, id)
	if err != nil {
		return nil, fmt.Errorf("replay delivery: %w", err)
	}
	if s.wake != nil {
		s.wake()
	}
	return deliveryProto(copied), nil
}
