// Package chattest runs a chat server in-process for tests, the way
// net/http/httptest does: on a loopback port, with an in-memory store
// (MemStore) and operators given as login/password pairs. FailCommits
// wraps a store to make chosen commits fail; Torture checks the chat's
// delivery promise against a store (or a configuration) while cutting
// connections.
package chattest

import (
	"context"
	"net"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/store"
)

// Server is a running test chat server.
type Server struct {
	// Addr is the server's address (host:port).
	Addr string
	// Chat is the server; its fields may be read, not changed.
	Chat *chat.Server
	// Store is its store (a MemStore unless Config.Store was given).
	Store store.ChatStore
	// Secret signs customer tokens (chat.SignCustomer) for this server.
	Secret []byte

	l    net.Listener
	done chan error
}

// Config configures NewServer. The zero value works.
type Config struct {
	// Operators are login -> password (plain; hashed here), each with
	// the server's default capacity.
	Operators map[string]string
	// Store replaces the MemStore.
	Store store.ChatStore
	// Configure, when set, can change the server before it starts.
	Configure func(s *chat.Server)
}

// NewServer starts a chat server on 127.0.0.1. It panics if it cannot
// listen or hash a password; call Close when done.
func NewServer(cfg *Config) *Server {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Store == nil {
		c.Store = NewMemStore()
	}
	dir := chat.StaticDirectory{}
	for login, pw := range c.Operators {
		// The lowest bcrypt cost: tests log in often; chat.HashPassword
		// is what production uses.
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			panic("chattest: " + err.Error())
		}
		dir[login] = chat.OperatorAccount{ID: login, Name: login, PasswordHash: string(h)}
	}
	secret := []byte("chattest secret")
	srv := &chat.Server{Store: c.Store, Operators: dir, Secret: secret}
	if c.Configure != nil {
		c.Configure(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("chattest: " + err.Error())
	}
	s := &Server{Addr: l.Addr().String(), Chat: srv, Store: c.Store, Secret: secret, l: l, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(l) }()
	return s
}

// Close stops the server: Shutdown with a short grace, then Close.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.Chat.Shutdown(ctx) != nil {
		s.Chat.Close()
	}
	<-s.done
}

// Customer signs a token for a customer, valid for an hour.
func (s *Server) Customer(id, name, email string) string {
	return chat.SignCustomer(s.Secret, chat.CustomerClaims{ID: id, Name: name, Email: email, Expires: time.Now().Add(time.Hour)})
}
