package api

import (
	"context"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/reports"
)

// reportHandler serves ReportService.
type reportHandler struct{ *Domain }

// reportFilter is the filter fields that ListSessionReports and
// ExportSessionReports share.
type reportFilter struct {
	from, to                       *timestamppb.Timestamp
	portalID, advisorID, sessionID string
	outcome                        assistv1.SessionOutcome
	kind                           assistv1.SessionKind
	query                          string
}

func (f reportFilter) decode() (reports.Filter, error) {
	out := reports.Filter{Outcome: f.outcome, Kind: f.kind, Query: f.query}
	optTime := func(ts *timestamppb.Timestamp) *time.Time {
		if ts == nil {
			return nil
		}
		t := ts.AsTime()
		return &t
	}
	out.EndFrom, out.EndTo = optTime(f.from), optTime(f.to)
	for _, id := range []struct {
		field, value string
		dst          **uuid.UUID
	}{
		{"portal_id", f.portalID, &out.PortalID},
		{"advisor_id", f.advisorID, &out.AdvisorID},
		{"session_id", f.sessionID, &out.SessionID},
	} {
		if id.value == "" {
			continue
		}
		u, err := parseID(id.field, id.value)
		if err != nil {
			return reports.Filter{}, err
		}
		*id.dst = &u
	}
	return out, nil
}

func (h reportHandler) ListSessionReports(ctx context.Context, req *assistv1.ListSessionReportsRequest) (*assistv1.ListSessionReportsResponse, error) {
	f, err := reportFilter{
		from: req.GetEndTimeFrom(), to: req.GetEndTimeTo(), portalID: req.GetPortalId(), advisorID: req.GetAdvisorId(),
		sessionID: req.GetSessionId(), outcome: req.GetOutcome(), kind: req.GetKind(), query: req.GetQuery(),
	}.decode()
	if err != nil {
		return nil, err
	}
	list, next, err := h.Reports.List(ctx, auth.FromContext(ctx), f, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return &assistv1.ListSessionReportsResponse{Reports: list, NextPageToken: next}, nil
}

func (h reportHandler) ListReportFilterOptions(ctx context.Context, _ *assistv1.ListReportFilterOptionsRequest) (*assistv1.ListReportFilterOptionsResponse, error) {
	portals, advisors, err := h.Reports.FilterOptions(ctx, auth.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	return &assistv1.ListReportFilterOptionsResponse{Portals: portals, Advisors: advisors}, nil
}

func (h reportHandler) GetSessionReport(ctx context.Context, req *assistv1.GetSessionReportRequest) (*assistv1.GetSessionReportResponse, error) {
	sid, err := parseID("session_id", req.GetSessionId())
	if err != nil {
		return nil, err
	}
	rep, err := h.Reports.Get(ctx, auth.FromContext(ctx), sid)
	if err != nil {
		return nil, err
	}
	return &assistv1.GetSessionReportResponse{Report: rep}, nil
}

// ExportSessionReports streams one CSV chunk per batch of reports the
// domain reads; the header goes with the first chunk, even when no report
// matches.
func (h reportHandler) ExportSessionReports(ctx context.Context, req *assistv1.ExportSessionReportsRequest, stream assistv1connect.ReportServiceExportSessionReportsServerStream) error {
	f, err := reportFilter{
		from: req.GetEndTimeFrom(), to: req.GetEndTimeTo(), portalID: req.GetPortalId(), advisorID: req.GetAdvisorId(),
		sessionID: req.GetSessionId(), outcome: req.GetOutcome(), kind: req.GetKind(), query: req.GetQuery(),
	}.decode()
	if err != nil {
		return err
	}
	enc := reports.NewCSVEncoder()
	sent := false
	err = h.Reports.Export(ctx, auth.FromContext(ctx), f, func(batch []*assistv1.SessionReport) error {
		for _, r := range batch {
			enc.Write(r)
		}
		if len(batch) == 0 && sent {
			return nil
		}
		sent = true
		return stream.Send(&assistv1.ExportSessionReportsResponse{Csv: enc.Take(), RowCount: int32(len(batch))})
	})
	return err
}
