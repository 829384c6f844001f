package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
)

// chatFlags configure the chat listener.
type chatFlags struct {
	addr          string
	transcripts   string
	insecure      bool
	cert, key     string
	hours, tz     string
	holidays      string
	leaveMessages bool
}

func (f *chatFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "chat-addr", "127.0.0.1:7070", `chat listener ("" disables)`)
	fs.StringVar(&f.transcripts, "chat-transcripts", "", "directory for transcripts of closed conversations (default DATA/transcripts)")
	fs.BoolVar(&f.insecure, "chat-insecure-passwords", false, "accept operator passwords over plain TCP from other hosts")
	fs.StringVar(&f.cert, "chat-tls-cert", "", "PEM certificate (chain) for a TLS chat listener, with -chat-tls-key")
	fs.StringVar(&f.key, "chat-tls-key", "", "PEM private key of -chat-tls-cert")
	fs.StringVar(&f.hours, "chat-hours", "", `opening hours, e.g. "Mon-Fri 09:00-14:00,15:00-18:00; Sat 10:00-13:00" (default: always)`)
	fs.StringVar(&f.tz, "chat-tz", "Local", "time zone of -chat-hours (e.g. Europe/Madrid)")
	fs.StringVar(&f.holidays, "chat-holidays", "", "closed on these dates: YYYY-MM-DD,YYYY-MM-DD...")
	fs.BoolVar(&f.leaveMessages, "chat-leave-messages", true,
		"when no operator can answer, customers leave a message, which becomes a mail ticket (false: they wait in line)")
}

// start runs the chat server on st until the returned stop is called.
// With files, the process's open-file limit, the server takes at most as
// many connections as leave descriptors for the rest of the process.
// tickets, when not nil, turns messages left while nobody could answer
// into tickets.
// mailer, when not nil, mails customers their transcripts on request.
func (f *chatFlags) start(st store.Store, dataDir string, files uint64, tickets *mailticket.Processor,
	mailer func(context.Context, store.Transcript, string) error, log *slog.Logger) (addr string, srv *chat.Server, stop func(context.Context) error, err error) {
	secret, err := sharedSecret(st, dataDir, "chat", log)
	if err != nil {
		return "", nil, nil, err
	}
	dir := f.transcripts
	if dir == "" {
		dir = filepath.Join(dataDir, "transcripts")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, nil, err
	}
	srv = &chat.Server{Store: st, Operators: accountDirectory{st}, Secret: secret,
		AllowInsecurePasswords: f.insecure, Logger: log,
		OnClose: func(ctx context.Context, t store.Transcript) {
			if err := saveTranscript(dir, t); err != nil {
				log.Error("saving a transcript", "conversation", t.Conversation.ID, "err", err)
			}
		}}
	if f.hours != "" {
		if srv.Hours, err = parseHours(f.hours, f.tz, f.holidays); err != nil {
			return "", nil, nil, err
		}
	}
	srv.LeaveMessages = f.leaveMessages
	srv.MailTranscript = mailer
	if tickets != nil {
		srv.OnLeftMessage = func(ctx context.Context, t store.Transcript) (string, error) {
			r, err := ticketFromChat(ctx, tickets, t)
			if err != nil {
				return "", err
			}
			log.Info("message left as a ticket", "conversation", t.Conversation.ID, "ticket", r.Ticket.Number, "outcome", r.Outcome)
			return "ticket " + r.Ticket.Number + "; we will answer you by e-mail", nil
		}
	}
	if files > 0 && files < 10000+reservedFiles {
		srv.MaxConnections = max(int(files)-reservedFiles, 16)
	}
	log.Info("chat connection limit", "connections", cmp.Or(srv.MaxConnections, 10000), "open_files", files)
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		return "", nil, nil, fmt.Errorf("chat: %w", err)
	}
	if f.cert != "" || f.key != "" {
		cert, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			l.Close()
			return "", nil, nil, fmt.Errorf("chat: -chat-tls-cert/-chat-tls-key: %w", err)
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	return l.Addr().String(), srv, func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serr := <-done; !errors.Is(serr, chat.ErrServerClosed) && err == nil {
			err = serr
		}
		return err
	}, nil
}

// ticketFromChat turns a message left in the chat into a ticket, as a
// mail from the customer would be: the same routes by sender domain, the
// same numbering and automatic reply. It is idempotent per conversation.
//
// Only an e-mail the website vouched for (a verified conversation) is
// taken as the sender: a typed one would let anybody route tickets and
// make us write to any address. An unverified one is shown in the
// ticket's text, the sender is a placeholder, and the mail is marked
// automatic (Auto-Submitted), so that no reply goes to it.
func ticketFromChat(ctx context.Context, p *mailticket.Processor, t store.Transcript) (mailticket.Result, error) {
	c := t.Conversation
	from, verified := c.CustomerEmail, c.Verified
	if _, err := mail.ParseAddress(from); from == "" || err != nil || !verified {
		from = fmt.Sprintf("chat-%d@chat.invalid", c.ID)
		verified = false
	}
	var body strings.Builder
	if !verified && c.CustomerEmail != "" {
		fmt.Fprintf(&body, "E-mail the customer typed (not verified): %s\n\n", store.CleanLine(c.CustomerEmail))
	}
	if err := chat.WriteTranscriptText(&body, t); err != nil {
		return mailticket.Result{}, err
	}
	var raw strings.Builder
	fmt.Fprintf(&raw, "From: %s\r\n", (&mail.Address{Name: c.CustomerName, Address: from}).String())
	fmt.Fprintf(&raw, "To: %s\r\n", p.Addresses[0])
	fmt.Fprintf(&raw, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", "Message left in the chat by "+c.CustomerName))
	fmt.Fprintf(&raw, "Date: %s\r\n", c.OpenedAt.Format(time.RFC1123Z))
	fmt.Fprintf(&raw, "Message-ID: <chat-%d-%d@%s>\r\n", c.ID, c.OpenedAt.UnixMilli(), p.Domain)
	if !verified {
		raw.WriteString("Auto-Submitted: auto-generated\r\n") // nobody verified to answer
	}
	raw.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	raw.WriteString(strings.ReplaceAll(body.String(), "\n", "\r\n"))
	return p.Process(ctx, mailticket.Delivery{SourceKey: fmt.Sprintf("chat:%d", c.ID), Raw: []byte(raw.String())})
}

// reservedFiles are the descriptors kept for everything but chat
// connections (store, SMPP, mail, listeners).
const reservedFiles = 256

// sharedSecret returns the secret named name that every process on st
// shares (store.SecretStore): the first process to start creates it.
// A process that kept its own in DATA/NAME.secret, as earlier versions
// did, offers that one, so that an installation keeps its key (its
// customers' resume tokens, its mails' Message-IDs); a file that differs
// from the store's is ignored, and said.
func sharedSecret(st store.Store, dataDir, name string, log *slog.Logger) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(dataDir, name+".secret")
	offer := make([]byte, 32)
	rand.Read(offer)
	var fromFile []byte
	if b, err := os.ReadFile(path); err == nil {
		if fromFile, err = hex.DecodeString(strings.TrimSpace(string(b))); err != nil || len(fromFile) < 16 {
			return nil, fmt.Errorf("%s: not a secret (hexadecimal, 16 bytes or more)", path)
		}
		offer = fromFile
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	secret, err := st.EnsureSecret(ctx, name, offer)
	if err != nil {
		return nil, fmt.Errorf("the shared %s secret: %w", name, err)
	}
	if fromFile != nil && !bytes.Equal(fromFile, secret) {
		log.Warn("this process's secret file differs from the one the store shares; the store's is used", "file", path)
	}
	return secret, nil
}

// saveTranscript writes "Customer NAME DATE.txt" and .json, with a
// conversation suffix when a name repeats.
func saveTranscript(dir string, t store.Transcript) error {
	for _, ext := range []string{"txt", "json"} {
		name := chat.TranscriptFileName(t, ext)
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil {
			path = filepath.Join(dir, strings.TrimSuffix(name, "."+ext)+fmt.Sprintf(" #%d.%s", t.Conversation.ID, ext))
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
		if err != nil {
			return err
		}
		if ext == "txt" {
			err = chat.WriteTranscriptText(f, t)
		} else {
			err = chat.WriteTranscriptJSON(f, t)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runChatOperator creates or changes a chat operator account.
func runChatOperator(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server chat-operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	var o store.ChatOperator
	fs.StringVar(&o.Login, "login", "", "login (required)")
	fs.StringVar(&o.Name, "name", "", "display name shown to customers (default: \"Operator\"; customers never see the login)")
	fs.IntVar(&o.MaxConversations, "max", 0, "conversations served at once (0: the server's default, 5)")
	fs.BoolVar(&o.Disabled, "disable", false, "keep the account but refuse its logins")
	password := fs.String("password", "", "password (prefer -password-stdin)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.Login == "" {
		return errors.New("chat-operator: -login is required")
	}
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("chat-operator: reading the password: %w", err)
		}
		*password = strings.TrimRight(line, "\r\n")
	}
	st, err := sf.Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	prev, err := st.ChatOperator(ctx, o.Login)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	switch {
	case *password != "":
		if o.PasswordHash, err = chat.HashPassword(*password); err != nil {
			return err
		}
	case exists:
		o.PasswordHash = prev.PasswordHash
	default:
		return fmt.Errorf("chat-operator: a new operator needs a password (-password-stdin)")
	}
	if o.Name == "" && exists {
		o.Name = prev.Name // a change keeps the display name unless given
	}
	if err := st.PutChatOperator(ctx, &o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chat operator %s saved\n", o.Login)
	return nil
}

// accountDirectory finds chat operators: those of `server chat-operator`
// first, then people's accounts of role operator or admin (the one
// account model of the web console), with the default capacity.
type accountDirectory struct{ st store.Store }

func (d accountDirectory) Operator(ctx context.Context, login string) (chat.OperatorAccount, error) {
	o, err := chat.StoreDirectory{Store: d.st}.Operator(ctx, login)
	if !errors.Is(err, chat.ErrUnknownOperator) {
		return o, err
	}
	a, err := d.st.Account(ctx, login)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return chat.OperatorAccount{}, chat.ErrUnknownOperator
	case err != nil:
		return chat.OperatorAccount{}, err
	case a.Role != store.RoleChatOperator && a.Role != store.RoleAdmin:
		return chat.OperatorAccount{}, chat.ErrUnknownOperator
	}
	return chat.OperatorAccount{ID: a.Login, Name: cmp.Or(a.Name, a.Login), PasswordHash: a.PasswordHash, Disabled: a.Disabled}, nil
}
