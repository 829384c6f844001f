package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// The checks and defaults every ChatStore applies to the records it is
// given. The stores of this module use them; an implementation elsewhere
// (chattest.MemStore is one) calls them to keep the same contract. Times
// are normalized to what the stores keep: UTC, microseconds.

// PrepareConversation checks a new conversation (its state, if set),
// cleans the customer's name, id and e-mail (CleanLine) and fills in its
// defaults: waiting, opened now.
func PrepareConversation(c *Conversation) error {
	c.CustomerName, c.CustomerID, c.CustomerEmail = CleanLine(c.CustomerName), CleanLine(c.CustomerID), CleanLine(c.CustomerEmail)
	switch c.State {
	case "":
		c.State = ConversationWaiting
	case ConversationWaiting, ConversationActive, ConversationClosed:
	default:
		return invalidf("conversation state %q", c.State)
	}
	c.OpenedAt = timeOrNow(c.OpenedAt)
	c.AssignedAt = storedTime(c.AssignedAt)
	c.ClosedAt = storedTime(c.ClosedAt)
	return nil
}

// PrepareMessage checks a message to append (its sender role, its kind,
// an attachment message's attachment), cleans its text (CleanText) and
// sender id (CleanLine), and fills in its defaults: kind text, created
// now.
func PrepareMessage(m *Message) error {
	m.Text, m.SenderID = CleanText(m.Text), CleanLine(m.SenderID)
	switch m.SenderRole {
	case RoleCustomer, RoleOperator, RoleSystem:
	default:
		return invalidf("sender role %q", m.SenderRole)
	}
	switch m.Kind {
	case "":
		m.Kind = KindText
	case KindText, KindSystem:
	case KindAttachment:
		if m.AttachmentID == 0 {
			return invalidf("attachment message without attachment id")
		}
	default:
		return invalidf("message kind %q", m.Kind)
	}
	m.CreatedAt = timeOrNow(m.CreatedAt)
	return nil
}

// PrepareAttachment checks a chat attachment (its conversation, a SHA-256
// the caller gave, in any case), cleans its name (CleanLine) and sets its
// size, its lowercase hex digest and, when unset, its time.
func PrepareAttachment(a *Attachment) error {
	a.Name = CleanLine(a.Name)
	if a.ConversationID == 0 {
		return invalidf("attachment without conversation")
	}
	s := sha256.Sum256(a.Data)
	sum := hex.EncodeToString(s[:])
	if a.SHA256 != "" && !strings.EqualFold(a.SHA256, sum) {
		return invalidf("attachment %q: sha256 %s does not match its data (%s)", a.Name, a.SHA256, sum)
	}
	a.SHA256 = sum
	a.Size = int64(len(a.Data))
	a.CreatedAt = timeOrNow(a.CreatedAt)
	return nil
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

func timeOrNow(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return storedTime(t)
}
