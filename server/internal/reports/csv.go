package reports

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// CSVHeader is the header row of the export, one column per cell of
// CSVRow.
var CSVHeader = []string{
	"session_id", "portal", "kind", "outcome",
	"customer_name", "customer_email", "customer_problem", "customer_device", "customer_os",
	"lead_advisor", "lead_advisor_email", "other_advisors",
	"queue_time", "pick_up_time", "upgrade_offer_time", "opener_redeem_time",
	"screen_share_answer_time", "screen_share_accepted", "end_time",
	"wait_seconds", "handle_seconds", "notes",
}

// CSVRow is one report as CSV cells, before neutralisation.
func CSVRow(r *assistv1.SessionReport) []string {
	s := r.GetSession()
	var lead, leadEmail string
	var others []byte
	for _, p := range r.GetParticipants() {
		if p.GetRole() == assistv1.SessionAdvisorRole_SESSION_ADVISOR_ROLE_LEAD {
			lead, leadEmail = p.GetAdvisor().GetDisplayName(), p.GetAdvisor().GetEmail()
			continue
		}
		if len(others) > 0 {
			others = append(others, "; "...)
		}
		others = append(others, p.GetAdvisor().GetDisplayName()...)
	}
	accepted := ""
	if r.GetScreenShareAnswerTime() != nil {
		accepted = strconv.FormatBool(r.GetScreenShareAccepted())
	}
	return []string{
		s.GetId(), r.GetPortalSlug(), enumName(s.GetKind().String(), "SESSION_KIND_"), enumName(s.GetOutcome().String(), "SESSION_OUTCOME_"),
		s.GetCustomer().GetDisplayName(), s.GetCustomer().GetEmail(), s.GetCustomer().GetProblemDescription(),
		enumName(s.GetCustomerPlatform().GetDeviceType().String(), "DEVICE_TYPE_"),
		enumName(s.GetCustomerPlatform().GetOperatingSystem().String(), "OPERATING_SYSTEM_"),
		lead, leadEmail, string(others),
		csvTime(r.GetQueueTime()), csvTime(r.GetPickUpTime()), csvTime(r.GetUpgradeOfferTime()), csvTime(r.GetOpenerRedeemTime()),
		csvTime(r.GetScreenShareAnswerTime()), accepted, csvTime(r.GetEndTime()),
		csvSeconds(r.GetWaitDuration()), csvSeconds(r.GetHandleDuration()), r.GetNotes(),
	}
}

// Neutralise makes a cell safe to open in a spreadsheet: one that starts
// with a character that spreadsheets take for a formula (=, +, -, @, or a
// tab or carriage return that some strip before looking) gets a leading
// apostrophe, so it is shown as text and never run (OWASP, "CSV Injection").
func Neutralise(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}

// CSVEncoder writes rows as RFC 4180 CSV (CRLF line ends) into a buffer
// that the caller takes chunk by chunk.
type CSVEncoder struct {
	buf bytes.Buffer
	w   *csv.Writer
}

// NewCSVEncoder returns an encoder that has written the header row.
func NewCSVEncoder() *CSVEncoder {
	e := &CSVEncoder{}
	e.w = csv.NewWriter(&e.buf)
	e.w.UseCRLF = true
	e.write(CSVHeader)
	return e
}

func (e *CSVEncoder) write(cells []string) {
	for i, c := range cells {
		cells[i] = Neutralise(c)
	}
	_ = e.w.Write(cells) // writes to a bytes.Buffer, which cannot fail
}

// Write adds one report's row.
func (e *CSVEncoder) Write(r *assistv1.SessionReport) { e.write(CSVRow(r)) }

// Take returns what was written since the last Take, whole rows only.
func (e *CSVEncoder) Take() []byte {
	e.w.Flush()
	out := bytes.Clone(e.buf.Bytes())
	e.buf.Reset()
	return out
}

func enumName(name, prefix string) string {
	if len(name) > len(prefix) && name[:len(prefix)] == prefix {
		name = name[len(prefix):]
	}
	if name == "UNSPECIFIED" {
		return ""
	}
	return name
}

func csvTime(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

func csvSeconds(d *durationpb.Duration) string {
	if d == nil {
		return ""
	}
	return strconv.FormatInt(int64(d.AsDuration().Round(time.Second)/time.Second), 10)
}
