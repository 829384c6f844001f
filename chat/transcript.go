package chat

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-go/switchboard/store"
)

// TranscriptFileName names an exported transcript the way the support
// desk filed them: "Customer NAME DATE.ext" (the date the conversation
// opened, UTC), with the name sanitized.
func TranscriptFileName(t store.Transcript, ext string) string {
	// A path separator in a name is part of the name, not a directory.
	name := strings.NewReplacer("/", "-", "\\", "-").Replace(store.CleanLine(t.Conversation.CustomerName))
	if name == "" {
		name = fmt.Sprintf("conversation %d", t.Conversation.ID)
	}
	for len(name) > 64 { // room for the date and the extension
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return SanitizeFileName(fmt.Sprintf("Customer %s %s.%s", name, t.Conversation.OpenedAt.UTC().Format("2006-01-02"), ext))
}

// WriteTranscriptText writes a conversation as readable text: a header,
// then one line per message with its time and author. Nothing a
// participant typed can start a line: names are cleaned to one line and
// the continuation lines of a text are indented.
func WriteTranscriptText(w io.Writer, t store.Transcript) error {
	c := t.Conversation
	c.CustomerName, c.CustomerEmail, c.CustomerID = store.CleanLine(c.CustomerName), store.CleanLine(c.CustomerEmail), store.CleanLine(c.CustomerID)
	var b strings.Builder
	fmt.Fprintf(&b, "Conversation %d with %s", c.ID, c.CustomerName)
	if c.CustomerEmail != "" {
		fmt.Fprintf(&b, " <%s>", c.CustomerEmail)
	}
	if c.CustomerID != "" {
		fmt.Fprintf(&b, " (customer %s)", c.CustomerID)
	}
	fmt.Fprintf(&b, "\nOpened %s", c.OpenedAt.UTC().Format(time.RFC3339))
	if !c.ClosedAt.IsZero() {
		fmt.Fprintf(&b, ", closed %s", c.ClosedAt.UTC().Format(time.RFC3339))
	}
	b.WriteString("\n\n")
	names := map[int64]store.Attachment{}
	for _, a := range t.Attachments {
		names[a.ID] = a
	}
	for _, m := range t.Messages {
		who := store.CleanLine(m.SenderID)
		switch m.SenderRole {
		case store.RoleCustomer:
			who = c.CustomerName
		case store.RoleSystem:
			who = "*"
		}
		text := m.Text
		if m.Kind == store.KindAttachment {
			a := names[m.AttachmentID]
			text = fmt.Sprintf("[file %s, %s, %d bytes, sha256 %s]", store.CleanLine(a.Name), a.MediaType, a.Size, a.SHA256)
		}
		text = store.CleanText(text)
		fmt.Fprintf(&b, "[%s] %s: %s\n", m.CreatedAt.UTC().Format("2006-01-02 15:04:05"), who,
			strings.ReplaceAll(text, "\n", "\n    "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTranscriptJSON writes a conversation as one JSON object: the
// conversation, its messages in order, and its attachments' metadata.
func WriteTranscriptJSON(w io.Writer, t store.Transcript) error {
	type attachment struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		MediaType string `json:"media_type"`
		Size      int64  `json:"size"`
		SHA256    string `json:"sha256"`
	}
	type message struct {
		Seq          int64     `json:"seq"`
		Time         time.Time `json:"time"`
		Role         string    `json:"role"`
		Sender       string    `json:"sender,omitempty"`
		Kind         string    `json:"kind"`
		Text         string    `json:"text,omitempty"`
		AttachmentID int64     `json:"attachment_id,omitempty"`
	}
	c := t.Conversation
	out := struct {
		ID          int64        `json:"id"`
		Customer    any          `json:"customer"`
		Operator    string       `json:"operator,omitempty"`
		State       string       `json:"state"`
		Opened      time.Time    `json:"opened"`
		Assigned    *time.Time   `json:"assigned,omitempty"`
		Closed      *time.Time   `json:"closed,omitempty"`
		Messages    []message    `json:"messages"`
		Attachments []attachment `json:"attachments"`
	}{ID: c.ID, Customer: map[string]string{"name": c.CustomerName, "id": c.CustomerID, "email": c.CustomerEmail},
		Operator: c.OperatorID, State: string(c.State), Opened: c.OpenedAt.UTC(),
		Messages: []message{}, Attachments: []attachment{}}
	if !c.AssignedAt.IsZero() {
		a := c.AssignedAt.UTC()
		out.Assigned = &a
	}
	if !c.ClosedAt.IsZero() {
		cl := c.ClosedAt.UTC()
		out.Closed = &cl
	}
	for _, m := range t.Messages {
		out.Messages = append(out.Messages, message{Seq: m.Seq, Time: m.CreatedAt.UTC(), Role: string(m.SenderRole),
			Sender: m.SenderID, Kind: string(m.Kind), Text: m.Text, AttachmentID: m.AttachmentID})
	}
	for _, a := range t.Attachments {
		out.Attachments = append(out.Attachments, attachment{ID: a.ID, Name: a.Name, MediaType: a.MediaType, Size: a.Size, SHA256: a.SHA256})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
