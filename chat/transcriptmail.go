package chat

import (
	"context"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// TranscriptMailsPerHour bounds the transcripts mailed for one
// conversation, and to one mailbox, in an hour (see
// Server.MailTranscript); one conversation gets at most one a minute,
// and one network address three times as many an hour.
const TranscriptMailsPerHour = 3

// mailLimits counts the transcripts mailed in the last hour by
// conversation, mailbox and network address. Entries older than an hour
// go as new ones come, so it holds at most an hour's requests.
type mailLimits struct {
	mu    sync.Mutex
	times map[string][]time.Time // "c" conversation, "m" mailbox, "i" address
	swept time.Time
}

// take records a mail for conversation id to mailbox at now, asked from
// network address ip, or says why not ("" when taken).
func (l *mailLimits) take(id int64, mailbox, ip string, now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.times == nil {
		l.times = map[string][]time.Time{}
	}
	hourAgo := now.Add(-time.Hour)
	if now.Sub(l.swept) > time.Minute {
		for k, ts := range l.times {
			if ts[len(ts)-1].Before(hourAgo) {
				delete(l.times, k)
			}
		}
		l.swept = now
	}
	recent := func(k string) []time.Time {
		ts := l.times[k]
		for len(ts) > 0 && ts[0].Before(hourAgo) {
			ts = ts[1:]
		}
		return ts
	}
	conv, box, addr := "c"+strconv.FormatInt(id, 10), "m"+mailbox, "i"+ip
	c, m, a := recent(conv), recent(box), recent(addr)
	switch {
	case len(c) > 0 && now.Sub(c[len(c)-1]) < time.Minute:
		return "one transcript a minute"
	case len(c) >= TranscriptMailsPerHour || len(m) >= TranscriptMailsPerHour || len(a) >= 3*TranscriptMailsPerHour:
		return "enough transcripts mailed for now; try again in an hour"
	}
	l.times[conv], l.times[box], l.times[addr] = append(c, now), append(m, now), append(a, now)
	return ""
}

// mailbox checks that addr is one plain ASCII address, local@domain, and
// returns it as it is written to (to) and as the limits count it (key):
// case, a final dot in the domain and a +tag sub-address do not make
// another mailbox. Lists, display names, routes, quotes, comments and
// non-ASCII addresses are refused: the address is the customer's word.
func mailbox(addr string) (to, key string, ok bool) {
	to = strings.TrimSpace(addr)
	at := strings.LastIndexByte(to, '@')
	if at <= 0 || at == len(to)-1 || len(to) > 254 {
		return "", "", false
	}
	for i := 0; i < len(to); i++ {
		c := to[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`,;<>()[]\"':`, c) >= 0 {
			return "", "", false
		}
	}
	local, domain := to[:at], strings.TrimSuffix(strings.ToLower(to[at+1:]), ".")
	if strings.Contains(local, "@") || len(local) > 64 || domain == "" || strings.Contains(domain, "..") ||
		strings.HasPrefix(domain, ".") || !strings.Contains(domain, ".") {
		return "", "", false
	}
	to = local + "@" + domain
	if a, err := mail.ParseAddress(to); err != nil || a.Name != "" || a.Address != to {
		return "", "", false
	}
	base, _, _ := strings.Cut(strings.ToLower(local), "+")
	return to, base + "@" + domain, true
}

// mailTranscript answers a TRANSCRIPT of FormatMail with a customer's
// transcript t (as the customer sees it), on the download's goroutine.
func (s *Server) mailTranscript(ctx context.Context, c *conn, t store.Transcript) {
	id := t.Conversation.ID
	to, key, ok := mailbox(t.Conversation.CustomerEmail)
	switch {
	case s.MailTranscript == nil || !c.has(CapMail):
		c.refuse(CodeUnsupported, "transcripts by e-mail are not offered here", id, "")
		return
	case c.op != nil:
		c.refuse(CodeForbidden, "operators download transcripts", id, "")
		return
	case !ok:
		c.refuse(CodeConflict, "the conversation has no e-mail address that can be written to", id, "")
		return
	}
	if why := s.mailed.take(id, key, c.ip, time.Now()); why != "" {
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
