package chat_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// An operator who went away stays away across a reconnect: the server
// keeps the presence, hands the operator no new customer, and says so in
// the WELCOME of the new connection.
func TestAwayOperatorStaysAwayAcrossReconnects(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	ctx := testCtx(t)
	d := &chattest.Cutter{}
	oin := newInbox()
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis",
		Reconnect: true, MaxReconnectDelay: 20 * time.Millisecond, Dialer: d.Dial, Handler: oin.handle})
	require.NoError(t, err)
	defer op.Close()
	require.NoError(t, op.SetPresence(chat.Away))
	require.Eventually(t, func() bool { return op.Presence() == chat.Away }, 5*time.Second, 5*time.Millisecond)
	d.Cut()
	require.Eventually(t, func() bool { return srv.Chat.Stats().Operators == 1 && op.Err() == nil }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, chat.Away, op.Presence(), "the reconnected client knows it is away")
	c := customer(t, srv, "Ana", newInbox(), false)
	time.Sleep(300 * time.Millisecond)
	assert.False(t, oin.has(isAssigned(c.ConversationID())), "an away operator was handed a customer after reconnecting")
	require.NoError(t, op.SetPresence(chat.Available))
	oin.wait(t, "assignment once available", isAssigned(c.ConversationID()))
}
