package gateway

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// Store is what the gateway needs of a store.Store.
type Store interface {
	store.SMSStore
	InTx(ctx context.Context, fn func(tx store.Ops) error) error
}

// Config configures a Gateway. Only Store is required.
type Config struct {
	Store Store
	// Numbering normalizes destination numbers before routing.
	Numbering Numbering
	// ReloadInterval is how often operators are read from the store
	// (default 5s): adding, changing, disabling or removing one takes
	// effect within it, without a restart. Reload forces it.
	ReloadInterval time.Duration
	// ClaimBatch is the most transmissions claimed at once (default 200).
	ClaimBatch int
	// MaxAttempts is how many times a transmission is tried before it
	// fails (default 5). Temporary errors (ESME_RTHROTTLED,
	// ESME_RMSGQFUL, timeouts, lost connections) count.
	MaxAttempts int
	// RetryBackoff is the pause before the second attempt; it doubles
	// for each further one, up to MaxRetryBackoff (defaults 2s and 5m).
	RetryBackoff, MaxRetryBackoff time.Duration
	// HealthReportInterval is how often each running operator's health
	// (sessions bound, since when none is, the last session error,
	// throughput) is written to the store for other processes to show
	// (default 5s; see Gateway.Operators). Reports carry the interval;
	// one older than three of its writer's intervals is not shown. When
	// Run ends, or a disabled operator stops, a last report marked
	// Stopped is written.
	HealthReportInterval time.Duration
	// StaleAfter is how long a claim lives without being renewed (default
	// 30s). A gateway renews the claims of the transmissions it is
	// submitting every StaleAfter/3 (a heartbeat), however long a submit
	// takes; the claims of a process that died (between submit and
	// record) lapse, and the other processes put them back in the queue
	// within StaleAfter and a third. Keep it above the clock skew between
	// the machines sharing a store.
	StaleAfter time.Duration
	// MaxParts caps the parts of one message (default 10).
	MaxParts int
	// MaxBatchRows caps a CSV batch (default 1,000,000).
	MaxBatchRows int
	// Writers is how many transactions record outcomes at once (default
	// 1). One is fastest on both stores: a transaction records its whole
	// group of receipts and submissions in a few set-based statements,
	// and with several, a receipt can be recorded beside, not after, the
	// submission it is for, and takes the slower path of a receipt that
	// came first (on PostgreSQL 7,057 msgs/s with one, 3,167 with four).
	Writers int
	// SubmitTimeout bounds one transmission's submit, all parts,
	// including the wait for a response that comes after the operator's
	// response timeout (default 2m). Keep it well above the operators'
	// gateway.response_timeout.
	SubmitTimeout time.Duration
	// FailoverAfter is how long an operator may have no bound session
	// before its queued messages go to the next healthy operator that
	// takes their numbers (default 30s; see store.Operator.Priority).
	FailoverAfter time.Duration
	// OpenModem opens a modem operator's device (default OpenSerial, a
	// serial port at the operator's baud rate). Give another to reach
	// modems some other way (a TCP-to-serial bridge, a simulator).
	OpenModem func(ctx context.Context, s store.ModemSettings) (io.ReadWriteCloser, error)
	// Logger receives operational events (nil: none).
	Logger *slog.Logger
}

func (c *Config) defaults() {
	c.ReloadInterval = orDuration(c.ReloadInterval, 5*time.Second)
	c.RetryBackoff = orDuration(c.RetryBackoff, 2*time.Second)
	c.MaxRetryBackoff = orDuration(c.MaxRetryBackoff, 5*time.Minute)
	c.StaleAfter = orDuration(c.StaleAfter, 30*time.Second)
	c.HealthReportInterval = orDuration(c.HealthReportInterval, 5*time.Second)
	c.FailoverAfter = orDuration(c.FailoverAfter, 30*time.Second)
	c.SubmitTimeout = orDuration(c.SubmitTimeout, 2*time.Minute)
	if c.ClaimBatch <= 0 {
		c.ClaimBatch = 200
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.MaxParts <= 0 {
		c.MaxParts = 10
	}
	if c.Writers <= 0 {
		c.Writers = 1
	}
	if c.MaxBatchRows <= 0 {
		c.MaxBatchRows = 1_000_000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.OpenModem == nil {
		c.OpenModem = OpenSerial
	}
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Gateway sends clients' batches through the configured operators and
// tracks every message to a final state. Its methods are safe for
// concurrent use. Several gateway processes may share one PostgreSQL
// store: transmissions are claimed, so none is sent by two of them.
type Gateway struct {
	cfg     Config
	st      Store
	process string // host:pid:random, in health reports

	healthMu   sync.Mutex // serializes health report writes
	healthDone bool       // the last reports are written: write no more
	rec        *recorder

	reloadMu  sync.Mutex // one reload at a time
	mu        sync.Mutex
	runners   map[int64]*runner // by operator id
	routes    *Router
	runCtx    context.Context // set by Run (once)
	reloadNow chan struct{}

	claimsMu sync.Mutex
	claims   map[int64]struct{} // transmissions being submitted: their claims are renewed
	// claimingAt counts the claims being made, by their start time (the
	// claimed_at of their rows).
	claimingAt map[time.Time]int

	stats map[int64]*opStats   // by operator id, kept across its runners (a change restarts the runner); g.mu
	taken map[int64]*recentSet // replies lately stored from modem operators, by operator id; g.mu
}

// statsOf returns the operator's counters, made on first use.
func (g *Gateway) statsOf(id int64) *opStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats[id]
	if s == nil {
		s = new(opStats)
		g.stats[id] = s
	}
	return s
}

// claiming notes that a claim is about to be made and returns its time,
// which claimed must be given once it is made (whatever it took).
func (g *Gateway) claiming() time.Time {
	now := time.Now()
	g.claimsMu.Lock()
	g.claimingAt[now]++
	g.claimsMu.Unlock()
	return now
}

// claimed notes transmissions being submitted, released when recorded,
// and ends the claim begun at at.
func (g *Gateway) claimed(at time.Time, ts []store.Transmission) {
	g.claimsMu.Lock()
	for _, t := range ts {
		g.claims[t.ID] = struct{}{}
	}
	if g.claimingAt[at]--; g.claimingAt[at] <= 0 {
		delete(g.claimingAt, at)
	}
	g.claimsMu.Unlock()
}

// staleCutoff is the claimed_at before which claims are stale as of now:
// StaleAfter before now, and never after a claim of this process still
// being made (its rows carry its start time and are not in the heartbeat's
// list yet: a slow claim must not look stale to our own sweep).
func (g *Gateway) staleCutoff(now time.Time) time.Time {
	cutoff := now.Add(-g.cfg.StaleAfter)
	g.claimsMu.Lock()
	for at := range g.claimingAt {
		if !at.After(cutoff) {
			cutoff = at.Add(-time.Microsecond)
		}
	}
	g.claimsMu.Unlock()
	return cutoff
}

func (g *Gateway) released(id int64) {
	g.claimsMu.Lock()
	delete(g.claims, id)
	g.claimsMu.Unlock()
}

// renewClaims is the heartbeat that keeps this process's claims alive,
// renewed as of now.
func (g *Gateway) renewClaims(ctx context.Context, now time.Time) {
	g.claimsMu.Lock()
	ids := make([]int64, 0, len(g.claims))
	for id := range g.claims {
		ids = append(ids, id)
	}
	g.claimsMu.Unlock()
	if _, err := g.st.RenewClaims(ctx, ids, now); err != nil && ctx.Err() == nil {
		g.cfg.Logger.Error("renewing claims", "err", err)
	}
}

// New returns a gateway; Run starts it.
func New(cfg Config) (*Gateway, error) {
	if cfg.Store == nil {
		return nil, errors.New("gateway: no store")
	}
	cfg.defaults()
	host, _ := os.Hostname()
	return &Gateway{cfg: cfg, st: cfg.Store, process: processName(host), runners: map[int64]*runner{}, reloadNow: make(chan struct{}, 1),
		claims: map[int64]struct{}{}, claimingAt: map[time.Time]int{}, stats: map[int64]*opStats{}, taken: map[int64]*recentSet{},
		rec: newRecorder(cfg.Store, 500, cfg.Writers)}, nil
}

// Run connects to the enabled operators and dispatches until ctx ends;
// then it stops claiming, lets the submits in flight finish and be
// recorded (up to SubmitTimeout), unbinds, and returns nil. It may be
// called once.
func (g *Gateway) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.runCtx != nil {
		g.mu.Unlock()
		return errors.New("gateway: Run called twice")
	}
	g.runCtx = ctx
	g.mu.Unlock()
	go g.rec.run()
	defer g.rec.close()

	if err := g.reload(ctx); err != nil {
		g.cfg.Logger.Error("loading operators", "err", err)
	}
	reload := time.NewTicker(g.cfg.ReloadInterval)
	defer reload.Stop()
	// The heartbeat goes on while the last submits finish (stopAll).
	defer every(context.WithoutCancel(ctx), max(g.cfg.StaleAfter/3, 10*time.Millisecond), func(ctx context.Context) {
		// The sweep's cutoff is taken from the renewal's time, not from
		// after it: a renewal slower than StaleAfter (a loaded database)
		// must not leave this process's own claims looking stale to its
		// own sweep, which requeued live messages to be sent twice.
		// The claims still being made are part of the cutoff as they are
		// now, before the renewal: one that ends during a slow renewal
		// is in neither the renewal's list nor claimingAt afterwards.
		now := time.Now()
		cutoff := g.staleCutoff(now)
		g.renewClaims(ctx, now)
		g.requeueStale(ctx, cutoff)
	})()
	defer every(ctx, healthCheck, g.checkHealth)()
	defer every(ctx, g.cfg.HealthReportInterval, g.reportHealth)()
	g.requeueStale(ctx, g.staleCutoff(time.Now()))
	g.sweepOrphans(ctx)
	defer every(ctx, min(12*g.cfg.ReloadInterval, time.Minute), g.sweepOrphans)()
	for {
		select {
		case <-ctx.Done():
			g.writeLastHealth(g.stopAll(), true)
			return nil
		case <-reload.C:
		case <-g.reloadNow:
		}
		if err := g.reload(ctx); err != nil && ctx.Err() == nil {
			g.cfg.Logger.Error("reloading operators", "err", err)
		}
	}
}

// Reload asks Run to read the operators again now.
func (g *Gateway) Reload() {
	select {
	case g.reloadNow <- struct{}{}:
	default:
	}
}

// requeueStale requeues the claims not renewed since cutoff (see
// staleCutoff).
func (g *Gateway) requeueStale(ctx context.Context, cutoff time.Time) {
	n, err := g.st.RequeueStale(ctx, cutoff)
	if err != nil && ctx.Err() == nil {
		g.cfg.Logger.Error("requeueing stale claims", "err", err)
	}
	if n > 0 {
		g.cfg.Logger.Warn("requeued stale claims: their submits may have reached the SMSC", "count", n)
		g.kick()
	}
}

// reload reads the operators, rebuilds the router, and starts, restarts
// or stops runners to match.
func (g *Gateway) reload(ctx context.Context) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	ops, err := g.st.Operators(ctx)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.routes = NewRouter(ops)
	runCtx := g.runCtx
	g.mu.Unlock()
	if runCtx == nil || runCtx.Err() != nil {
		return nil // not running (yet, or any more): routing only
	}
	want := map[int64]store.Operator{}
	exists := map[int64]bool{}
	for _, op := range ops {
		exists[op.ID] = true
		if op.Enabled {
			want[op.ID] = op
		}
	}
	g.mu.Lock()
	var stop []*runner
	for id, r := range g.runners {
		if op, ok := want[id]; !ok || !op.UpdatedAt.Equal(r.p.op.UpdatedAt) {
			stop = append(stop, r)
			delete(g.runners, id)
		}
	}
	g.mu.Unlock()
	var stopped []*runner
	defer func() { g.writeLastHealth(stopped, false) }()
	for _, r := range stop {
		g.cfg.Logger.Info("stopping operator", "operator", r.p.op.Name)
		r.stop()
		if _, again := want[r.p.op.ID]; !again && exists[r.p.op.ID] {
			stopped = append(stopped, r) // disabled: its last report says so
		}
		if exists[r.p.op.ID] {
			continue
		}
		// Deleted: what its last submits put back in the queue, and what
		// was queued if no one rerouted it yet, goes elsewhere.
		res, err := g.reroute(ctx, r.p.op)
		if err != nil {
			g.cfg.Logger.Error("rerouting a deleted operator's messages", "operator", r.p.op.Name, "err", err)
		} else if res.Moved+res.Failed+res.Ended > 0 {
			g.cfg.Logger.Warn("operator deleted: its messages rerouted", "operator", r.p.op.Name,
				"moved", res.Moved, "failed", res.Failed, "ended", res.Ended)
		}
	}
	var errs []error
	for id, op := range want {
		g.mu.Lock()
		_, running := g.runners[id]
		g.mu.Unlock()
		if running {
			continue
		}
		p, err := newProfile(op)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := newRunner(g, p)
		if op.Kind == store.KindModem {
			g.cfg.Logger.Info("starting operator", "operator", op.Name, "kind", op.Kind, "device", op.Modem.Device)
		} else {
			g.cfg.Logger.Info("starting operator", "operator", op.Name, "addr", p.addr, "mode", op.BindMode, "binds", max(op.Binds, 1))
		}
		r.start(runCtx) // before it is shared: start sets its sessions
		g.mu.Lock()
		g.runners[id] = r
		g.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (g *Gateway) stopAll() []*runner {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.mu.Lock()
	rs := make([]*runner, 0, len(g.runners))
	for id, r := range g.runners {
		rs = append(rs, r)
		delete(g.runners, id)
	}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() { defer wg.Done(); r.stop() }()
	}
	wg.Wait()
	return rs
}

// processName names this gateway in health reports: host and pid, and a
// random suffix so that two gateways in one process, or processes of
// the same pid on hosts of the same name (containers), stay apart.
func processName(host string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%x", cmp.Or(host, "localhost"), os.Getpid(), b)
}

// router returns the current router, reading operators if none was read.
func (g *Gateway) router(ctx context.Context) (*Router, error) {
	g.mu.Lock()
	r := g.routes
	g.mu.Unlock()
	if r != nil {
		return r, nil
	}
	if err := g.reload(ctx); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.routes, nil
}

// kick wakes the dispatchers (new work was queued).
func (g *Gateway) kick() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.runners {
		r.kick()
	}
}

func (g *Gateway) client(ctx context.Context, name string) (store.Client, error) {
	c, err := g.st.ClientByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		c = store.Client{Name: name}
		err = g.st.CreateClient(ctx, &c)
		if errors.Is(err, store.ErrDuplicate) { // created meanwhile
			c, err = g.st.ClientByName(ctx, name)
		}
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("gateway: client %q: %w", name, err)
	}
	return c, nil
}

// every runs fn every d, apart from the caller, until the returned stop
// is called or ctx ends; stop waits for fn's last run.
func every(ctx context.Context, d time.Duration, fn func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			fn(ctx)
		}
	}()
	return func() { cancel(); <-done }
}
