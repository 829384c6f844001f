package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/store"
)

// chatFlags configure the chat listener.
type chatFlags struct {
	addr        string
	transcripts string
	insecure    bool
}

func (f *chatFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "chat-addr", "127.0.0.1:7070", `chat listener ("" disables)`)
	fs.StringVar(&f.transcripts, "chat-transcripts", "", "directory for transcripts of closed conversations (default DATA/transcripts)")
	fs.BoolVar(&f.insecure, "chat-insecure-passwords", false, "accept operator passwords over plain TCP from other hosts")
}

// start runs the chat server on st until the returned stop is called.
// With files, the process's open-file limit, the server takes at most as
// many connections as leave descriptors for the rest of the process.
func (f *chatFlags) start(st store.Store, dataDir string, files uint64, log *slog.Logger) (addr string, stop func(context.Context) error, err error) {
	secret, err := dataSecret(filepath.Join(dataDir, "chat.secret"))
	if err != nil {
		return "", nil, err
	}
	dir := f.transcripts
	if dir == "" {
		dir = filepath.Join(dataDir, "transcripts")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, err
	}
	srv := &chat.Server{Store: st, Operators: chat.StoreDirectory{Store: st}, Secret: secret,
		AllowInsecurePasswords: f.insecure, Logger: log,
		OnClose: func(ctx context.Context, t store.Transcript) {
			if err := saveTranscript(dir, t); err != nil {
				log.Error("saving a transcript", "conversation", t.Conversation.ID, "err", err)
			}
		}}
	if files > 0 && files < 10000+reservedFiles {
		srv.MaxConnections = max(int(files)-reservedFiles, 16)
	}
	log.Info("chat connection limit", "connections", cmp.Or(srv.MaxConnections, 10000), "open_files", files)
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		return "", nil, fmt.Errorf("chat: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	return l.Addr().String(), func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serr := <-done; !errors.Is(serr, chat.ErrServerClosed) && err == nil {
			err = serr
		}
		return err
	}, nil
}

// reservedFiles are the descriptors kept for everything but chat
// connections (store, SMPP, mail, listeners).
const reservedFiles = 256

// dataSecret reads a secret kept in a file under the data directory,
// creating it on first use, so that what it signs survives restarts (chat
// resume tokens, our mail Message-IDs).
func dataSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return hex.DecodeString(strings.TrimSpace(string(b)))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	b := make([]byte, 32)
	rand.Read(b)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return b, nil
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
