package assist

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// maxMessageChars is the longest text the server accepts (ChatSend.text).
const maxMessageChars = 4000

// SendMessage stores text as a chat message in the session and returns the
// stored event. It picks one client message id and retries transient
// failures (see RetryPolicy) with it, so however often the message is
// retried, the session's log holds it once: the server answers a repeated
// id with the event it stored the first time.
func (c *Client) SendMessage(ctx context.Context, sessionID, text string) (*assistv1.SessionEvent, error) {
	return c.SendMessageWithID(ctx, sessionID, uuid.NewString(), text)
}

// SendMessageWithID is SendMessage with the caller's client message id:
// an app that persists its outbox passes the id it saved with the message,
// so that a send retried after the app restarts is not stored twice.
// Reusing an id for a different text fails with AlreadyExists.
func (c *Client) SendMessageWithID(ctx context.Context, sessionID, clientMessageID, text string) (*assistv1.SessionEvent, error) {
	req := &assistv1.SendRequest{
		SessionId: sessionID,
		Content: &assistv1.SendRequest_Message{Message: &assistv1.ChatSend{
			ClientMessageId: clientMessageID,
			Text:            text,
		}},
	}
	var res *assistv1.SendResponse
	err := c.retry.retry(ctx, func(ctx context.Context) error {
		var err error
		res, err = c.Chat.Send(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res.GetEvent(), nil
}

// checkText refuses a text the server would refuse, without a round trip.
func checkText(text string) error {
	if strings.TrimFunc(text, unicode.IsSpace) == "" {
		return connect.NewError(connect.CodeInvalidArgument, "text must not be empty or only blanks")
	}
	if utf8.RuneCountInString(text) > maxMessageChars {
		return connect.Errorf(connect.CodeInvalidArgument, "text is longer than %d characters", maxMessageChars)
	}
	return nil
}

// checkClientMessageID refuses an id the server would refuse (see
// ChatSend.client_message_id), for the same reason as checkText.
func checkClientMessageID(id string) error {
	if id == "" || len(id) > 64 {
		return connect.NewError(connect.CodeInvalidArgument, "client message id must have 1 to 64 characters")
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r)) {
			return connect.Errorf(connect.CodeInvalidArgument, "client message id may only hold letters, digits and . _ : - (found %q)", r)
		}
	}
	return nil
}
