package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // the customer's time zone, whatever the host has installed

	"github.com/assist-chat/assist/server/internal/failure"
)

// ChatHistoryPath is where the customer's page posts "Save the chat
// history".
const ChatHistoryPath = "/chat-history"

// httpStatus maps a domain failure to the status a plain HTTP download
// answers with.
var httpStatus = map[failure.Kind]int{
	failure.KindInvalidArgument:    http.StatusBadRequest,
	failure.KindNotFound:           http.StatusNotFound,
	failure.KindPermissionDenied:   http.StatusForbidden,
	failure.KindUnauthenticated:    http.StatusUnauthorized,
	failure.KindFailedPrecondition: http.StatusConflict,
	failure.KindResourceExhausted:  http.StatusTooManyRequests,
	failure.KindUnavailable:        http.StatusServiceUnavailable,
}

// ChatHistoryHandler serves "Save the chat history": a form POST (so the
// customer's token travels in the body, never in a URL that logs keep)
// with the fields token, session_id, lang ("en" or "fr") and time_zone (an
// IANA name; UTC if unknown). It answers the .txt file as an attachment.
func ChatHistoryHandler(d *Domain) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form could not be read", http.StatusBadRequest)
			return
		}
		ctx := r.Context()
		sid, err := parseID("session_id", r.PostForm.Get("session_id"))
		if err != nil {
			d.httpFail(w, r, err)
			return
		}
		token := r.PostForm.Get("token")
		if token == "" {
			d.httpFail(w, r, failure.Unauthenticated("missing token"))
			return
		}
		p, err := d.Auth.Resolve(ctx, token)
		if err != nil {
			d.httpFail(w, r, err)
			return
		}
		loc, err := time.LoadLocation(r.PostForm.Get("time_zone"))
		if err != nil || r.PostForm.Get("time_zone") == "" {
			loc = time.UTC
		}
		lang := "en"
		if strings.HasPrefix(r.PostForm.Get("lang"), "fr") {
			lang = "fr"
		}
		t, err := d.Conversation.ChatHistory(ctx, p, sid, lang, loc)
		if err != nil {
			d.httpFail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", t.FileName))
		_, _ = w.Write([]byte(t.Text))
	})
}

func (d *Domain) httpFail(w http.ResponseWriter, r *http.Request, err error) {
	if fe, ok := failure.As(err); ok {
		if status, ok := httpStatus[fe.Kind]; ok {
			http.Error(w, fe.Error(), status)
			return
		}
	}
	d.Logger.ErrorContext(r.Context(), "internal error", "path", r.URL.Path, "error", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}
