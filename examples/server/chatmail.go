package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
)

// transcriptMailer mails customers the transcripts they ask for in the
// chat (chat.Server.MailTranscript) through sender, from our address.
func transcriptMailer(sender mailticket.Sender, from string) func(context.Context, store.Transcript, string) error {
	return func(ctx context.Context, t store.Transcript, to string) error {
		msg, err := transcriptMail(from, to, t, time.Now())
		if err != nil {
			return err
		}
		return sender.Send(ctx, from, []string{to}, msg)
	}
}

// transcriptMail is the mail of a transcript: plain UTF-8 text (quoted-
// printable), marked automatic (Auto-Submitted) so that the customer's
// own auto-responder does not answer it.
func transcriptMail(from, to string, t store.Transcript, now time.Time) ([]byte, error) {
	var body bytes.Buffer
	body.WriteString("Here is the conversation you asked for. You (or someone who gave this address in our chat) asked for it;\r\nif it was not you, ignore this mail.\r\n\r\n")
	var text bytes.Buffer
	if err := chat.WriteTranscriptText(&text, t); err != nil {
		return nil, err
	}
	body.WriteString(strings.ReplaceAll(strings.ReplaceAll(text.String(), "\r\n", "\n"), "\n", "\r\n"))
	id := make([]byte, 12)
	rand.Read(id)
	domain := "localhost"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}
	var m bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&m, "%s: %s\r\n", k, v) }
	header("From", (&mail.Address{Name: "Support", Address: from}).String())
	header("To", (&mail.Address{Address: to}).String())
	header("Subject", mime.QEncoding.Encode("utf-8", fmt.Sprintf("Your conversation of %s (#%d)",
		t.Conversation.OpenedAt.Format("2006-01-02"), t.Conversation.ID)))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<chat-"+hex.EncodeToString(id)+"@"+domain+">")
	header("Auto-Submitted", "auto-generated")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	m.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&m)
	if _, err := qp.Write(body.Bytes()); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return m.Bytes(), nil
}
