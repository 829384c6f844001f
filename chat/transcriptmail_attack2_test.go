package chat_test

import (
	"context"
	"fmt"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
)

// mailRecorder2 keeps every address a server mails a transcript to.
type mailRecorder2 struct {
	mu sync.Mutex
	to []string
}

func (r *mailRecorder2) send(_ context.Context, _ store.Transcript, to string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.to = append(r.to, to)
	return nil
}

func (r *mailRecorder2) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.to...)
}

// Many conversations of one address asking at the same moment: three
// mails an hour to the address, however the requests race.
func TestAttack2TranscriptLimitRace(t *testing.T) {
	ctx := testCtx(t)
	rec := &mailRecorder2{}
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.MailTranscript = rec.send }})
	defer srv.Close()
	const n = 12
	clients := make([]*chat.Client, n)
	for i := range n {
		c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "V", Email: []string{"victim@example.com", "VICTIM@example.com", " victim@EXAMPLE.com "}[i%3]})
		require.NoError(t, err)
		defer c.Close()
		clients[i] = c
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range clients {
		for range 3 { // three at once on each connection too
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				defer cancel()
				c.MailTranscript(cctx)
			}()
		}
	}
	close(start)
	wg.Wait()
	assert.LessOrEqual(t, len(rec.all()), chat.TranscriptMailsPerHour, "mails to one address: %v", rec.all())
}

// Spellings of one mailbox that RFC 5321/5322 and DNS treat as the same
// address each get their own three an hour: a quoted local part, a
// domain with its root dot, an IDN domain and its punycode.
func TestAttack2TranscriptAddressSpellings(t *testing.T) {
	ctx := testCtx(t)
	rec := &mailRecorder2{}
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.MailTranscript = rec.send }})
	defer srv.Close()
	spellings := []string{"victim@bücher.example", `"victim"@bücher.example`, "victim@bücher.example.", "victim@xn--bcher-kva.example",
		`"victim"@xn--bcher-kva.example.`, "victim@BÜCHER.example", "victim@bu\u0308cher.example"}
	for _, addr := range spellings {
		for range 3 {
			c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "V", Email: addr})
			require.NoError(t, err)
			c.MailTranscript(ctx)
			c.Close()
		}
	}
	mailbox := func(a string) string {
		local, domain, _ := strings.Cut(strings.ToLower(a), "@")
		local = strings.Trim(local, `"`)
		domain = strings.TrimSuffix(domain, ".")
		domain = strings.ReplaceAll(domain, "u\u0308", "ü")
		if domain == "xn--bcher-kva.example" {
			domain = "bücher.example"
		}
		return local + "@" + domain
	}
	count := map[string]int{}
	for _, to := range rec.all() {
		count[mailbox(to)]++
	}
	assert.LessOrEqual(t, count["victim@bücher.example"], chat.TranscriptMailsPerHour, "mails to one mailbox an hour: %q", rec.all())

	// Plus-addressing (a sub-address delivered to the same mailbox by most
	// providers) multiplies it without end.
	rec2 := &mailRecorder2{}
	srv2 := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.MailTranscript = rec2.send }})
	defer srv2.Close()
	for i := range 10 {
		c, err := chat.Dial(ctx, srv2.Addr, &chat.ClientOptions{Name: "V", Email: fmt.Sprintf("victim+%d@gmail.com", i)})
		require.NoError(t, err)
		c.MailTranscript(ctx)
		c.Close()
	}
	t.Logf("plus-addressed spellings of one gmail mailbox got %d transcripts in a moment (each spelling its own limit)", len(rec2.all()))
}

// The address a transcript goes to is one address, the conversation's:
// a customer cannot give a list, a display name or a route that makes
// the mailer write to others.
func TestAttack2TranscriptOneAddress(t *testing.T) {
	ctx := testCtx(t)
	rec := &mailRecorder2{}
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.MailTranscript = rec.send }})
	defer srv.Close()
	for _, addr := range []string{"ana@example.com, eve@evil.example", "ana@example.com;eve@evil.example", "Ana <eve@evil.example>",
		"eve@evil.example (ana@example.com)", "ana@example.com\r\nBcc: eve@evil.example", "@evil.example:ana@example.com", "ana@example.com>,<eve@evil.example",
		"a@", "@b", "ana@@example.com", "<>@x"} {
		c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "A", Email: addr})
		require.NoError(t, err, addr)
		c.MailTranscript(ctx)
		c.Close()
	}
	for _, to := range rec.all() {
		a, err := mail.ParseAddress(to)
		ok := err == nil && a.Name == "" && a.Address == to && !strings.ContainsAny(to, ",;<>()\r\n ")
		assert.True(t, ok, "a transcript mailed to %q", to)
	}
}

// Operators cannot have transcripts mailed, of their conversations or
// any other, nor can a customer for another conversation; downloads
// running at once are bounded and no goroutine is left.
func TestAttack2TranscriptOthersAndLeaks(t *testing.T) {
	ctx := testCtx(t)
	rec := &mailRecorder2{}
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw"},
		Configure: func(s *chat.Server) { s.MailTranscript = rec.send }})
	before := runtime.NumGoroutine()
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw"})
	require.NoError(t, err)
	ana, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Ana", Email: "ana@example.com"})
	require.NoError(t, err)
	eva, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: "Eva", Email: "eva@example.com"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := op.SendTo(ctx, ana.ConversationID(), "m1", "hola")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	for _, id := range []int64{ana.ConversationID(), eva.ConversationID(), 0, -1, 1 << 62} {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := op.Transcript(cctx, id, chat.FormatMail, nil)
		cancel()
		assert.Error(t, err, "operator, conversation %d", id)
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "operator, conversation %d: no answer", id)
		cctx, cancel = context.WithTimeout(ctx, 2*time.Second)
		_, err = eva.Transcript(cctx, id, chat.FormatMail, nil)
		cancel()
		t.Logf("eva asks for a mail of conversation %d: %v", id, err)
		if id == eva.ConversationID() || id == 0 {
			continue
		}
		assert.Error(t, err, "eva asks for conversation %d", id)
	}
	for _, to := range rec.all() {
		assert.Equal(t, "eva@example.com", to, "only eva's own conversation, to her")
	}
	// A flood of requests on one connection.
	var wg sync.WaitGroup
	var emu sync.Mutex
	errs := map[string]int{}
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			_, err := ana.MailTranscript(cctx)
			emu.Lock()
			errs[fmt.Sprint(err)]++
			emu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("answers to 50 requests at once: %v", errs)
	assert.Zero(t, errs[context.DeadlineExceeded.Error()], "requests never answered (the server's refusal \"at most 2 downloads at once\" carries conversation 0, which Client.MailTranscript does not take as its answer): %v", errs)
	n := 0
	for _, to := range rec.all() {
		if to == "ana@example.com" {
			n++
		}
	}
	assert.Equal(t, 1, n, "one a minute")
	op.Close()
	ana.Close()
	eva.Close()
	srv.Close()
	assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+2 }, 5*time.Second, 50*time.Millisecond,
		"goroutines: %d before, %d after", before, runtime.NumGoroutine())
}
