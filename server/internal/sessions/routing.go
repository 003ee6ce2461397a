package sessions

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// Code and web mode send a customer to one advisor. The session then waits
// in that advisor's queue only (sessions.waiting_for_advisor_id) until they
// pick it up, through the same queue, pick-up and access rules as queue
// mode.

// How long a session code works, and how many live codes an advisor
// holds, are the account's settings (session_code_lifetime,
// max_live_session_codes_per_advisor).

const (
	// presenceTTL is how long an advisor stays online after their replica
	// last refreshed their queue watch; a replica that dies takes its
	// advisors offline within it.
	presenceTTL = 90 * time.Second
	// presenceRefresh is how often each replica refreshes its watches.
	presenceRefresh = 30 * time.Second
)

// CreateSessionCode creates a code that sends a customer on a code-mode
// portal to the calling advisor.
func (s *Service) CreateSessionCode(ctx context.Context, p *auth.Principal, portalID uuid.UUID, customerName string) (*assistv1.SessionCode, error) {
	if err := RequireAdvisor(p); err != nil {
		return nil, err
	}
	if !store.TextOK(customerName) {
		return nil, failure.InvalidArgument("customer_display_name", "must not contain NUL characters")
	}
	if err := s.servedPortal(ctx, p, portalID, assistv1.PortalMode_PORTAL_MODE_CODE); err != nil {
		return nil, err
	}
	account, err := s.store.Q.AccountGet(ctx, s.store.Pool, p.AccountID)
	if err != nil {
		return nil, fmt.Errorf("load account: %w", err)
	}
	var code dbq.SessionCode
	err = s.store.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.store.Q.AdvisorLockForCodes(ctx, tx, p.AdvisorID); err != nil {
			return fmt.Errorf("lock advisor: %w", err)
		}
		if err := s.store.Q.SessionCodeDeleteExpired(ctx, tx, dbq.SessionCodeDeleteExpiredParams{AdvisorID: p.AdvisorID, PortalID: portalID}); err != nil {
			return fmt.Errorf("delete expired codes: %w", err)
		}
		live, err := s.store.Q.SessionCodeCountLive(ctx, tx, p.AdvisorID)
		if err != nil {
			return fmt.Errorf("count codes: %w", err)
		}
		if live >= int64(account.MaxLiveSessionCodes) {
			return failure.ResourceExhausted("you already hold %d live session codes; wait until a customer uses one or it expires", account.MaxLiveSessionCodes)
		}
		// A code taken on this portal is drawn again; with a million codes
		// and few live ones, a handful of draws always suffices.
		for range 8 {
			code, err = s.store.Q.SessionCodeInsert(ctx, tx, dbq.SessionCodeInsertParams{
				PortalID: portalID, Code: randomCode(), AdvisorID: p.AdvisorID,
				CustomerDisplayName: customerName, TtlSeconds: float64(account.SessionCodeLifetimeSeconds),
			})
			if !store.IsNotFound(err) {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("insert code: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logger.Info("session code created", "portal", portalID, "advisor", p.AdvisorID, "expires", code.ExpireTime)
	return sessionCodeProto(code), nil
}

// RevokeSessionCode withdraws one of the calling advisor's live codes.
func (s *Service) RevokeSessionCode(ctx context.Context, p *auth.Principal, portalID uuid.UUID, code string) error {
	if err := RequireAdvisor(p); err != nil {
		return err
	}
	n, err := s.store.Q.SessionCodeRevoke(ctx, s.store.Pool, dbq.SessionCodeRevokeParams{PortalID: portalID, Code: code, AdvisorID: p.AdvisorID})
	if err != nil {
		return fmt.Errorf("revoke code: %w", err)
	}
	if n == 0 {
		return failure.NotFound("live session code")
	}
	s.logger.Info("session code revoked", "portal", portalID, "advisor", p.AdvisorID)
	return nil
}

// ServedPortals lists the portals the calling advisor serves.
func (s *Service) ServedPortals(ctx context.Context, p *auth.Principal) ([]*assistv1.Portal, error) {
	if err := RequireAdvisor(p); err != nil {
		return nil, err
	}
	rows, err := s.store.Q.PortalListByAdvisor(ctx, s.store.Pool, p.AdvisorID)
	if err != nil {
		return nil, fmt.Errorf("list portals: %w", err)
	}
	out := make([]*assistv1.Portal, 0, len(rows))
	for _, r := range rows {
		out = append(out, &assistv1.Portal{
			Id: r.ID.String(), AccountId: r.AccountID.String(), Slug: r.Slug, DisplayName: r.DisplayName,
			Mode: assistv1.PortalMode(r.Mode), CreateTime: timestamppb.New(r.CreateTime),
		})
	}
	return out, nil
}

// SessionCodes lists the calling advisor's live codes.
func (s *Service) SessionCodes(ctx context.Context, p *auth.Principal) ([]*assistv1.SessionCode, error) {
	if err := RequireAdvisor(p); err != nil {
		return nil, err
	}
	rows, err := s.store.Q.SessionCodeListByAdvisor(ctx, s.store.Pool, p.AdvisorID)
	if err != nil {
		return nil, fmt.Errorf("list codes: %w", err)
	}
	out := make([]*assistv1.SessionCode, 0, len(rows))
	for _, c := range rows {
		out = append(out, sessionCodeProto(c))
	}
	return out, nil
}

func sessionCodeProto(c dbq.SessionCode) *assistv1.SessionCode {
	return &assistv1.SessionCode{
		Code: c.Code, PortalId: c.PortalID.String(), AdvisorId: c.AdvisorID.String(),
		ExpireTime: timestamppb.New(c.ExpireTime), CustomerDisplayName: c.CustomerDisplayName,
	}
}

// randomCode draws six digits.
func randomCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// servedPortal checks that the advisor serves the portal and that it is in
// the given mode.
func (s *Service) servedPortal(ctx context.Context, p *auth.Principal, portalID uuid.UUID, mode assistv1.PortalMode) error {
	served, err := s.store.Q.PortalListByAdvisor(ctx, s.store.Pool, p.AdvisorID)
	if err != nil {
		return fmt.Errorf("load portals: %w", err)
	}
	i := slices.IndexFunc(served, func(portal dbq.Portal) bool { return portal.ID == portalID })
	if i < 0 {
		return failure.NotFound("portal")
	}
	if got := assistv1.PortalMode(served[i].Mode); got != mode {
		return failure.FailedPrecondition("the portal is in %s, not %s", got, mode)
	}
	return nil
}

// route is where a starting session goes: nil for the portal's queue, or
// the advisor it waits for.
type route struct {
	advisorID   *uuid.UUID
	advisorName string
}

// checkRouting refuses routing fields that do not fit the portal's mode,
// before anything is written.
func checkRouting(mode assistv1.PortalMode, req Start) error {
	switch mode {
	case assistv1.PortalMode_PORTAL_MODE_QUEUE:
		switch {
		case req.SessionCode != "":
			return failure.InvalidArgument("session_code", "a queue-mode portal takes no session code")
		case req.AdvisorID != "":
			return failure.InvalidArgument("advisor_id", "a queue-mode portal takes no advisor choice")
		case req.FirstAvailableAdvisor:
			return failure.InvalidArgument("first_available_advisor", "a queue-mode portal takes no advisor choice")
		}
	case assistv1.PortalMode_PORTAL_MODE_CODE:
		switch {
		case req.AdvisorID != "":
			return failure.InvalidArgument("advisor_id", "a code-mode portal takes a session code, not an advisor choice")
		case req.FirstAvailableAdvisor:
			return failure.InvalidArgument("first_available_advisor", "a code-mode portal takes a session code, not an advisor choice")
		case req.SessionCode == "":
			return failure.InvalidArgument("session_code", "this portal needs the six-digit code your advisor gave you")
		}
	case assistv1.PortalMode_PORTAL_MODE_WEB:
		switch {
		case req.SessionCode != "":
			return failure.InvalidArgument("session_code", "a web-mode portal takes an advisor choice, not a session code")
		case req.AdvisorID == "" && !req.FirstAvailableAdvisor:
			return failure.InvalidArgument("advisor_id", "pick an advisor who is online, or set first_available_advisor")
		}
	default:
		return failure.FailedPrecondition("the portal has no mode set; its administrator must choose one")
	}
	return nil
}

// routeWeb picks the advisor of a web-mode start: the one the customer
// chose, who must be online, or the first available.
func (s *Service) routeWeb(ctx context.Context, portalID uuid.UUID, req Start) (route, error) {
	if req.FirstAvailableAdvisor {
		a, err := s.store.Q.PortalFirstAvailableAdvisor(ctx, s.store.Pool, portalID)
		if store.IsNotFound(err) {
			return route{}, failure.FailedPrecondition("no advisor is online on this portal right now; please try again later")
		}
		if err != nil {
			return route{}, fmt.Errorf("choose advisor: %w", err)
		}
		return route{advisorID: &a.ID, advisorName: a.DisplayName}, nil
	}
	id, err := uuid.Parse(req.AdvisorID)
	if err != nil {
		return route{}, failure.InvalidArgument("advisor_id", "must be a UUID")
	}
	a, err := s.store.Q.PortalAdvisorStatus(ctx, s.store.Pool, dbq.PortalAdvisorStatusParams{PortalID: portalID, AdvisorID: id})
	if store.IsNotFound(err) {
		return route{}, failure.NotFound("advisor")
	}
	if err != nil {
		return route{}, fmt.Errorf("load advisor: %w", err)
	}
	if !a.Online {
		return route{}, failure.FailedPrecondition("%s is not online any more; pick another advisor, or the first available", a.DisplayName)
	}
	return route{advisorID: &a.ID, advisorName: a.DisplayName}, nil
}

// useCode spends a session code inside the starting transaction, so that a
// start that fails leaves the code usable.
func (s *Service) useCode(ctx context.Context, tx *sessionlog.Tx, portalID uuid.UUID, code string) (route, error) {
	row, err := s.store.Q.SessionCodeUse(ctx, tx, dbq.SessionCodeUseParams{PortalID: portalID, Code: code})
	if store.IsNotFound(err) {
		return route{}, failure.NotFoundWhy("session code", "it is unknown, already used or expired; ask your advisor for a new one")
	}
	if err != nil {
		return route{}, fmt.Errorf("use code: %w", err)
	}
	a, err := s.store.Q.AdvisorGet(ctx, tx, row.AdvisorID)
	if err != nil {
		return route{}, fmt.Errorf("load advisor: %w", err)
	}
	return route{advisorID: &row.AdvisorID, advisorName: a.DisplayName}, nil
}

// onlineAdvisors lists a web-mode portal's advisors who are online.
func (s *Service) onlineAdvisors(ctx context.Context, portalID uuid.UUID) ([]*assistv1.OnlineAdvisor, error) {
	rows, err := s.store.Q.PortalOnlineAdvisors(ctx, s.store.Pool, portalID)
	if err != nil {
		return nil, fmt.Errorf("list online advisors: %w", err)
	}
	out := make([]*assistv1.OnlineAdvisor, 0, len(rows))
	for _, r := range rows {
		out = append(out, &assistv1.OnlineAdvisor{AdvisorId: r.ID.String(), DisplayName: r.DisplayName, Available: r.Available})
	}
	return out, nil
}

// RunPresence keeps this replica's advisors online until ctx ends.
func (s *Service) RunPresence(ctx context.Context) { s.presence.Run(ctx) }

// Presence keeps the advisors whose consoles watch the queue on this
// replica online, for web-mode portals on every replica: a row per watch,
// refreshed in one statement per interval for all of them.
type Presence struct {
	store *store.Store
	// ttl and refresh: presenceTTL and presenceRefresh, shorter in tests.
	ttl, refresh time.Duration
	mu           sync.Mutex
	open         map[uuid.UUID]uuid.UUID // watch → advisor
}

// NewPresence returns an empty presence keeper.
func NewPresence(s *store.Store) *Presence {
	return &Presence{store: s, ttl: presenceTTL, refresh: presenceRefresh, open: map[uuid.UUID]uuid.UUID{}}
}

// Join marks the advisor online until the returned leave is called.
func (pr *Presence) Join(ctx context.Context, advisorID uuid.UUID) (leave func(), err error) {
	watch := uuid.New()
	if err := pr.store.Q.AdvisorPresenceInsert(ctx, pr.store.Pool, dbq.AdvisorPresenceInsertParams{
		WatchID: watch, AdvisorID: advisorID, TtlSeconds: pr.ttl.Seconds(),
	}); err != nil {
		return nil, fmt.Errorf("mark advisor online: %w", err)
	}
	pr.mu.Lock()
	pr.open[watch] = advisorID
	pr.mu.Unlock()
	return func() {
		pr.mu.Lock()
		delete(pr.open, watch)
		pr.mu.Unlock()
		// The watch's context is over; a failed delete expires by itself.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = pr.store.Q.AdvisorPresenceDelete(ctx, pr.store.Pool, []uuid.UUID{watch})
	}, nil
}

// Run refreshes this replica's watches until ctx ends, and clears rows
// that replicas gone for good left behind.
func (pr *Presence) Run(ctx context.Context) {
	t := time.NewTicker(pr.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pr.mu.Lock()
		watches := make([]uuid.UUID, 0, len(pr.open))
		advisors := make([]uuid.UUID, 0, len(pr.open))
		for w, a := range pr.open {
			watches, advisors = append(watches, w), append(advisors, a)
		}
		pr.mu.Unlock()
		if len(watches) > 0 {
			_ = pr.store.Q.AdvisorPresenceRefresh(ctx, pr.store.Pool, dbq.AdvisorPresenceRefreshParams{WatchIds: watches, AdvisorIds: advisors, TtlSeconds: pr.ttl.Seconds()})
		}
		_ = pr.store.Q.AdvisorPresenceDeleteExpired(ctx, pr.store.Pool)
	}
}
