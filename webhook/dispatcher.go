package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// Store is what a Dispatcher needs: the outbox and the lookups that
// describe events. A [store.Store] is one.
type Store interface {
	store.WebhookStore
	Lookups
}

// Dispatcher sends due deliveries. Set its fields before Run; the zero
// values are the defaults. It is safe to run Dispatchers on one database
// from several processes.
type Dispatcher struct {
	Store Store
	// Client sends the requests. nil: a client that follows no redirect
	// (a redirect is a failed attempt: an endpoint's URL is what its
	// administrator set, not where it points to).
	Client *http.Client
	// Workers is how many requests are in flight at most (default 4).
	Workers int
	// Timeout bounds one request, answer included (default 15 s).
	Timeout time.Duration
	// Lease is how long a claimed delivery is left to this dispatcher
	// before another may take it (default 4 × Timeout). It must exceed
	// Timeout, or slow endpoints get their events twice.
	Lease time.Duration
	// Poll is how often Run looks for due deliveries when there were none
	// (default 1 s); Wake makes it look at once.
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait before a failed delivery's
	// next try: MinBackoff × 2^(tries-1), ±20 %, at most MaxBackoff
	// (defaults, also for values that are not positive: 5 s and 1 h). A Retry-After the endpoint sends with 429
	// or 503 is honoured within the same bound.
	MinBackoff, MaxBackoff time.Duration
	// MaxTries is how many tries a delivery gets before it is failed
	// (default 15: about 10 hours with the default backoff).
	MaxTries int
	// Retention is how long delivered and failed deliveries are kept
	// (default 30 days; negative keeps them for ever). Run purges older
	// ones at its start and every hour.
	Retention time.Duration
	// MaxBody caps the payload sent (default 1 MiB); a larger one is
	// failed at once.
	MaxBody int
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	wake      chan struct{}
	wakeOnce  sync.Once
	delivered atomic.Int64
	retried   atomic.Int64
	failed    atomic.Int64
}

// Stats counts a Dispatcher's attempts since it was made.
type Stats struct {
	Delivered int64 // answered 2xx
	Retried   int64 // failed attempts to be tried again
	Failed    int64 // deliveries given up
}

// Stats returns the counts so far. It is safe to call at any time.
func (d *Dispatcher) Stats() Stats {
	return Stats{Delivered: d.delivered.Load(), Retried: d.retried.Load(), Failed: d.failed.Load()}
}

func (d *Dispatcher) init() {
	d.wakeOnce.Do(func() { d.wake = make(chan struct{}, 1) })
}

// Wake makes a running Run look for due deliveries now (after a replay,
// or a change the caller knows of). It never blocks.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) timeout() time.Duration { return cmp.Or(d.Timeout, 15*time.Second) }
func (d *Dispatcher) workers() int           { return max(cmp.Or(d.Workers, 4), 1) }

func (d *Dispatcher) lease() time.Duration {
	return max(cmp.Or(d.Lease, 4*d.timeout()), d.timeout()+time.Second)
}

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (d *Dispatcher) client() *http.Client { return cmp.Or(d.Client, noRedirects) }

// Run sends due deliveries until ctx is cancelled, then waits for the
// requests in flight (each bounded by Timeout) and returns nil. A store
// error is logged and retried after Poll; Run does not give up on it.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	sem := make(chan struct{}, d.workers())
	var wg sync.WaitGroup
	defer wg.Wait()
	poll := cmp.Or(d.Poll, time.Second)
	var purged time.Time
	for {
		if now := d.now(); now.Sub(purged) >= time.Hour {
			purged = now
			if _, err := d.Purge(ctx); err != nil && ctx.Err() == nil {
				d.logger().Error("webhook: purge deliveries", "err", err)
			}
		}
		// Claim as many as there are idle workers, waiting for one.
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		free := 1
		for free < cap(sem) {
			select {
			case sem <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		ds, err := d.Store.ClaimWebhookDeliveries(ctx, free, d.now(), d.lease())
		if err != nil && ctx.Err() == nil {
			d.logger().Error("webhook: claim deliveries", "err", err)
		}
		for i := len(ds); i < free; i++ {
			<-sem
		}
		for _, dl := range ds {
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				d.attempt(context.WithoutCancel(ctx), dl)
			}()
		}
		if len(ds) == free && err == nil {
			continue // there may be more
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Purge deletes the deliveries that ended more than Retention ago, a
// thousand per transaction, and returns how many.
func (d *Dispatcher) Purge(ctx context.Context) (int, error) {
	keep := cmp.Or(d.Retention, 30*24*time.Hour)
	if keep < 0 {
		return 0, nil
	}
	total := 0
	for {
		n, err := d.Store.PurgeWebhookDeliveries(ctx, d.now().Add(-keep), 1000)
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}

// Flush sends every delivery due now, waiting for each, and returns how
// many it attempted. It is Run's work without the waiting: for tests and
// one-shot programs.
func (d *Dispatcher) Flush(ctx context.Context) (int, error) {
	n := 0
	for {
		ds, err := d.Store.ClaimWebhookDeliveries(ctx, d.workers(), d.now(), d.lease())
		if err != nil || len(ds) == 0 {
			return n, err
		}
		var wg sync.WaitGroup
		for _, dl := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.attempt(ctx, dl)
			}()
		}
		wg.Wait()
		n += len(ds)
	}
}

// attempt sends one claimed delivery and records the outcome. The body
// is built and stored before the first send (StartWebhookAttempt), so
// that every copy of an event is the same, and a delivery deleted or
// taken over meanwhile is not sent. The outcome's write gets its own
// deadline: it must not be lost to the caller's cancellation once the
// endpoint has answered.
func (d *Dispatcher) attempt(ctx context.Context, dl store.WebhookDelivery) {
	a := store.WebhookAttempt{ID: dl.ID, Attempt: dl.Attempts}
	body := dl.Payload
	if body == nil {
		var err error
		if body, err = Payload(ctx, d.Store, dl); err != nil {
			a.Error = "describe the event: " + err.Error()
			d.finish(ctx, dl, a, 0)
			return
		}
	}
	if max := cmp.Or(d.MaxBody, 1<<20); len(body) > max {
		a.Error = fmt.Sprintf("payload of %d bytes over the limit of %d", len(body), max)
		d.finish(ctx, dl, a, -1)
		return
	}
	body, ep, err := d.Store.StartWebhookAttempt(ctx, dl.ID, dl.Attempts, body)
	switch {
	case errors.Is(err, store.ErrNotFound):
		d.logger().Info("webhook: delivery gone or taken over before its attempt", "delivery", dl.ID, "event", dl.Key)
		return
	case err != nil:
		a.Error = "start the attempt: " + err.Error()
		d.finish(ctx, dl, a, 0)
		return
	}
	status, retryAfter, err := d.send(ctx, ep, dl, body)
	a.Status = status
	switch {
	case err != nil:
		a.Error = err.Error()
	case status >= 200 && status < 300:
		a.Delivered = true
	default:
		a.Error = "HTTP " + strconv.Itoa(status)
	}
	d.finish(ctx, dl, a, retryAfter)
}

// send POSTs body to the endpoint. It returns the status (0 if none came),
// the wait the endpoint asked for with Retry-After, and the error of a
// request that got no answer.
func (d *Dispatcher) send(ctx context.Context, e store.WebhookEndpoint, dl store.WebhookDelivery, body []byte) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "switchboard-webhook/1")
	req.Header.Set("Switchboard-Event", dl.Event)
	req.Header.Set("Switchboard-Event-Id", dl.Key)
	req.Header.Set("Switchboard-Delivery", strconv.FormatInt(dl.ID, 10))
	req.Header.Set(SignatureHeader, Sign(e.Secret, d.now(), body))
	resp, err := d.client().Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, 0, fmt.Errorf("no answer within %v", d.timeout())
		}
		return 0, 0, err
	}
	defer resp.Body.Close()
	// Read a little of the answer so that the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	var wait time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		wait = retryAfter(resp.Header.Get("Retry-After"), d.now())
	}
	return resp.StatusCode, wait, nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 7*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// minBackoff and maxBackoff are the bounds of the backoff; a bound that
// is not positive takes its default.
func (d *Dispatcher) minBackoff() time.Duration {
	if d.MinBackoff <= 0 {
		return 5 * time.Second
	}
	return d.MinBackoff
}

func (d *Dispatcher) maxBackoff() time.Duration {
	if d.MaxBackoff <= 0 {
		return max(time.Hour, d.minBackoff())
	}
	return max(d.MaxBackoff, d.minBackoff())
}

// backoff is the wait before the try after tries failed ones.
func (d *Dispatcher) backoff(tries int) time.Duration {
	lo, hi := d.minBackoff(), d.maxBackoff()
	w := lo
	for i := 1; i < tries && w < hi; i++ {
		w *= 2
	}
	w = min(w, hi)
	return time.Duration(float64(w) * (0.8 + 0.4*rand.Float64()))
}

// finish records a's outcome. wait is the endpoint's Retry-After (0: the
// backoff's; -1: give up now).
func (d *Dispatcher) finish(ctx context.Context, dl store.WebhookDelivery, a store.WebhookAttempt, wait time.Duration) {
	now := d.now()
	a.At = now
	tries := dl.Tries
	switch {
	case a.Delivered:
		d.delivered.Add(1)
	case wait < 0 || tries >= cmp.Or(d.MaxTries, 15):
		d.failed.Add(1)
		d.logger().Warn("webhook: delivery given up", "delivery", dl.ID, "event", dl.Key, "tries", tries, "err", a.Error)
	default:
		d.retried.Add(1)
		w := d.backoff(tries)
		if wait > 0 {
			w = min(wait, d.maxBackoff())
		}
		a.Next = now.Add(w)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := d.Store.FinishWebhookDelivery(ctx, a); err != nil {
		// ErrNotFound: the lease ended and another claim took it over, or
		// the endpoint was deleted. Otherwise the lease will end and the
		// delivery be tried again.
		d.logger().Warn("webhook: record attempt", "delivery", dl.ID, "err", err)
	}
}
