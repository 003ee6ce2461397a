// Package reports holds the rules of session reports: who may read them,
// which sessions a filter selects, what a report says (advisors,
// milestones, durations) and its chat log, read from the session log like
// every other surface.
package reports

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/sessions"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// DefaultPageSize is the page size when a request asks for 0.
const DefaultPageSize = 50

// exportBatch is how many reports the export reads per query: memory stays
// flat whatever the number of rows.
const exportBatch = 500

// Service reads session reports.
type Service struct {
	store *store.Store
	log   *sessionlog.Log
}

// NewService returns the report rules over the store and the session log.
func NewService(s *store.Store, l *sessionlog.Log) *Service {
	return &Service{store: s, log: l}
}

// Filter selects reports. Zero fields select everything; the account is
// never part of it: it always comes from the caller.
type Filter struct {
	EndFrom, EndTo *time.Time
	PortalID       *uuid.UUID
	AdvisorID      *uuid.UUID
	Outcome        assistv1.SessionOutcome
	Kind           assistv1.SessionKind
	// Query is searched, ignoring case, in the customer's name and e-mail.
	Query     string
	SessionID *uuid.UUID
}

// Authorize fails unless p may read the reports of its account: advisors
// with report access, admins, and API keys with the REPORTS_READ scope.
func Authorize(p *auth.Principal) error {
	if p == nil {
		return failure.Unauthenticated("missing credentials")
	}
	switch p.Kind {
	case auth.KindAdvisor:
		if p.ReportAccess || p.Admin {
			return nil
		}
		return failure.PermissionDenied("this advisor has no access to session reports")
	case auth.KindIntegration:
		if p.HasScope(assistv1.ApiKeyScope_API_KEY_SCOPE_REPORTS_READ) {
			return nil
		}
		return failure.PermissionDenied("this API key lacks the REPORTS_READ scope")
	}
	return failure.PermissionDenied("only advisors with report access and API keys with REPORTS_READ may read reports")
}

// Get returns one ended session's report with its whole chat log.
func (s *Service) Get(ctx context.Context, p *auth.Principal, sessionID uuid.UUID) (*assistv1.SessionReport, error) {
	if err := Authorize(p); err != nil {
		return nil, err
	}
	row, err := s.store.Q.ReportGet(ctx, s.store.Pool, dbq.ReportGetParams{ID: sessionID, AccountID: p.AccountID})
	if store.IsNotFound(err) {
		return nil, failure.NotFound("session")
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if assistv1.SessionState(row.Session.State) != assistv1.SessionState_SESSION_STATE_ENDED {
		return nil, failure.FailedPrecondition("the session has not ended yet: its report exists once it ends")
	}
	chatLog, err := s.log.ReadAll(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	reps, err := s.build(ctx, p.AccountID, []listed{{row.Session, row.PortalSlug}}, map[uuid.UUID][]*assistv1.SessionEvent{sessionID: chatLog})
	if err != nil {
		return nil, err
	}
	reps[0].ChatLog = chatLog
	return reps[0], nil
}

// List returns a page of the account's reports matching f, newest first,
// without chat logs, and the token of the next page ("" on the last).
func (s *Service) List(ctx context.Context, p *auth.Principal, f Filter, pageSize int32, pageToken string) ([]*assistv1.SessionReport, string, error) {
	if err := Authorize(p); err != nil {
		return nil, "", err
	}
	if err := f.check(); err != nil {
		return nil, "", err
	}
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	var after *cursor
	if pageToken != "" {
		c, err := decodePageToken(pageToken, f)
		if err != nil {
			return nil, "", err
		}
		after = &c
	}
	rows, err := s.page(ctx, p.AccountID, f, after, pageSize+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(rows) > int(pageSize) {
		rows = rows[:pageSize]
		last := rows[len(rows)-1].session
		next = encodePageToken(cursor{EndTime: *last.EndTime, ID: last.ID}, f)
	}
	reps, err := s.build(ctx, p.AccountID, rows, nil)
	if err != nil {
		return nil, "", err
	}
	return reps, next, nil
}

// Export calls write with batches of the account's reports matching f,
// newest first, until all are written; it reads one batch at a time.
func (s *Service) Export(ctx context.Context, p *auth.Principal, f Filter, write func([]*assistv1.SessionReport) error) error {
	if err := Authorize(p); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	var after *cursor
	for {
		rows, err := s.page(ctx, p.AccountID, f, after, exportBatch)
		if err != nil {
			return err
		}
		reps, err := s.build(ctx, p.AccountID, rows, nil)
		if err != nil {
			return err
		}
		if err := write(reps); err != nil {
			return err
		}
		if len(rows) < exportBatch {
			return nil
		}
		last := rows[len(rows)-1].session
		after = &cursor{EndTime: *last.EndTime, ID: last.ID}
	}
}

func (f Filter) check() error {
	if !store.TextOK(f.Query) {
		return failure.InvalidArgument("query", "must not contain NUL characters")
	}
	if f.EndFrom != nil && f.EndTo != nil && !f.EndFrom.Before(*f.EndTo) {
		return failure.InvalidArgument("end_time_to", "must be after end_time_from")
	}
	return nil
}

// listed is a session row with its portal's slug.
type listed struct {
	session    dbq.Session
	portalSlug string
}

func (s *Service) page(ctx context.Context, account uuid.UUID, f Filter, after *cursor, limit int32) ([]listed, error) {
	params := dbq.ReportListParams{
		AccountID:    account,
		EndFrom:      f.EndFrom,
		EndTo:        f.EndTo,
		PortalID:     f.PortalID,
		AdvisorID:    f.AdvisorID,
		Outcome:      int16(f.Outcome),
		Kind:         int16(f.Kind),
		QueryPattern: likePattern(f.Query),
		SessionID:    f.SessionID,
		PageLimit:    limit,
	}
	if after != nil {
		params.BeforeEndTime, params.BeforeID = &after.EndTime, after.ID
	}
	rows, err := s.store.Q.ReportList(ctx, store.CustomPlan(s.store.Pool), params)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	out := make([]listed, len(rows))
	for i, r := range rows {
		out[i] = listed{r.Session, r.PortalSlug}
	}
	return out, nil
}

// likePattern turns a search text into an ILIKE "contains" pattern, with
// LIKE's own characters taken literally; "" matches everything.
func likePattern(q string) string {
	q = strings.TrimSpace(q)
	if q == "" {
		return ""
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// build turns session rows into reports: advisors and milestones for the
// whole batch in two queries. logs, when given, holds complete logs
// already read (GetSessionReport), so they are not read twice.
func (s *Service) build(ctx context.Context, account uuid.UUID, rows []listed, logs map[uuid.UUID][]*assistv1.SessionEvent) ([]*assistv1.SessionReport, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.session.ID
	}
	advRows, err := s.store.Q.ReportSessionAdvisors(ctx, s.store.Pool, ids)
	if err != nil {
		return nil, fmt.Errorf("load advisors: %w", err)
	}
	members := map[uuid.UUID][]dbq.ReportSessionAdvisorsRow{}
	for _, a := range advRows {
		members[a.SessionID] = append(members[a.SessionID], a)
	}
	events := logs
	if events == nil {
		events = map[uuid.UUID][]*assistv1.SessionEvent{}
		evRows, err := s.store.Q.ReportMilestoneEvents(ctx, s.store.Pool, ids)
		if err != nil {
			return nil, fmt.Errorf("load milestones: %w", err)
		}
		for _, r := range evRows {
			ev := new(assistv1.SessionEvent)
			if err := proto.Unmarshal(r.Event, ev); err != nil {
				return nil, fmt.Errorf("decode event %s/%d: %w", r.SessionID, r.Seq, err)
			}
			events[r.SessionID] = append(events[r.SessionID], ev)
		}
	}
	ms := make(map[uuid.UUID]milestones, len(rows))
	var missing []uuid.UUID // earlier leads no longer among the session's advisors
	for _, r := range rows {
		m := milestonesOf(events[r.session.ID])
		ms[r.session.ID] = m
		for _, id := range m.earlierLeads {
			if !hasAdvisor(members[r.session.ID], id) {
				missing = append(missing, id)
			}
		}
	}
	extra := map[uuid.UUID]dbq.Advisor{}
	if len(missing) > 0 {
		advs, err := s.store.Q.ReportAdvisorsByID(ctx, s.store.Pool, dbq.ReportAdvisorsByIDParams{AccountID: account, Ids: missing})
		if err != nil {
			return nil, fmt.Errorf("load earlier leads: %w", err)
		}
		for _, a := range advs {
			extra[a.ID] = a
		}
	}
	out := make([]*assistv1.SessionReport, len(rows))
	for i, r := range rows {
		out[i] = report(r, members[r.session.ID], ms[r.session.ID], extra)
	}
	return out, nil
}

func hasAdvisor(rows []dbq.ReportSessionAdvisorsRow, id uuid.UUID) bool {
	for _, r := range rows {
		if r.Advisor.ID == id {
			return true
		}
	}
	return false
}

// milestones are what a report takes from the session log where the
// session row has no column.
type milestones struct {
	upgradeOffer, openerRedeem, screenShareAnswer *timestamppb.Timestamp
	screenShareAccepted                           bool
	// earlierLeads are the advisors who transferred the session away, in
	// order.
	earlierLeads []uuid.UUID
}

// milestonesOf reads the first upgrade offer, opener redemption and screen
// share answer, and every transfer, from a session's events.
func milestonesOf(events []*assistv1.SessionEvent) milestones {
	var m milestones
	for _, ev := range events {
		switch pl := ev.GetPayload().(type) {
		case *assistv1.SessionEvent_UpgradeOffered:
			if m.upgradeOffer == nil {
				m.upgradeOffer = ev.GetCreateTime()
			}
		case *assistv1.SessionEvent_OpenerRedeemed:
			if m.openerRedeem == nil {
				m.openerRedeem = ev.GetCreateTime()
			}
		case *assistv1.SessionEvent_ScreenShareAnswered:
			if m.screenShareAnswer == nil {
				m.screenShareAnswer = ev.GetCreateTime()
				m.screenShareAccepted = pl.ScreenShareAnswered.GetAccepted()
			}
		case *assistv1.SessionEvent_SessionTransferred:
			if id, err := uuid.Parse(pl.SessionTransferred.GetFromAdvisor().GetId()); err == nil {
				m.earlierLeads = append(m.earlierLeads, id)
			}
		}
	}
	return m
}

func report(r listed, members []dbq.ReportSessionAdvisorsRow, m milestones, extra map[uuid.UUID]dbq.Advisor) *assistv1.SessionReport {
	sess := r.session
	earlier := map[uuid.UUID]bool{}
	for _, id := range m.earlierLeads {
		earlier[id] = true
	}
	var invited []uuid.UUID
	rep := &assistv1.SessionReport{
		Notes:      sess.Notes,
		PortalSlug: r.portalSlug,
		QueueTime:  timestamppb.New(sess.CreateTime),
	}
	add := func(a dbq.Advisor, role assistv1.SessionAdvisorRole) {
		pa := advisorProto(a)
		rep.Advisors = append(rep.Advisors, pa)
		rep.Participants = append(rep.Participants, &assistv1.SessionReportAdvisor{Advisor: pa, Role: role})
	}
	// members come lead first, then by join time.
	for _, mb := range members {
		switch {
		case mb.Lead:
			add(mb.Advisor, assistv1.SessionAdvisorRole_SESSION_ADVISOR_ROLE_LEAD)
		case earlier[mb.Advisor.ID]:
			add(mb.Advisor, assistv1.SessionAdvisorRole_SESSION_ADVISOR_ROLE_EARLIER_LEAD)
		default:
			invited = append(invited, mb.Advisor.ID)
			add(mb.Advisor, assistv1.SessionAdvisorRole_SESSION_ADVISOR_ROLE_INVITED)
		}
	}
	seen := map[uuid.UUID]bool{}
	for _, id := range m.earlierLeads {
		if a, ok := extra[id]; ok && !seen[id] {
			seen[id] = true
			add(a, assistv1.SessionAdvisorRole_SESSION_ADVISOR_ROLE_EARLIER_LEAD)
		}
	}
	rep.Session = sessions.ToProto(sess, invited)
	if sess.PickUpTime != nil {
		rep.PickUpTime = timestamppb.New(*sess.PickUpTime)
	}
	if sess.EndTime != nil {
		rep.EndTime = timestamppb.New(*sess.EndTime)
	}
	rep.UpgradeOfferTime, rep.OpenerRedeemTime, rep.ScreenShareAnswerTime = m.upgradeOffer, m.openerRedeem, m.screenShareAnswer
	rep.ScreenShareAccepted = m.screenShareAccepted
	rep.WaitDuration, rep.HandleDuration = durations(sess)
	return rep
}

// durations are the waiting time (queued until picked up, or until the end
// for a session nobody picked up) and the handling time (picked up until
// the end; unset if nobody picked it up).
func durations(s dbq.Session) (wait, handle *durationpb.Duration) {
	switch {
	case s.PickUpTime != nil:
		wait = durationpb.New(s.PickUpTime.Sub(s.CreateTime))
		if s.EndTime != nil {
			handle = durationpb.New(s.EndTime.Sub(*s.PickUpTime))
		}
	case s.EndTime != nil:
		wait = durationpb.New(s.EndTime.Sub(s.CreateTime))
	}
	return wait, handle
}

func advisorProto(a dbq.Advisor) *assistv1.Advisor {
	return &assistv1.Advisor{
		Id: a.ID.String(), AccountId: a.AccountID.String(), Email: a.Email,
		DisplayName: a.DisplayName, ReportAccess: a.ReportAccess, Admin: a.Admin,
		Disabled: a.Disabled, CreateTime: timestamppb.New(a.CreateTime),
	}
}
