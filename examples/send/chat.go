package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/chat"
)

// printer serializes output lines from the client's handler and the
// command loop.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func describeEvent(e *chat.Event) string {
	switch e.Kind {
	case chat.EventQueued:
		return fmt.Sprintf("waiting for an operator, position %d", e.Position)
	case chat.EventAssigned:
		return e.OperatorName + " is serving you"
	case chat.EventTransferred:
		return "transferred to " + e.OperatorName
	case chat.EventClosed:
		return "conversation closed: " + e.Text
	case chat.EventAway:
		return e.Text
	case chat.EventBack:
		return "the other side is back"
	}
	return fmt.Sprintf("event %d", e.Kind)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runChat connects as a customer: it sends a message or a file, or, with
// no message and stdin a terminal, reads lines to send until EOF.
func runChat(ctx context.Context, args []string, stdin io.Reader, interactive bool, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:7070", "chat server address")
	name := fs.String("name", "", "your name (required)")
	email := fs.String("email", "", "your e-mail (or -id)")
	id := fs.String("id", "", "your customer id (or -email)")
	file := fs.String("file", "", "send this file (an image as evidence, a PDF...)")
	wait := fs.Duration("wait", 0, "after sending, print replies for this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: send chat -name NAME (-email E | -id ID) [-file PATH] [MESSAGE...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	out := &printer{w: stdout}
	closed := make(chan struct{})
	var closeOnce sync.Once
	c, err := chat.Dial(ctx, *addr, &chat.ClientOptions{Name: *name, Email: *email, CustomerID: *id, Reconnect: true,
		Client: "switchboard-send", Handler: func(m chat.Message) {
			switch m := m.(type) {
			case *chat.Post:
				if m.SenderRole == chat.RoleCustomer {
					return
				}
				if m.Kind == chat.PostAttachment {
					out.line("[%s] %s sent %s (%d bytes)", m.Time.Local().Format("15:04"), m.SenderName, m.FileName, m.Size)
				} else if m.SenderRole == chat.RoleSystem {
					out.line("* %s", m.Text)
				} else {
					out.line("[%s] %s: %s", m.Time.Local().Format("15:04"), m.SenderName, m.Text)
				}
			case *chat.Event:
				if m.Kind == chat.EventAssigned || m.Kind == chat.EventQueued {
					out.line("* %s", describeEvent(m))
				}
				if m.Kind == chat.EventClosed {
					closeOnce.Do(func() { close(closed) })
				}
			case *chat.Typing:
				if m.On {
					out.line("* typing...")
				}
			}
		}})
	if err != nil {
		return err
	}
	defer c.Close()
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := c.SendFile(ctx, 0, filepath.Base(*file), f, 10<<20, func(sent, total int64) {
			fmt.Fprintf(stderr, "\rsending %s: %d%%", filepath.Base(*file), sent*100/total)
		}); err != nil {
			fmt.Fprintln(stderr)
			return err
		}
		fmt.Fprintln(stderr)
		out.line("sent %s", filepath.Base(*file))
	}
	if fs.NArg() > 0 {
		if _, err := c.Send(ctx, strings.Join(fs.Args(), " ")); err != nil {
			return err
		}
	}
	if *file != "" || fs.NArg() > 0 {
		select {
		case <-time.After(*wait):
		case <-closed:
		case <-ctx.Done():
		}
		return nil
	}
	if interactive {
		out.line("connected (conversation %d); type messages, /file PATH to send a file, /close to end", c.ConversationID())
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-closed:
			return nil
		case <-c.Done():
			return c.Err()
		case line, ok := <-lines:
			if !ok {
				select { // stdin ended: let replies in flight arrive
				case <-time.After(*wait):
				case <-closed:
				}
				return nil
			}
			switch {
			case strings.TrimSpace(line) == "":
			case line == "/close":
				return c.CloseConversation(ctx, 0)
			case strings.HasPrefix(line, "/file "):
				path := strings.TrimSpace(strings.TrimPrefix(line, "/file "))
				f, err := os.Open(path)
				if err != nil {
					out.line("! %v", err)
					continue
				}
				_, err = c.SendFile(ctx, 0, filepath.Base(path), f, 10<<20, nil)
				f.Close()
				if err != nil {
					out.line("! %v", err)
				} else {
					out.line("sent %s", filepath.Base(path))
				}
			default:
				if _, err := c.Send(ctx, line); err != nil {
					out.line("! not sent: %v", err)
				}
			}
		}
	}
}

// console is an operator's line-mode console.
type console struct {
	c       *chat.Client
	out     *printer
	mu      sync.Mutex
	current int64
	names   map[int64]string
	queue   []chat.QueueEntry
}

func (k *console) handle(m chat.Message) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch m := m.(type) {
	case *chat.Queue:
		k.queue = m.Entries
		if m.Total > 0 {
			k.out.line("* %d waiting (/queue to list, /accept to take the first)", m.Total)
		}
	case *chat.Assigned:
		k.names[m.ConversationID] = m.CustomerName
		if k.current == 0 {
			k.current = m.ConversationID
		}
		k.out.line("* #%d %s <%s> is yours%s", m.ConversationID, m.CustomerName, m.Email, k.marker(m.ConversationID))
	case *chat.Post:
		who := m.SenderName
		switch {
		case m.SenderRole == chat.RoleSystem:
			k.out.line("[#%d] * %s", m.ConversationID, m.Text)
			return
		case m.Kind == chat.PostAttachment:
			k.out.line("[#%d] %s sent %s (%s, %d bytes): /save %d", m.ConversationID, who, m.FileName, m.MediaType, m.Size, m.AttachmentID)
			return
		}
		k.out.line("[#%d] %s: %s", m.ConversationID, who, m.Text)
	case *chat.Event:
		if m.Kind == chat.EventClosed {
			delete(k.names, m.ConversationID)
			if k.current == m.ConversationID {
				k.current = 0
			}
		}
		k.out.line("[#%d] * %s", m.ConversationID, describeEvent(m))
	case *chat.Error:
		k.out.line("! %v", m)
	}
}

func (k *console) marker(id int64) string {
	if id == k.current {
		return " (current)"
	}
	return ""
}

// runConsole is the operator console: commands start with '/', anything
// else is a reply to the current conversation.
func runConsole(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:7070", "chat server address")
	login := fs.String("login", "", "operator login (required)")
	password := fs.String("password", "", "password (default: $SWITCHBOARD_PASSWORD)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *password == "" {
		*password = os.Getenv("SWITCHBOARD_PASSWORD")
	}
	k := &console{out: &printer{w: stdout}, names: map[int64]string{}}
	c, err := chat.Dial(ctx, *addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: *login, Password: *password,
		Reconnect: true, Client: "switchboard-console", Handler: k.handle})
	if err != nil {
		return err
	}
	defer c.Close()
	k.c = c
	k.out.line("logged in as %s; /help for commands", c.OperatorID())
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if quit := k.command(ctx, strings.TrimSpace(sc.Text())); quit {
			return nil
		}
	}
	return sc.Err()
}

const consoleHelp = `/queue                  waiting customers
/accept [ID]            take a waiting customer (default: the first)
/list                   your conversations
/switch ID              make ID the current conversation
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
	id := func(s string) int64 {
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
		q := append([]chat.QueueEntry(nil), k.queue...)
		k.mu.Unlock()
		if len(q) == 0 {
			k.out.line("nobody is waiting")
		}
		for _, e := range q {
			k.out.line("#%d %s, waiting %s", e.ConversationID, e.CustomerName, time.Since(e.Since).Round(time.Second))
		}
	case fields[0] == "/accept":
		a, err := k.c.Accept(ctx, id(arg(1)))
		if err == nil {
			k.mu.Lock()
			k.current = a.ConversationID
			k.mu.Unlock()
			k.out.line("* now talking with #%d %s", a.ConversationID, a.CustomerName)
		}
		report(err)
	case line == "/list":
		k.mu.Lock()
		for cid, name := range k.names {
			k.out.line("#%d %s%s", cid, name, k.marker(cid))
		}
		k.mu.Unlock()
	case fields[0] == "/switch":
		n := id(arg(1))
		k.mu.Lock()
		if _, ok := k.names[n]; ok {
			k.current = n
			k.out.line("* now talking with #%d %s", n, k.names[n])
		} else {
			k.out.line("! #%d is not yours", n)
		}
		k.mu.Unlock()
	case fields[0] == "/close":
		report(k.c.CloseConversation(ctx, id(arg(1))))
	case fields[0] == "/transfer":
		report(k.c.Transfer(ctx, id(arg(1)), arg(2)))
	case line == "/away":
		report(k.c.SetPresence(chat.Away))
	case line == "/available":
		report(k.c.SetPresence(chat.Available))
	case fields[0] == "/save":
		k.save(ctx, id(arg(1)), cmpOr(arg(2), "."), func(w io.Writer, aid int64) (*chat.FileStart, error) { return k.c.Fetch(ctx, aid, w) })
	case fields[0] == "/transcript":
		format := chat.FormatText
		if arg(2) == "json" || arg(1) == "json" {
			format = chat.FormatJSON
		}
		cid := id(arg(1))
		if arg(1) == "json" {
			cid = id("")
		}
		k.save(ctx, cid, ".", func(w io.Writer, _ int64) (*chat.FileStart, error) { return k.c.Transcript(ctx, cid, format, w) })
	case strings.HasPrefix(line, "/"):
		k.out.line("! unknown command; /help")
	default:
		cur := id("")
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

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// save downloads into dir under the name the server gives.
func (k *console) save(ctx context.Context, id int64, dir string, get func(io.Writer, int64) (*chat.FileStart, error)) {
	var buf strings.Builder
	meta, err := get(&buf, id)
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
