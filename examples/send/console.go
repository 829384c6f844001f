package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/chat"
)

// console is an operator's line-mode console. What it shows is rebuilt
// from what the server says (ASSIGNED frames at every login, the history
// of each conversation, the line, the presence in WELCOME), so a
// reconnect loses nothing and repeats nothing.
type console struct {
	c       *chat.Client
	out     *printer
	mu      sync.Mutex
	current int64
	convs   map[int64]*consoleConv
	queue   []chat.QueueEntry
	total   int
}

// consoleConv is a conversation the operator serves.
type consoleConv struct {
	name, email string
	verified    bool
	leftMessage bool
}

func (k *console) handle(m chat.Message) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch m := m.(type) {
	case *chat.Queue:
		changed := m.Total != k.total
		k.queue, k.total = m.Entries, m.Total
		if changed && m.Total > 0 {
			k.out.line("* %d waiting (/queue to list, /accept to take the first)", m.Total)
		}
	case *chat.Assigned:
		_, known := k.convs[m.ConversationID]
		k.convs[m.ConversationID] = &consoleConv{name: m.CustomerName, email: m.Email, verified: m.Verified, leftMessage: m.LeftMessage}
		if k.current == 0 {
			k.current = m.ConversationID
		}
		if !known {
			k.out.line("* #%d %s is yours%s", m.ConversationID, k.describeLocked(m.ConversationID), k.marker(m.ConversationID))
		}
	case *chat.Post:
		switch {
		case m.SenderRole == chat.RoleSystem:
			k.out.line("[#%d] * %s", m.ConversationID, m.Text)
		case m.Kind == chat.PostAttachment:
			k.out.line("[#%d] %s sent %s (%s, %d bytes): /save %d", m.ConversationID, m.SenderName, m.FileName, m.MediaType, m.Size, m.AttachmentID)
		default:
			k.out.line("[#%d] %s: %s", m.ConversationID, m.SenderName, m.Text)
		}
	case *chat.Event:
		gone := m.Kind == chat.EventClosed || (m.Kind == chat.EventTransferred && m.OperatorID != k.c.OperatorID())
		if gone {
			delete(k.convs, m.ConversationID)
			if k.current == m.ConversationID {
				k.current = 0
			}
		}
		k.out.line("[#%d] * %s", m.ConversationID, describeEvent(m))
	case *chat.PresenceUpdate:
		k.out.line("* you are %s", presenceName(m.State))
	case *chat.Error:
		k.out.line("! %v", m)
	}
}

// describeLocked is "NAME <EMAIL> (verified)".
func (k *console) describeLocked(id int64) string {
	c := k.convs[id]
	if c == nil {
		return ""
	}
	s := c.name
	if c.email != "" {
		s += " <" + c.email + ">"
	}
	if c.verified {
		s += " (verified)"
	} else {
		s += " (identity not verified)"
	}
	if c.leftMessage {
		s += " (left a message)"
	}
	return s
}

func (k *console) marker(id int64) string {
	if id == k.current {
		return " (current)"
	}
	return ""
}

func presenceName(p chat.Presence) string {
	if p == chat.Away {
		return "away: no new customers"
	}
	return "available"
}

// runConsole is the operator console: commands start with '/', anything
// else is a reply to the current conversation. It ends with /quit, at
// the end of its input, or when ctx ends (SIGINT, SIGTERM).
func runConsole(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:7070", "chat server address")
	login := fs.String("login", "", "operator login (required)")
	password := fs.String("password", "", "password (default: $SWITCHBOARD_PASSWORD)")
	var tf tlsFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("console: unexpected arguments %q", fs.Args())
	}
	if *login == "" {
		return errors.New("console: -login is required")
	}
	if *password == "" {
		*password = os.Getenv("SWITCHBOARD_PASSWORD")
	}
	tlsConfig, err := tf.config(*addr)
	if err != nil {
		return err
	}
	k := &console{out: &printer{w: stdout}, convs: map[int64]*consoleConv{}}
	var ready sync.WaitGroup
	ready.Add(1)
	c, err := chat.Dial(ctx, *addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: *login, Password: *password,
		TLSConfig: tlsConfig, Reconnect: true, Client: "switchboard-console",
		Handler: func(m chat.Message) { ready.Wait(); k.handle(m) }})
	if err != nil {
		return err
	}
	defer c.Close()
	k.c = c
	k.out.line("logged in as %s (%s); /help for commands", c.OperatorID(), presenceName(c.Presence()))
	ready.Done()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			k.out.line("* leaving (your conversations wait for you)")
			return nil
		case <-c.Done():
			return c.Err()
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			if quit := k.command(ctx, strings.TrimSpace(line)); quit {
				return nil
			}
		}
	}
}

const consoleHelp = `/queue                  waiting customers
/accept [ID]            take a waiting customer (default: the one waiting longest)
/list                   your conversations
/switch ID              make ID the current conversation
/history [ID] [N]       show the last N messages again (default: current, 20)
/close [ID]             end a conversation (default: the current)
/transfer ID OPERATOR   hand a conversation to another operator
/away, /available       stop or resume taking new customers
/save ATTACHMENT [DIR]  save an attachment (default: .)
/transcript [ID] [json] save a transcript (default: current, text)
/quit                   leave (your conversations wait for you)
anything else           reply to the current conversation`

func (k *console) command(ctx context.Context, line string) (quit bool) {
	fields := strings.Fields(line)
	arg := func(i int) string {
		if i < len(fields) {
			return fields[i]
		}
		return ""
	}
	// conv is the conversation named by s, or the current one.
	conv := func(s string) int64 {
		if s == "" {
			k.mu.Lock()
			defer k.mu.Unlock()
			return k.current
		}
		n, _ := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
		return n
	}
	report := func(err error) {
		if err != nil {
			k.out.line("! %v", err)
		}
	}
	switch {
	case line == "":
	case line == "/help":
		k.out.line("%s", consoleHelp)
	case line == "/quit":
		return true
	case line == "/queue":
		k.mu.Lock()
		q, total := slices.Clone(k.queue), k.total
		k.mu.Unlock()
		if total == 0 {
			k.out.line("nobody is waiting")
		}
		for _, e := range q {
			k.out.line("#%d %s, waiting %s", e.ConversationID, e.CustomerName, time.Since(e.Since).Round(time.Second))
		}
		if total > len(q) {
			k.out.line("... and %d more", total-len(q))
		}
	case fields[0] == "/accept":
		var id int64 // the one waiting longest, unless named
		if arg(1) != "" {
			id = conv(arg(1))
		}
		a, err := k.c.Accept(ctx, id)
		if err == nil {
			k.mu.Lock()
			k.current = a.ConversationID
			k.mu.Unlock()
			k.out.line("* now talking with #%d %s", a.ConversationID, a.CustomerName)
		}
		report(err)
	case line == "/list":
		k.mu.Lock()
		ids := make([]int64, 0, len(k.convs))
		for id := range k.convs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if len(ids) == 0 {
			k.out.line("no conversations")
		}
		for _, id := range ids {
			k.out.line("#%d %s%s", id, k.describeLocked(id), k.marker(id))
		}
		k.mu.Unlock()
	case fields[0] == "/switch":
		n := conv(arg(1))
		k.mu.Lock()
		if _, ok := k.convs[n]; ok {
			k.current = n
			k.out.line("* now talking with #%d %s", n, k.describeLocked(n))
		} else {
			k.out.line("! #%d is not yours", n)
		}
		k.mu.Unlock()
	case fields[0] == "/history":
		id, n := conv(arg(1)), int64(20)
		if v, err := strconv.ParseInt(arg(2), 10, 64); err == nil && v > 0 {
			n = v
		}
		k.history(ctx, id, n)
	case fields[0] == "/close":
		report(k.c.CloseConversation(ctx, conv(arg(1))))
	case fields[0] == "/transfer":
		report(k.c.Transfer(ctx, conv(arg(1)), arg(2)))
	case line == "/away":
		report(k.c.SetPresence(chat.Away))
	case line == "/available":
		report(k.c.SetPresence(chat.Available))
	case fields[0] == "/save":
		if arg(1) == "" {
			k.out.line("! /save ATTACHMENT [DIR]")
			return false
		}
		id := conv(arg(1))
		k.save(cmpOr(arg(2), "."), func(w io.Writer) (*chat.FileStart, error) { return k.c.Fetch(ctx, id, w) })
	case fields[0] == "/transcript":
		format := chat.FormatText
		cid := conv(arg(1))
		if arg(1) == "json" {
			cid = conv("")
		}
		if arg(1) == "json" || arg(2) == "json" {
			format = chat.FormatJSON
		}
		k.save(".", func(w io.Writer) (*chat.FileStart, error) { return k.c.Transcript(ctx, cid, format, w) })
	case strings.HasPrefix(line, "/"):
		k.out.line("! unknown command; /help")
	default:
		cur := conv("")
		if cur == 0 {
			k.out.line("! no current conversation: /accept or /switch first")
			return false
		}
		if _, err := k.c.SendTo(ctx, cur, "", line); err != nil {
			k.out.line("! not sent: %v", err)
		}
	}
	return false
}

// history prints a conversation's last n messages again, from its JSON
// transcript.
func (k *console) history(ctx context.Context, id, n int64) {
	var buf strings.Builder
	if _, err := k.c.Transcript(ctx, id, chat.FormatText, &buf); err != nil {
		k.out.line("! %v", err)
		return
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	for _, l := range lines[max(0, len(lines)-int(n)):] {
		k.out.line("[#%d] %s", id, l)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// save downloads into dir under the name the server gives.
func (k *console) save(dir string, get func(io.Writer) (*chat.FileStart, error)) {
	var buf strings.Builder
	meta, err := get(&buf)
	if err != nil {
		k.out.line("! %v", err)
		return
	}
	path := filepath.Join(dir, chat.SanitizeFileName(meta.Name))
	if err := os.WriteFile(path, []byte(buf.String()), 0o644); err != nil {
		k.out.line("! %v", err)
		return
	}
	k.out.line("* saved %s (%d bytes)", path, meta.Size)
}
