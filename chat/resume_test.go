package chat_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// droppable dials connections the test can cut, as a network would.
type droppable struct {
	mu   sync.Mutex
	conn net.Conn
}

func (d *droppable) dial(ctx context.Context, addr string) (net.Conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err == nil {
		d.mu.Lock()
		d.conn = nc
		d.mu.Unlock()
	}
	return nc, err
}

func (d *droppable) drop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
	}
}

// watcher records what one client's handler was given and what its own
// sends were acknowledged with, per conversation.
type watcher struct {
	mu    sync.Mutex
	posts map[int64][]int64          // handler POST seqs, in arrival order
	texts map[int64]map[int64]string // seq -> text seen
	own   map[int64][]int64          // seqs of this client's acknowledged SENDs
}

func newWatcher() *watcher {
	return &watcher{posts: map[int64][]int64{}, texts: map[int64]map[int64]string{}, own: map[int64][]int64{}}
}

func (w *watcher) handle(m chat.Message) {
	p, ok := m.(*chat.Post)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.posts[p.ConversationID] = append(w.posts[p.ConversationID], p.Seq)
	if w.texts[p.ConversationID] == nil {
		w.texts[p.ConversationID] = map[int64]string{}
	}
	w.texts[p.ConversationID][p.Seq] = p.Text
}

func (w *watcher) acked(conv int64, a *chat.Ack) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.own[conv] = append(w.own[conv], a.Seq)
}

// covered reports how many of 1..last the client has (as POST or ACK).
func (w *watcher) covered(conv, last int64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[int64]bool{}
	for _, s := range w.posts[conv] {
		seen[s] = true
	}
	for _, s := range w.own[conv] {
		seen[s] = true
	}
	n := 0
	for s := int64(1); s <= last; s++ {
		if seen[s] {
			n++
		}
	}
	return n
}

// check asserts that the client got every message 1..last of conv once:
// its own as ACKs, the others as POSTs in increasing order, with the
// stored text.
func (w *watcher) check(t *testing.T, who string, conv int64, stored []store.Message) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	posts := w.posts[conv]
	assert.True(t, slices.IsSorted(posts) && len(slices.Compact(slices.Clone(posts))) == len(posts),
		"%s, conversation %d: POSTs out of order or repeated: %v", who, conv, firstDisorder(posts))
	got := map[int64]int{}
	for _, s := range posts {
		got[s]++
	}
	for _, s := range w.own[conv] {
		got[s]++
	}
	var missing, repeated []int64
	for _, m := range stored {
		switch got[m.Seq] {
		case 0:
			missing = append(missing, m.Seq)
		case 1:
		default:
			repeated = append(repeated, m.Seq)
		}
		if text, ok := w.texts[conv][m.Seq]; ok && text != m.Text {
			t.Errorf("%s, conversation %d, seq %d: got %q, stored %q", who, conv, m.Seq, text, m.Text)
		}
	}
	assert.Empty(t, missing, "%s, conversation %d: %d of %d messages never delivered", who, conv, len(missing), len(stored))
	assert.Empty(t, repeated, "%s, conversation %d: delivered more than once", who, conv)
}

func firstDisorder(seqs []int64) string {
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			return fmt.Sprintf("at %d: ... %v ...", i, seqs[max(0, i-3):min(len(seqs), i+3)])
		}
	}
	return "none"
}

// resumeTorture runs customers and one operator that send at full speed
// while their connections are cut again and again, and checks that every
// participant got every stored message of its conversations exactly once
// and in order.
func resumeTorture(t *testing.T, st store.ChatStore, customers, perSender int, dropEvery time.Duration) {
	srv := chattest.NewServer(&chattest.Config{Store: st, Operators: map[string]string{"op": "pw"},
		Configure: func(s *chat.Server) { s.MessageRate = -1; s.MaxConversations = customers }})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	opNet, opSeen := &droppable{}, newWatcher()
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "op", Password: "pw",
		Reconnect: true, MaxReconnectDelay: 50 * time.Millisecond, Dialer: opNet.dial, Handler: opSeen.handle})
	require.NoError(t, err)
	defer op.Close()

	nets := []*droppable{opNet}
	var custs []*chat.Client
	var seen []*watcher
	var convs []int64
	for i := range customers {
		d, w := &droppable{}, newWatcher()
		c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: fmt.Sprint("Customer ", i), CustomerID: fmt.Sprint(i),
			Reconnect: true, MaxReconnectDelay: 50 * time.Millisecond, Dialer: d.dial, Handler: w.handle})
		require.NoError(t, err)
		defer c.Close()
		nets, custs, seen, convs = append(nets, d), append(custs, c), append(seen, w), append(convs, c.ConversationID())
	}
	// Wait until the operator serves them all.
	require.Eventually(t, func() bool {
		for _, id := range convs {
			rec, err := st.Conversation(ctx, id)
			if err != nil || rec.State != store.ConversationActive {
				return false
			}
		}
		return true
	}, 20*time.Second, 10*time.Millisecond)

	// Cut connections while everybody sends.
	stopDrops := make(chan struct{})
	dropsDone := make(chan int)
	go func() {
		drops := 0
		defer func() { dropsDone <- drops }()
		for {
			select {
			case <-stopDrops:
				return
			case <-time.After(dropEvery):
				nets[rand.IntN(len(nets))].drop()
				drops++
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 4*customers+8)
	for i, c := range custs {
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range perSender / 2 {
					a, err := c.Send(ctx, fmt.Sprintf("c%d-%d-%d", i, g, j))
					if err != nil {
						errs <- fmt.Errorf("customer %d: %w", i, err)
						return
					}
					seen[i].acked(convs[i], a)
				}
			}()
		}
	}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perSender * customers / 4 {
				conv := convs[(j+g)%customers]
				a, err := op.SendTo(ctx, conv, "", fmt.Sprintf("o%d-%d", g, j))
				if err != nil {
					errs <- fmt.Errorf("operator: %w", err)
					return
				}
				opSeen.acked(conv, a)
			}
		}()
	}
	wg.Wait()
	close(stopDrops)
	drops := <-dropsDone
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	// Every participant ends up with every stored message, once, in order.
	for i, id := range convs {
		tr, err := st.Transcript(ctx, id)
		require.NoError(t, err)
		last := tr.Conversation.LastSeq
		require.GreaterOrEqual(t, last, int64(2*perSender), "conversation %d", id)
		for _, p := range []struct {
			who string
			w   *watcher
		}{{fmt.Sprint("customer ", i), seen[i]}, {"operator", opSeen}} {
			assert.Eventually(t, func() bool { return p.w.covered(id, last) == int(last) }, 30*time.Second, 10*time.Millisecond,
				"%s never got all %d messages of conversation %d (has %d)", p.who, last, id, p.w.covered(id, last))
			p.w.check(t, p.who, id, tr.Messages)
		}
	}
	t.Logf("%d customers, %d messages a sender, %d connections cut", customers, perSender, drops)
}

// TestResumeDeliversEveryAckedMessageOnceInOrder cuts the connections of
// customers and of their operator again and again while both sides send
// at full speed: every message reaches every participant exactly once,
// in sequence order, on the in-memory store and on SQLite.
func TestResumeDeliversEveryAckedMessageOnceInOrder(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		resumeTorture(t, chattest.NewMemStore(), 4, 4000, 5*time.Millisecond)
	})
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), nil)
		require.NoError(t, err)
		defer st.Close()
		resumeTorture(t, st, 4, 500, 5*time.Millisecond)
	})
}

// rawConn is a connection speaking the protocol by hand, with no client
// logic (no gap filling) between the server and the test.
type rawConn struct {
	t    *testing.T
	nc   net.Conn
	fr   *chat.FrameReader
	conv int64 // for tests that keep it here
}

func dialRaw(t *testing.T, addr string, hello *chat.Hello) (*rawConn, *chat.Welcome) {
	t.Helper()
	return dialRawBytes(t, addr, chat.AppendMessage(nil, hello))
}

// dialRawBytes sends hello as it is and expects a WELCOME.
func dialRawBytes(t *testing.T, addr string, hello []byte) (*rawConn, *chat.Welcome) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	r := &rawConn{t: t, nc: nc, fr: chat.NewFrameReader(nc, 0)}
	_, err = nc.Write(hello)
	require.NoError(t, err)
	m := r.next()
	w, ok := m.(*chat.Welcome)
	require.True(t, ok, "HELLO answered with %v, not WELCOME", m)
	return r, w
}

func (r *rawConn) next() chat.Message {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := r.fr.Read()
	require.NoError(r.t, err)
	m, err := chat.Decode(f)
	require.NoError(r.t, err)
	return m
}

// postsUntil reads POSTs of conv until seq last has come, and returns
// their sequence numbers in wire order.
func (r *rawConn) postsUntil(conv, last int64) []int64 {
	r.t.Helper()
	var seqs []int64
	for len(seqs) == 0 || seqs[len(seqs)-1] < last {
		if p, ok := r.next().(*chat.Post); ok && p.ConversationID == conv {
			seqs = append(seqs, p.Seq)
		}
	}
	return seqs
}

// consecutive asserts seqs are exactly from, from+1, ..., in order.
func consecutive(t *testing.T, what string, seqs []int64, from int64) {
	t.Helper()
	for i, s := range seqs {
		if s != from+int64(i) {
			t.Fatalf("%s: at %d got seq %d, want %d (%s)", what, i, s, from+int64(i), firstDisorder(seqs))
		}
	}
}

// A connection that resumes from seq 0 into a long conversation while
// the operator floods it gets every message once, in order, on the wire:
// the history first, then live traffic, never interleaved. The same for
// an operator that logs in again with a cursor.
func TestResumeReplayNeverInterleavesWithLiveTraffic(t *testing.T) {
	const history, flood = 20000, 5000
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"op": "pw"},
		Configure: func(s *chat.Server) { s.MessageRate = -1; s.OutboundLimit = 512 << 10 }})
	defer srv.Close()
	ctx := testCtx(t)

	cust, w := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	conv := w.ConversationID
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "op", Password: "pw"})
	require.NoError(t, err)
	defer op.Close()
	require.Eventually(t, func() bool {
		rec, err := srv.Store.Conversation(ctx, conv)
		return err == nil && rec.State == store.ConversationActive
	}, 10*time.Second, 5*time.Millisecond)
	for i := range history {
		_, err := op.SendTo(ctx, conv, "", fmt.Sprint("h", i))
		require.NoError(t, err)
	}
	cust.nc.Close()

	// The flood runs while the customer resumes from the start.
	floodDone := make(chan error, 1)
	go func() {
		for i := range flood {
			if _, err := op.SendTo(ctx, conv, "", fmt.Sprint("f", i)); err != nil {
				floodDone <- err
				return
			}
		}
		floodDone <- nil
	}()
	again, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Resume: w.Resume, LastSeq: 0})
	require.NoError(t, <-floodDone)
	rec, err := srv.Store.Conversation(ctx, conv)
	require.NoError(t, err)
	consecutive(t, "customer resuming from 0", again.postsUntil(conv, rec.LastSeq), 1)

	// An operator logging in again, 100 messages behind, under a flood
	// from the customer.
	op.Close()
	custFlood := make(chan error, 1)
	go func() {
		for i := range flood {
			if _, err := again.nc.Write(chat.AppendMessage(nil, &chat.Send{ClientMsgID: fmt.Sprint("c", i), Text: "c"})); err != nil {
				custFlood <- err
				return
			}
		}
		custFlood <- nil
	}()
	behind := rec.LastSeq - 100
	opRaw, _ := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleOperator, Login: "op", Password: "pw",
		Cursors: []chat.Cursor{{ConversationID: conv, LastSeq: behind}}})
	require.NoError(t, <-custFlood)
	require.Eventually(t, func() bool {
		r, err := srv.Store.Conversation(ctx, conv)
		return err == nil && r.LastSeq >= rec.LastSeq+flood
	}, 20*time.Second, 5*time.Millisecond)
	rec, err = srv.Store.Conversation(ctx, conv)
	require.NoError(t, err)
	consecutive(t, "operator resuming with a cursor", opRaw.postsUntil(conv, rec.LastSeq), behind+1)
}
