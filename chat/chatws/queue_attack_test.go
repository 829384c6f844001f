package chatws_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

// A QUEUE lists up to 500 waiting customers with names of up to 256
// bytes: up to ~133 KB of payload, twice the 64 KiB frame limit the
// WELCOME announces. Customers with long names fill the line and every
// operator (here over WebSocket, as the browser script would be) gets a
// frame its reader refuses: the connection ends, and every reconnect gets
// the same QUEUE again. (A Go TCP operator fares the same; the script
// reconnects at once, without delay, after a frame it cannot read.)
func TestAttackLongQueueFrameDisconnectsOperators(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	url := mount(t, &chatws.Handler{Server: srv.Chat})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	queued := make(chan int, 100)
	op, err := chat.Dial(ctx, "ws", &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis",
		Dialer: chatws.Dialer(url, nil), Handler: func(m chat.Message) {
			if q, ok := m.(*chat.Queue); ok {
				select {
				case queued <- q.Total:
				default:
				}
			}
		}})
	require.NoError(t, err)
	defer op.Close()

	name := strings.Repeat("N", 256)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 520 {
		nc, err := net.Dial("tcp", srv.Addr) // loopback: no per-address limits
		require.NoError(t, err)
		conns = append(conns, nc)
		_, err = nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: name, CustomerID: fmt.Sprint(i)}))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return srv.Chat.Stats().Waiting >= 510 }, 20*time.Second, 50*time.Millisecond)
	time.Sleep(time.Second)
	select {
	case <-op.Done():
		t.Fatalf("the operator's connection ended: %v", op.Err())
	default:
	}
}
