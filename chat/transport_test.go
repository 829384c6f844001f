package chat_test

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/internal/dovetest"
)

// farListener makes every connection look as if it came from another
// host, which the tests cannot otherwise do on loopback.
type farListener struct{ net.Listener }

func (l farListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return farConn{c}, nil
}

type farConn struct{ net.Conn }

func (farConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 40000} }

// Operator passwords from other hosts are refused over plain TCP, taken
// over TLS, and taken over plain TCP only when the server allows it.
// Customers need no TLS.
func TestOperatorPasswordTransport(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw-luis"), bcrypt.MinCost)
	require.NoError(t, err)
	serverTLS, clientTLS, err := dovetest.SelfSignedTLS()
	require.NoError(t, err)
	start := func(allowInsecure, useTLS bool) string {
		t.Helper()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		var ln net.Listener = farListener{l}
		if useTLS {
			ln = tls.NewListener(ln, serverTLS)
		}
		srv := &chat.Server{Store: chattest.NewMemStore(), AllowInsecurePasswords: allowInsecure,
			Operators: chat.StaticDirectory{"luis": {ID: "luis", Name: "Luis", PasswordHash: string(hash)}}}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		t.Cleanup(func() { srv.Close(); <-done })
		return l.Addr().String()
	}
	ctx := testCtx(t)
	operator := func(addr string, tlsConfig *tls.Config) error {
		c, err := chat.Dial(ctx, addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis", TLSConfig: tlsConfig})
		if err == nil {
			c.Close()
		}
		return err
	}

	plain := start(false, false)
	err = operator(plain, nil)
	assert.True(t, isCode(err, chat.CodeInsecure), "operator(plain TCP from another host) = %v, want %s", err, chat.CodeInsecure)
	c, err := chat.Dial(ctx, plain, &chat.ClientOptions{Name: "Ana", CustomerID: "a-1"})
	require.NoError(t, err, "customer over plain TCP")
	c.Close()
	assert.NoError(t, operator(start(false, true), clientTLS), "operator over TLS")
	assert.NoError(t, operator(start(true, false), nil), "operator over plain TCP with AllowInsecurePasswords")
}
