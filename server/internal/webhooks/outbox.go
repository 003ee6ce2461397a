package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/feed"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// envelope is the JSON body of a delivery.
type envelope struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// MessageID is the `webhook-id` of an event: the same for every endpoint,
// attempt and replay, so receivers can deduplicate.
func MessageID(accountID uuid.UUID, position int64) string {
	return fmt.Sprintf("msg_%s_%d", strings.ReplaceAll(accountID.String(), "-", ""), position)
}

// Body is the JSON a delivery of ev carries.
func Body(ev *assistv1.AccountEvent) ([]byte, error) {
	data, err := protojson.Marshal(ev)
	if err != nil {
		return nil, err
	}
	ts := time.Now().UTC()
	if ct := ev.GetEvent().GetCreateTime(); ct != nil {
		ts = ct.AsTime().UTC()
	}
	return json.Marshal(envelope{Type: feed.TypeName(ev.GetType()), Timestamp: ts.Format(time.RFC3339Nano), Data: data})
}

// Record is the feed's outbox: in the transaction that sequences events,
// it queues a delivery of each to every enabled endpoint of its account
// that wants its type.
func (s *Service) Record(ctx context.Context, tx pgx.Tx, events []feed.Sequenced) error {
	accounts := map[uuid.UUID]bool{}
	for _, e := range events {
		accounts[e.AccountID] = true
	}
	ids := make([]uuid.UUID, 0, len(accounts))
	for a := range accounts {
		ids = append(ids, a)
	}
	endpoints, err := s.store.Q.WebhookEndpointsEnabledFor(ctx, tx, ids)
	if err != nil {
		return fmt.Errorf("load endpoints: %w", err)
	}
	if len(endpoints) == 0 {
		return nil
	}
	byAccount := map[uuid.UUID][]dbq.WebhookEndpointsEnabledForRow{}
	for _, ep := range endpoints {
		byAccount[ep.AccountID] = append(byAccount[ep.AccountID], ep)
	}
	var rows dbq.WebhookDeliveryInsertBatchParams
	for _, e := range events {
		eps := byAccount[e.AccountID]
		if len(eps) == 0 {
			continue
		}
		ev, err := e.AccountEvent()
		if err != nil {
			return err
		}
		body, err := Body(ev)
		if err != nil {
			return err
		}
		for _, ep := range eps {
			if len(ep.EventTypes) > 0 && !slices.Contains(ep.EventTypes, int16(ev.GetType())) {
				continue
			}
			rows.EndpointIds = append(rows.EndpointIds, ep.ID)
			rows.AccountIds = append(rows.AccountIds, e.AccountID)
			rows.SessionIds = append(rows.SessionIds, e.SessionID)
			rows.MessageIds = append(rows.MessageIds, MessageID(e.AccountID, ev.GetPosition()))
			rows.EventTypes = append(rows.EventTypes, int16(ev.GetType()))
			rows.FeedPositions = append(rows.FeedPositions, ev.GetPosition())
			rows.Bodies = append(rows.Bodies, body)
		}
	}
	if len(rows.EndpointIds) == 0 {
		return nil
	}
	if err := s.store.Q.WebhookDeliveryInsertBatch(ctx, tx, rows); err != nil {
		return fmt.Errorf("queue deliveries: %w", err)
	}
	return nil
}
