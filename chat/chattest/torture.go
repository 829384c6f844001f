package chattest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/store"
)

// TortureConfig sizes a resume torture (see Torture). Zero fields take
// the defaults.
type TortureConfig struct {
	// Store is the store under test (default: a MemStore).
	Store store.ChatStore
	// Customers is the number of customers, all served by one operator
	// (default 4).
	Customers int
	// PerSender is how many messages each customer sends to its
	// conversation and the operator sends to each conversation (default
	// 1,000).
	PerSender int
	// DropEvery is how often a random connection (a customer's or the
	// operator's) is cut (default 5ms).
	DropEvery time.Duration
	// Timeout bounds the whole run (default 2m).
	Timeout time.Duration
	// Transport, when set, is how the clients reach the server (another
	// transport than TCP, such as WebSocket): given the started server,
	// it returns the function that makes a client's connection and a
	// function to call at the end. nil: TCP to srv.Addr.
	Transport func(srv *Server) (dial func(ctx context.Context, addr string) (net.Conn, error), stop func())
}

// TortureReport is what a torture did and found.
type TortureReport struct {
	Messages int           // messages stored in the conversations
	Drops    int           // connections cut
	Elapsed  time.Duration // from the first send to the last delivery
	// Deliveries counts, over every participant, the messages it was
	// given (as POST, or as the ACK of its own SEND).
	Deliveries int
	Missing    int // messages some participant never got
	Repeated   int // messages some participant got more than once
	Disordered int // POSTs a participant got out of sequence order
}

func (r TortureReport) String() string {
	return fmt.Sprintf("%d messages, %d connections cut, %d deliveries in %v (%.0f/s): %d missing, %d repeated, %d out of order",
		r.Messages, r.Drops, r.Deliveries, r.Elapsed.Round(time.Millisecond), float64(r.Deliveries)/r.Elapsed.Seconds(),
		r.Missing, r.Repeated, r.Disordered)
}

// Torture runs customers and their operator sending at full speed, each
// side from several goroutines, while their connections are cut again
// and again (the clients reconnect and resume), and checks the chat's
// promise: every stored message reaches every participant of its
// conversation exactly once, in sequence order (a participant's own
// messages by their ACK). It returns an error naming the first
// violations, if any, and a report either way. Use it to check a store
// of your own, or a server configuration, against that promise.
func Torture(ctx context.Context, cfg TortureConfig) (TortureReport, error) {
	if cfg.Store == nil {
		cfg.Store = NewMemStore()
	}
	customers := max(cfg.Customers, 1)
	if cfg.Customers == 0 {
		customers = 4
	}
	per := cfg.PerSender
	if per <= 0 {
		per = 1000
	}
	dropEvery := cfg.DropEvery
	if dropEvery <= 0 {
		dropEvery = 5 * time.Millisecond
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	srv := NewServer(&Config{Store: cfg.Store, Operators: map[string]string{"op": "pw"},
		Configure: func(s *chat.Server) { s.MessageRate = -1; s.MaxConversations = customers }})
	defer srv.Close()
	var dial func(ctx context.Context, addr string) (net.Conn, error)
	if cfg.Transport != nil {
		var stop func()
		dial, stop = cfg.Transport(srv)
		defer stop()
	}

	var rep TortureReport
	opNet, opSeen := &Cutter{Dialer: dial}, newTally()
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "op", Password: "pw",
		Reconnect: true, MaxReconnectDelay: 50 * time.Millisecond, Dialer: opNet.Dial, Handler: opSeen.handle})
	if err != nil {
		return rep, err
	}
	defer op.Close()
	nets := []*Cutter{opNet}
	custs := make([]*chat.Client, customers)
	seen := make([]*tally, customers)
	convs := make([]int64, customers)
	for i := range customers {
		d := &Cutter{Dialer: dial}
		seen[i] = newTally()
		c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: fmt.Sprint("Customer ", i), CustomerID: fmt.Sprint(i),
			Reconnect: true, MaxReconnectDelay: 50 * time.Millisecond, Dialer: d.Dial, Handler: seen[i].handle})
		if err != nil {
			return rep, err
		}
		defer c.Close()
		nets, custs[i], convs[i] = append(nets, d), c, c.ConversationID()
	}
	if err := waitFor(ctx, func() bool {
		for _, id := range convs {
			if rec, err := cfg.Store.Conversation(ctx, id); err != nil || rec.State != store.ConversationActive {
				return false
			}
		}
		return true
	}); err != nil {
		return rep, fmt.Errorf("chattest: the operator was never assigned every customer: %w", err)
	}

	start := time.Now()
	stopDrops, dropsDone := make(chan struct{}), make(chan int)
	go func() {
		drops := 0
		defer func() { dropsDone <- drops }()
		t := time.NewTicker(dropEvery)
		defer t.Stop()
		for {
			select {
			case <-stopDrops:
				return
			case <-t.C:
				nets[rand.IntN(len(nets))].Cut()
				drops++
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 2*customers+4)
	send := func(who string, c *chat.Client, w *tally, n int, conv func(j int) int64) {
		defer wg.Done()
		for j := range n {
			id := conv(j)
			a, err := c.SendTo(ctx, id, "", fmt.Sprintf("%s-%d", who, j))
			if err != nil {
				errs <- fmt.Errorf("%s: %w", who, err)
				return
			}
			w.own(id, a.Seq)
		}
	}
	for i, c := range custs {
		for g := range 2 {
			wg.Add(1)
			go send(fmt.Sprintf("c%d.%d", i, g), c, seen[i], per/2, func(int) int64 { return 0 })
		}
	}
	for g := range 4 {
		wg.Add(1)
		go send(fmt.Sprintf("o%d", g), op, opSeen, per*customers/4, func(j int) int64 { return convs[(j+g)%customers] })
	}
	wg.Wait()
	close(stopDrops)
	rep.Drops = <-dropsDone
	close(errs)
	if err := <-errs; err != nil {
		return rep, err
	}
	// A client that gave up (a reconnect refused) is a failure of its own.
	for i, c := range append([]*chat.Client{op}, custs...) {
		if err := c.Err(); err != nil {
			return rep, fmt.Errorf("chattest: client %d ended: %w", i, err)
		}
	}
	// Own messages of customers are acknowledged under conversation 0.
	for i := range seen {
		seen[i].rename(0, convs[i])
	}

	var problems []string
	for i, id := range convs {
		tr, err := cfg.Store.Transcript(ctx, id)
		if err != nil {
			return rep, err
		}
		rep.Messages += len(tr.Messages)
		last := tr.Conversation.LastSeq
		for _, p := range []struct {
			who string
			w   *tally
		}{{fmt.Sprint("customer ", i), seen[i]}, {"operator", opSeen}} {
			waitFor(ctx, func() bool { return p.w.covered(id, last) })
			missing, repeated, disordered, delivered := p.w.check(id, tr.Messages)
			rep.Missing, rep.Repeated, rep.Disordered, rep.Deliveries = rep.Missing+missing, rep.Repeated+repeated,
				rep.Disordered+disordered, rep.Deliveries+delivered
			if missing+repeated+disordered > 0 && len(problems) < 8 {
				problems = append(problems, fmt.Sprintf("%s, conversation %d: %d missing, %d repeated, %d out of order",
					p.who, id, missing, repeated, disordered))
			}
		}
	}
	rep.Elapsed = time.Since(start)
	if len(problems) > 0 {
		return rep, errors.New("chattest: " + strings.Join(problems, "; "))
	}
	return rep, nil
}

func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Cutter dials connections (ClientOptions.Dialer) that a test can cut,
// as a network would, to test reconnects. It is safe for concurrent use.
type Cutter struct {
	// Dialer makes the connections (nil: TCP).
	Dialer func(ctx context.Context, addr string) (net.Conn, error)

	mu   sync.Mutex
	conn net.Conn
}

// Dial dials addr and remembers the connection.
func (d *Cutter) Dial(ctx context.Context, addr string) (net.Conn, error) {
	var nc net.Conn
	var err error
	if d.Dialer != nil {
		nc, err = d.Dialer(ctx, addr)
	} else {
		nc, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err == nil {
		d.mu.Lock()
		d.conn = nc
		d.mu.Unlock()
	}
	return nc, err
}

// Cut closes the last connection dialed.
func (d *Cutter) Cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
	}
}

// tally records what a client was given, per conversation.
type tally struct {
	mu    sync.Mutex
	posts map[int64][]int64          // POST seqs in arrival order
	texts map[int64]map[int64]string // seq -> text
	owned map[int64][]int64          // seqs of the client's own acknowledged SENDs
}

func newTally() *tally {
	return &tally{posts: map[int64][]int64{}, texts: map[int64]map[int64]string{}, owned: map[int64][]int64{}}
}

func (w *tally) handle(m chat.Message) {
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

func (w *tally) own(conv, seq int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.owned[conv] = append(w.owned[conv], seq)
}

func (w *tally) rename(from, to int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.owned[from]; ok {
		w.owned[to] = append(w.owned[to], s...)
		delete(w.owned, from)
	}
}

// covered reports whether every seq 1..last came, as POST or ACK.
func (w *tally) covered(conv, last int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := make(map[int64]bool, last)
	for _, s := range w.posts[conv] {
		seen[s] = true
	}
	for _, s := range w.owned[conv] {
		seen[s] = true
	}
	return int64(len(seen)) >= last
}

// check counts, against the stored messages of conv, what never came,
// what came more than once, and POSTs that came out of order; and what
// came in all.
func (w *tally) check(conv int64, stored []store.Message) (missing, repeated, disordered, delivered int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	posts := w.posts[conv]
	for i := 1; i < len(posts); i++ {
		if posts[i] <= posts[i-1] {
			disordered++
		}
	}
	got := map[int64]int{}
	for _, s := range posts {
		got[s]++
	}
	for _, s := range w.owned[conv] {
		got[s]++
	}
	for _, m := range stored {
		switch n := got[m.Seq]; {
		case n == 0:
			missing++
		case n > 1:
			repeated++
		}
		if text, ok := w.texts[conv][m.Seq]; ok && text != m.Text {
			missing++ // what came under its number is another message
		}
		delivered += min(got[m.Seq], 1)
	}
	return missing, repeated, disordered, delivered
}
