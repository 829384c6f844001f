package chat

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// TranscriptMailsPerHour bounds the transcripts mailed for one
// conversation, and to one address, in an hour (see
// Server.MailTranscript); one conversation gets at most one a minute.
const TranscriptMailsPerHour = 3

// mailLimits counts the transcripts mailed in the last hour by
// conversation and by address. Entries older than an hour go as new ones
// come, so it holds at most an hour's requests.
type mailLimits struct {
	mu     sync.Mutex
	byConv map[int64][]time.Time
	byAddr map[string][]time.Time
	swept  time.Time
}

// take records a mail for conversation id to addr at now, or says why
// not ("" when taken).
func (l *mailLimits) take(id int64, addr string, now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byConv == nil {
		l.byConv, l.byAddr = map[int64][]time.Time{}, map[string][]time.Time{}
	}
	hourAgo := now.Add(-time.Hour)
	if now.Sub(l.swept) > time.Minute {
		for k, ts := range l.byConv {
			if ts[len(ts)-1].Before(hourAgo) {
				delete(l.byConv, k)
			}
		}
		for k, ts := range l.byAddr {
			if ts[len(ts)-1].Before(hourAgo) {
				delete(l.byAddr, k)
			}
		}
		l.swept = now
	}
	recent := func(ts []time.Time) []time.Time {
		for len(ts) > 0 && ts[0].Before(hourAgo) {
			ts = ts[1:]
		}
		return ts
	}
	conv, to := recent(l.byConv[id]), recent(l.byAddr[addr])
	switch {
	case len(conv) > 0 && now.Sub(conv[len(conv)-1]) < time.Minute:
		return "one transcript a minute"
	case len(conv) >= TranscriptMailsPerHour || len(to) >= TranscriptMailsPerHour:
		return "enough transcripts mailed for now; try again in an hour"
	}
	l.byConv[id], l.byAddr[addr] = append(conv, now), append(to, now)
	return ""
}

// mailTranscript answers a TRANSCRIPT of FormatMail with a customer's
// transcript t (as the customer sees it), on the download's goroutine.
func (s *Server) mailTranscript(ctx context.Context, c *conn, t store.Transcript) {
	id := t.Conversation.ID
	to := strings.ToLower(strings.TrimSpace(t.Conversation.CustomerEmail))
	switch {
	case s.MailTranscript == nil || !c.has(CapMail):
		c.refuse(CodeUnsupported, "transcripts by e-mail are not offered here", id, "")
		return
	case c.op != nil:
		c.refuse(CodeForbidden, "operators download transcripts", id, "")
		return
	case to == "" || !strings.Contains(to, "@"):
		c.refuse(CodeConflict, "the conversation has no e-mail address", id, "")
		return
	}
	if why := s.mailed.take(id, to, time.Now()); why != "" {
		c.refuse(CodeRateLimited, why, id, "")
		return
	}
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.MailTranscript(mctx, t, to); err != nil {
		s.logf("transcript mail failed", "conversation", id, "err", err)
		c.refuse(CodeInternal, "the transcript could not be mailed; try again later", id, "")
		return
	}
	c.send(&Event{ConversationID: id, Kind: EventMailed, Text: maskAddress(to), Time: time.Now()})
}

// maskAddress hides most of an address's local part: a***@example.com.
func maskAddress(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	return addr[:1] + "***" + addr[at:]
}

// MailTranscript asks the server to mail the customer's conversation
// transcript to the address the conversation has, and waits for the
// answer: the address, partly hidden, or the server's *Error
// (CodeUnsupported where it is not offered, CodeRateLimited past the
// limits, CodeConflict without an address).
func (c *Client) MailTranscript(ctx context.Context) (string, error) {
	conv := c.ConversationID()
	refused := errorFor(conv)
	m, err := c.await(ctx, &TranscriptRequest{ConversationID: conv, Format: FormatMail, TransferID: c.transferID()}, func(m Message) bool {
		e, ok := m.(*Event)
		return (ok && e.ConversationID == conv && e.Kind == EventMailed) || refused(m)
	})
	if err != nil {
		return "", err
	}
	return m.(*Event).Text, nil
}
