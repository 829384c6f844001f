package chat_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// On a store with transactions, messages are group-committed: 50
// customers sending at once all get their acks, every message is stored
// once, in order, and retries are still deduplicated.
func TestGroupCommitOnSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	srv := chattest.NewServer(&chattest.Config{Store: st, Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.MaxConversations = 50; s.MessageRate = -1 }})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	operator(t, srv, "luis", oin)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	convs := make([]int64, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: fmt.Sprint("C", i), CustomerID: fmt.Sprint(i)})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			convs[i] = c.ConversationID()
			for j := range 20 {
				a, err := c.SendTo(ctx, 0, fmt.Sprint("m", j), fmt.Sprint("msg ", j))
				if err != nil {
					errs <- err
					return
				}
				again, err := c.SendTo(ctx, 0, fmt.Sprint("m", j), fmt.Sprint("msg ", j))
				if err != nil || again.Seq != a.Seq {
					errs <- fmt.Errorf("retry of m%d: %v %v", j, again, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, id := range convs {
		tr, err := st.Transcript(ctx, id)
		require.NoError(t, err)
		var texts []string
		for _, m := range tr.Messages {
			if m.SenderRole == "customer" {
				texts = append(texts, m.Text)
			}
		}
		require.Len(t, texts, 20, "conversation %d: %q", id, texts)
		require.Equal(t, "msg 0", texts[0], "conversation %d: %q", id, texts)
		require.Equal(t, "msg 19", texts[19], "conversation %d: %q", id, texts)
	}
}

// A client may pipeline SENDs without waiting for acks: on a batching
// store the server keeps reading while earlier messages wait for their
// commit (beyond its in-flight bound too). Every SEND gets its ack, in
// order, with increasing sequence numbers; a retry inside the pipeline
// gets the first one's number; the operator sees every POST once, in
// sequence order; the store holds each message once.
func TestPipelinedSendsOnSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	srv := chattest.NewServer(&chattest.Config{Store: st, Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.MessageRate = -1 }})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	operator(t, srv, "luis", oin)

	nc, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	defer nc.Close()
	fr := chat.NewFrameReader(nc, 0)
	read := func() chat.Message {
		t.Helper()
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		f, err := fr.Read()
		require.NoError(t, err)
		m, err := chat.Decode(f)
		require.NoError(t, err)
		return m
	}
	nc.Write(chat.AppendMessage(nil, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "ana"}))
	var conv int64
	for conv == 0 {
		if w, ok := read().(*chat.Welcome); ok {
			conv = w.ConversationID
		}
	}
	oin.wait(t, "the assignment", isAssigned(conv))
	const n = 300 // several times the per-connection in-flight bound
	var blast []byte
	var ids []string
	for i := range n {
		id := fmt.Sprint("m", i)
		blast = chat.AppendMessage(blast, &chat.Send{ClientMsgID: id, Text: fmt.Sprint("msg ", i)})
		ids = append(ids, id)
		if i == 5 { // a retry while the first is in flight
			blast = chat.AppendMessage(blast, &chat.Send{ClientMsgID: id, Text: "again"})
			ids = append(ids, id)
		}
	}
	go nc.Write(blast)
	seqOf := map[string]int64{}
	var last int64
	for i := 0; i < len(ids); {
		switch m := read().(type) {
		case *chat.Ack:
			require.Equal(t, ids[i], m.ClientMsgID, "the message of ack %d", i)
			if prev, retry := seqOf[m.ClientMsgID]; retry {
				require.Equal(t, prev, m.Seq, "the seq of the retry of %s", m.ClientMsgID)
			} else {
				require.Greater(t, m.Seq, last, "the seq of the ack of %s", m.ClientMsgID)
				seqOf[m.ClientMsgID], last = m.Seq, m.Seq
			}
			i++
		case *chat.Error:
			require.Failf(t, "an error frame", "%v", m)
		}
	}
	// The operator's POSTs: each message once, in sequence order.
	lastPost := oin.wait(t, "the last POST", isPost(conv, fmt.Sprint("msg ", n-1))).(*chat.Post) // taken from the inbox
	var texts []string
	var prev int64
	for _, p := range append(oin.posts(conv), lastPost) {
		if p.SenderRole != chat.RoleCustomer {
			continue
		}
		require.Greater(t, p.Seq, prev, "the seq of the POST of %q", p.Text)
		prev = p.Seq
		texts = append(texts, p.Text)
	}
	seen := map[string]bool{}
	for _, x := range texts {
		seen[x] = true
	}
	var missing []string
	for i := range n {
		if !seen[fmt.Sprint("msg ", i)] {
			missing = append(missing, fmt.Sprint("msg ", i))
		}
	}
	require.Len(t, texts, n, "the operator's POSTs, missing %q", missing)
	assert.Equal(t, "msg 0", texts[0], "the operator's first POST")
	assert.Equal(t, fmt.Sprint("msg ", n-1), texts[n-1], "the operator's last POST")
	tr, err := st.Transcript(ctx, conv)
	require.NoError(t, err)
	stored := 0
	for _, m := range tr.Messages {
		if m.SenderRole == "customer" {
			require.Equal(t, fmt.Sprint("msg ", stored), m.Text, "stored message %d", stored)
			stored++
		}
	}
	assert.Equal(t, n, stored, "customer messages stored")
}
