package chatws_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

// seen collects what a Go client is given.
type seen struct {
	mu sync.Mutex
	ms []chat.Message
}

func (s *seen) handle(m chat.Message) { s.mu.Lock(); s.ms = append(s.ms, m); s.mu.Unlock() }
func (s *seen) has(f func(chat.Message) bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.ms {
		if f(m) {
			return true
		}
	}
	return false
}

func (s *seen) wait(t *testing.T, what string, f func(chat.Message) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !s.has(f) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A WebSocket customer that stops reading is a slow consumer as over
// TCP: cut off once its outbound queue is full, the server's memory for
// it bounded, and when it reads on it finds why (ERROR slow consumer,
// final) as the TCP test TestSlowReaderIsCutOffWithoutSlowingOthers
// requires.
func TestAttackSlowWebSocketConsumerIsCutOffWithItsReason(t *testing.T) {
	const slowOnes = 5
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) {
			s.OutboundLimit, s.MessageRate, s.MaxConversations = 256<<10, -1, slowOnes+1
		}})
	defer srv.Close()
	addr, l := serveCounted(t, &chatws.Handler{Server: srv.Chat})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	oin := &seen{}
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis", Handler: oin.handle})
	require.NoError(t, err)
	defer op.Close()

	slow := make([]*rawClient, slowOnes)
	convs := make([]int64, slowOnes)
	for i := range slow {
		slow[i] = dialRaw(t, addr, "/", nil)
		require.NoError(t, slow[i].binary(helloFrame(fmt.Sprint("slow", i))))
		w, ok := slow[i].readChat(t, 5*time.Second).(*chat.Welcome)
		require.True(t, ok)
		convs[i] = w.ConversationID
		oin.wait(t, "assigned", func(m chat.Message) bool {
			a, ok := m.(*chat.Assigned)
			return ok && a.ConversationID == w.ConversationID
		})
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	text := strings.Repeat("x", chat.MaxText)
	start := time.Now()
	for i := range slow {
		for !oin.has(func(m chat.Message) bool {
			e, ok := m.(*chat.Event)
			return ok && e.ConversationID == convs[i] && e.Kind == chat.EventAway
		}) {
			require.Less(t, time.Since(start), 30*time.Second, "slow customer %d never cut off", i)
			op.SendTo(ctx, convs[i], "", text)
		}
	}
	t.Logf("%d slow WebSocket customers cut off in %v; %d sockets open", slowOnes, time.Since(start), l.open.Load())

	for i, s := range slow {
		var reason *chat.Error
		for reason == nil {
			op, p, err := s.readFrame(10 * time.Second)
			require.NoError(t, err, "slow customer %d: the connection ended without a reason", i)
			if op == 0x8 {
				t.Fatalf("slow customer %d: closed (%x) without the ERROR", i, p)
			}
			if op != 0x2 {
				continue
			}
			fr := chat.NewFrameReader(strings.NewReader(string(p)), 0)
			for {
				f, err := fr.Read()
				if err != nil {
					break
				}
				if f.Type == chat.TypeError {
					m, err := chat.Decode(f)
					require.NoError(t, err)
					reason = m.(*chat.Error)
					assert.NotZero(t, f.Flags&chat.FlagFinal)
				}
			}
		}
		assert.Equal(t, chat.CodeSlowConsumer, reason.Code)
	}
	for _, s := range slow {
		s.nc.Close()
	}
}

// A WebSocket customer that never reads again is not kept: its socket is
// closed within WriteTimeout of the write that blocks (wsConn.Write
// honours the write deadline).
func TestAttackNeverReadingWebSocketIsClosedWithinWriteTimeout(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) {
			s.OutboundLimit, s.MessageRate, s.WriteTimeout = 256<<10, -1, time.Second
		}})
	defer srv.Close()
	addr, l := serveCounted(t, &chatws.Handler{Server: srv.Chat})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	oin := &seen{}
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis", Handler: oin.handle})
	require.NoError(t, err)
	defer op.Close()
	c := dialRaw(t, addr, "/", nil)
	require.NoError(t, c.binary(helloFrame("never")))
	w, ok := c.readChat(t, 5*time.Second).(*chat.Welcome)
	require.True(t, ok)
	oin.wait(t, "assigned", func(m chat.Message) bool {
		a, ok := m.(*chat.Assigned)
		return ok && a.ConversationID == w.ConversationID
	})
	text := strings.Repeat("y", chat.MaxText)
	start := time.Now()
	for !oin.has(func(m chat.Message) bool {
		e, ok := m.(*chat.Event)
		return ok && e.ConversationID == w.ConversationID && e.Kind == chat.EventAway
	}) {
		require.Less(t, time.Since(start), 30*time.Second)
		op.SendTo(ctx, w.ConversationID, "", text)
	}
	cut := time.Now()
	for l.open.Load() > 0 && time.Since(cut) < 20*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("cut off after %v; socket closed %v later", cut.Sub(start), time.Since(cut))
	assert.Zero(t, l.open.Load())
	assert.Less(t, time.Since(cut), 3*time.Second, "the socket outlived WriteTimeout (1s) by far")
	assert.Zero(t, srv.Chat.Stats().Connections-1)
}

// Close "closes every connection at once", and Shutdown gives up on the
// stragglers when its context ends. A TCP connection blocked in a write to
// a client that does not read is released by nc.Close at once; a
// WebSocket's Close only starts the closing handshake, whose close frame
// waits behind the blocked write: the writer goroutine, which the server
// waits for, stays blocked until websocket's own 5 s bound (or
// WriteTimeout) runs out.
func TestAttackCloseWaitsForBlockedWebSocketWriter(t *testing.T) {
	for _, transport := range []string{"tcp", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
				Configure: func(s *chat.Server) {
					s.OutboundLimit, s.MessageRate, s.WriteTimeout = 8<<20, -1, time.Minute
				}})
			defer srv.Close()
			addr, _ := serveCounted(t, &chatws.Handler{Server: srv.Chat})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			oin := &seen{}
			op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis", Handler: oin.handle})
			require.NoError(t, err)
			defer op.Close()
			var conv int64
			if transport == "tcp" {
				nc, err := net.Dial("tcp", srv.Addr)
				require.NoError(t, err)
				defer nc.Close()
				_, err = nc.Write(helloFrame("blocked"))
				require.NoError(t, err)
				f, err := chat.NewFrameReader(nc, 0).Read()
				require.NoError(t, err)
				m, err := chat.Decode(f)
				require.NoError(t, err)
				conv = m.(*chat.Welcome).ConversationID
			} else {
				c := dialRaw(t, addr, "/", nil)
				require.NoError(t, c.binary(helloFrame("blocked")))
				conv = c.readChat(t, 5*time.Second).(*chat.Welcome).ConversationID
			}
			oin.wait(t, "assigned", func(m chat.Message) bool {
				a, ok := m.(*chat.Assigned)
				return ok && a.ConversationID == conv
			})
			// Fill the socket buffers and the outbound queue: the
			// server's writer blocks, then the customer is a slow
			// consumer whose final ERROR waits behind the blocked write.
			text := strings.Repeat("z", chat.MaxText)
			start := time.Now()
			for !oin.has(func(m chat.Message) bool {
				e, ok := m.(*chat.Event)
				return ok && e.ConversationID == conv && e.Kind == chat.EventAway
			}) {
				require.Less(t, time.Since(start), 30*time.Second)
				op.SendTo(ctx, conv, "", text)
			}
			op.Close()
			start = time.Now()
			srv.Chat.Close()
			took := time.Since(start)
			t.Logf("%s: Close took %v", transport, took)
			assert.Less(t, took, time.Second, "Close waited for a blocked writer")
		})
	}
}
