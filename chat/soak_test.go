package chat_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// TestSoak: 1,000 customers and 20 operators (50 conversations each).
// Every customer sends 3 messages and gets an answer to each; every
// message is stored once and delivered once, in order; everything closes.
func TestSoak(t *testing.T) {
	const customers, operators, perCustomer = 1000, 20, 3
	ops := map[string]string{}
	for i := range operators {
		ops[fmt.Sprintf("op%02d", i)] = "pw"
	}
	srv := chattest.NewServer(&chattest.Config{Operators: ops, Configure: func(s *chat.Server) {
		s.MaxConversations = customers / operators
		s.MessageRate = -1
	}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Operators answer every customer message with "re: TEXT".
	var answered atomic.Int64
	var opClients []*chat.Client
	var queues []chan *chat.Post
	for login := range ops {
		var c *chat.Client
		replies := make(chan *chat.Post, 4096)
		var err error
		c, err = chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: login, Password: "pw",
			Handler: func(m chat.Message) {
				if p, ok := m.(*chat.Post); ok && p.SenderRole == chat.RoleCustomer {
					replies <- p
				}
			}})
		require.NoError(t, err, "Dial(operator %s)", login)
		opClients = append(opClients, c)
		queues = append(queues, replies)
		go func() {
			for p := range replies {
				if _, err := c.SendTo(ctx, p.ConversationID, "re-"+p.ClientMsgID, "re: "+p.Text); err == nil {
					answered.Add(1)
				}
			}
		}()
	}
	defer func() {
		for i, c := range opClients {
			c.Close() // no handler call after Close returns
			close(queues[i])
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, customers)
	for i := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make(chan *chat.Post, 64)
			c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: fmt.Sprintf("C%d", i), CustomerID: fmt.Sprint(i),
				Handler: func(m chat.Message) {
					if p, ok := m.(*chat.Post); ok && p.SenderRole == chat.RoleOperator {
						got <- p
					}
				}})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			var lastSeq int64
			for j := range perCustomer {
				text := fmt.Sprintf("c%d-m%d", i, j)
				if _, err := c.SendTo(ctx, 0, fmt.Sprintf("m%d", j), text); err != nil {
					errs <- fmt.Errorf("customer %d: %w", i, err)
					return
				}
				select {
				case p := <-got:
					if p.Text != "re: "+text || p.Seq <= lastSeq {
						errs <- fmt.Errorf("customer %d got %q (seq %d after %d)", i, p.Text, p.Seq, lastSeq)
						return
					}
					lastSeq = p.Seq
				case <-ctx.Done():
					errs <- fmt.Errorf("customer %d: no answer to %q", i, text)
					return
				}
			}
			if err := c.CloseConversation(ctx, 0); err != nil {
				errs <- fmt.Errorf("customer %d close: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("%d customers x %d messages answered in %s", customers, perCustomer, time.Since(start))
	// A customer can see the last answer before the operator's client has
	// the acknowledgement of it (the server writes the answer to the
	// customer first): wait for the acknowledgements to arrive.
	// assert, then require: on a timeout the count is reported too.
	assert.Eventually(t, func() bool { return answered.Load() >= customers*perCustomer }, 10*time.Second, 10*time.Millisecond,
		"the operators' answers were not all acknowledged")
	require.Equal(t, int64(customers*perCustomer), answered.Load(), "answers acknowledged to the operators")
	// Every conversation is stored with 2 system messages (waiting,
	// joined), 3 + 3 messages, and the close.
	for id := int64(1); id <= customers; id++ {
		tr, err := srv.Store.Transcript(ctx, id)
		require.NoError(t, err, "Transcript(%d)", id)
		require.Len(t, tr.Messages, 2+2*perCustomer+1, "conversation %d", id)
		require.False(t, tr.Conversation.ClosedAt.IsZero(), "conversation %d is not closed", id)
	}
}
