package chat_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// A client of a later version talks to this server: its HELLO (header
// version 2, capabilities this server does not know) is answered in
// version 1 with the capabilities both share; a frame of an unknown type
// flagged ignorable is skipped, one without the flag refused, and the
// connection goes on.
func TestNewerClientTalksToThisServer(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	hello := chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a",
		Caps: []string{chat.CapWait, "holograms"}})
	hello[0] = 2
	r, w := dialRawBytes(t, srv.Addr, hello)
	assert.Equal(t, chat.Version, w.Version)
	assert.Equal(t, []string{chat.CapWait}, w.Caps)

	r.nc.Write(chat.AppendFrame(nil, chat.Type(0x7e), chat.FlagIgnorable, []byte("from the future")))
	r.nc.Write(chat.AppendFrame(nil, chat.Type(0x7f), 0, []byte("must be understood")))
	r.nc.Write(chat.AppendMessage(nil, &chat.Send{ClientMsgID: "m1", Text: "hola"}))
	var got []chat.Message
	for len(got) < 2 {
		switch m := r.next().(type) {
		case *chat.Error, *chat.Ack:
			got = append(got, m)
		}
	}
	if e, ok := got[0].(*chat.Error); assert.True(t, ok, "%v", got) {
		assert.Equal(t, chat.CodeUnsupported, e.Code, "only the unflagged unknown frame is refused")
	}
	if a, ok := got[1].(*chat.Ack); assert.True(t, ok, "%v", got) {
		assert.Equal(t, "m1", a.ClientMsgID, "the connection goes on")
	}
}

// A resume token works for its holder only: each resume revokes the
// token before it, so a copy used later is refused; a copy used first
// takes the conversation, and the owner's connection is told.
func TestResumeTokenIsBoundToItsHolder(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.TokenGrace = time.Millisecond }})
	defer srv.Close()
	first, w1 := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a", Caps: chat.Caps()})
	first.nc.Close()
	owner, w2 := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Resume: w1.Resume, Caps: chat.Caps()})
	assert.NotEqual(t, w1.Resume, w2.Resume, "a resume issues a new token")

	// The token before: refused while its owner holds the new one.
	refused := func(token string) *chat.Error {
		r, err := net.Dial("tcp", srv.Addr)
		require.NoError(t, err)
		defer r.Close()
		r.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Resume: token}))
		r.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := chat.NewFrameReader(r, 0).Read()
		require.NoError(t, err)
		m, err := chat.Decode(f)
		require.NoError(t, err)
		e, _ := m.(*chat.Error)
		return e
	}
	time.Sleep(10 * time.Millisecond) // past TokenGrace
	if e := refused(w1.Resume); assert.NotNil(t, e, "an old token resumed") {
		assert.Equal(t, chat.CodeResumeExpired, e.Code)
	}
	// A copy of the current token, used while the owner is online, takes
	// the conversation; the owner hears of it, and its token is dead.
	_, _ = dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Resume: w2.Resume})
	for {
		if e, ok := owner.next().(*chat.Event); ok && e.Kind == chat.EventElsewhere {
			break
		}
	}
	owner.nc.Close()
	time.Sleep(10 * time.Millisecond) // past TokenGrace
	if e := refused(w2.Resume); assert.NotNil(t, e, "the owner's token still resumed after a copy took over") {
		assert.Equal(t, chat.CodeResumeExpired, e.Code)
	}
}

// A conversation opened with a website-signed token is marked verified,
// in the store and in the operator's ASSIGNED; one whose customer typed
// who they are is not.
func TestVerifiedIdentityReachesTheOperator(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	operator(t, srv, "luis", oin)
	signed, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Token: srv.Customer("c-17", "Ana Pérez", "ana@example.com")})
	require.NoError(t, err)
	defer signed.Close()
	typed := customer(t, srv, "Eve", newInbox(), false)
	a := oin.wait(t, "signed customer", isAssigned(signed.ConversationID())).(*chat.Assigned)
	b := oin.wait(t, "typed customer", isAssigned(typed.ConversationID())).(*chat.Assigned)
	assert.True(t, a.Verified)
	assert.False(t, b.Verified)
	rec, err := srv.Store.Conversation(ctx, signed.ConversationID())
	require.NoError(t, err)
	assert.True(t, rec.Verified)
}

// The token a resume replaced still works for a while (Server.TokenGrace),
// even while a connection holds the new one: the client whose WELCOME
// was lost with its connection gets its conversation back, and the
// connection the server still believes in is told.
func TestPreviousTokenWorksWhileItsWelcomeMayHaveBeenLost(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	first, w1 := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a", Caps: chat.Caps()})
	first.nc.Close()
	// The WELCOME with the new token never reached the client; the
	// server does not know yet that this connection is dead.
	lost, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Resume: w1.Resume, Caps: chat.Caps()})
	_, w3 := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Resume: w1.Resume, Caps: chat.Caps()})
	assert.Equal(t, w1.ConversationID, w3.ConversationID)
	for {
		if e, ok := lost.next().(*chat.Event); ok && e.Kind == chat.EventElsewhere {
			break
		}
	}
}

// After the handshake a frame of another version than the one agreed is
// refused as a bad version, and the connection closes.
func TestFrameOfAnotherVersionAfterTheHandshake(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	r, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	f := chat.AppendMessage(nil, &chat.Ping{Nonce: 1})
	f[0] = 2
	r.nc.Write(f)
	for {
		if e, ok := r.next().(*chat.Error); ok {
			assert.Equal(t, chat.CodeBadVersion, e.Code)
			return
		}
	}
}
