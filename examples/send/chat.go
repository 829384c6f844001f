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
		if e.Wait > 0 {
			return fmt.Sprintf("waiting for an operator, position %d, about %s", e.Position, e.Wait.Round(time.Second))
		}
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
	case chat.EventOffline:
		return e.Text
	case chat.EventElsewhere:
		return "this conversation was opened on another device; this one cannot resume it"
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
	var tf tlsFlags
	tf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: send chat -name NAME (-email E | -id ID) [-tls [-ca FILE]] [-file PATH] [MESSAGE...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Everything that can be wrong here is said before a conversation
	// is opened.
	if strings.TrimSpace(*name) == "" {
		return errors.New("chat: -name is required")
	}
	if *email == "" && *id == "" {
		return errors.New("chat: -email or -id is required")
	}
	tlsConfig, err := tf.config(*addr)
	if err != nil {
		return err
	}
	var attachment *os.File
	if *file != "" {
		if attachment, err = os.Open(*file); err != nil {
			return err
		}
		defer attachment.Close()
	}
	out := &printer{w: stdout}
	closed := make(chan struct{})
	var closeOnce sync.Once
	c, err := chat.Dial(ctx, *addr, &chat.ClientOptions{Name: *name, Email: *email, CustomerID: *id, Reconnect: true,
		TLSConfig: tlsConfig, Client: "switchboard-send", Handler: func(m chat.Message) {
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
				switch m.Kind {
				case chat.EventAssigned, chat.EventQueued, chat.EventElsewhere:
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
	if attachment != nil {
		if _, err := c.SendFile(ctx, 0, filepath.Base(*file), attachment, 10<<20, func(sent, total int64) {
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
