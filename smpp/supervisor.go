package smpp

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// ConnState is a Supervisor's connection state.
type ConnState int

// Connection states.
const (
	Connecting   ConnState = iota // dialing and binding
	Bound                         // a Client is bound
	Disconnected                  // the bound session ended; reconnecting after a pause
	BindFailed                    // dial or bind failed; retrying after a pause
	Stopped                       // Close was called
)

func (s ConnState) String() string {
	return [...]string{"connecting", "bound", "disconnected", "bind failed", "stopped"}[s]
}

// SupervisorOptions configure a Supervisor. A nil pointer means defaults.
type SupervisorOptions struct {
	// MinBackoff and MaxBackoff bound the pause between attempts
	// (defaults 500ms and 60s); it doubles after every failure, with up
	// to 20% random jitter. A session that ends before it has been bound
	// for StableAfter counts as a failure too, so an SMSC that accepts
	// the bind and drops it is not redialled at MinBackoff forever.
	MinBackoff, MaxBackoff time.Duration
	// StableAfter is how long a session must stay bound for the backoff
	// to start again from MinBackoff (default 30s).
	StableAfter time.Duration
	// OnState, when set, is called on every state change, from the
	// supervisor's goroutine; err says why for Disconnected and
	// BindFailed. It must not block for long.
	OnState func(s ConnState, err error)
}

// Supervisor keeps an ESME bound: it dials and binds, and when the session
// ends (dropped connection, failed keepalive, the SMSC's unbind) it
// redials and rebinds with exponential backoff and jitter, until Close.
// It is safe for concurrent use.
type Supervisor struct {
	addr string
	o    Options
	so   SupervisorOptions

	mu      sync.Mutex
	current *Client
	ready   chan struct{} // closed while current is bound

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Supervise starts keeping a client bound to addr. It returns at once;
// the first bind happens in the background (use Wait or Submit, which
// wait for it).
func Supervise(addr string, opts *Options, sopts *SupervisorOptions) *Supervisor {
	s := &Supervisor{addr: addr, ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	if opts != nil {
		s.o = *opts
	}
	if sopts != nil {
		s.so = *sopts
	}
	if s.so.MinBackoff <= 0 {
		s.so.MinBackoff = 500 * time.Millisecond
	}
	if s.so.MaxBackoff <= 0 {
		s.so.MaxBackoff = 60 * time.Second
	}
	if s.so.StableAfter <= 0 {
		s.so.StableAfter = 30 * time.Second
	}
	go s.run()
	return s
}

func (s *Supervisor) notify(st ConnState, err error) {
	if s.so.OnState != nil {
		s.so.OnState(st, err)
	}
}

func (s *Supervisor) run() {
	defer close(s.done)
	backoff := s.so.MinBackoff
	pause := func(d time.Duration) bool {
		d += time.Duration(rand.Int64N(int64(d)/5 + 1))
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-s.stop:
			return false
		}
	}
	for {
		s.notify(Connecting, nil)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-s.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		c, err := Dial(ctx, s.addr, &s.o)
		cancel()
		if err != nil {
			select {
			case <-s.stop:
				s.notify(Stopped, nil)
				return
			default:
			}
			s.notify(BindFailed, err)
			if !pause(backoff) {
				s.notify(Stopped, nil)
				return
			}
			backoff = min(2*backoff, s.so.MaxBackoff)
			continue
		}
		boundAt := time.Now()
		// Report Bound before the client is handed out, so that no caller
		// uses a client whose state observers have not seen.
		s.notify(Bound, nil)
		s.mu.Lock()
		s.current = c
		close(s.ready)
		s.mu.Unlock()
		select {
		case <-c.Done():
		case <-s.stop:
		}
		s.mu.Lock()
		s.current = nil
		s.ready = make(chan struct{})
		s.mu.Unlock()
		select {
		case <-s.stop:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c.Unbind(ctx)
			cancel()
			s.notify(Stopped, nil)
			return
		default:
		}
		err = c.Err()
		c.Close()
		s.notify(Disconnected, err)
		if time.Since(boundAt) >= s.so.StableAfter {
			backoff = s.so.MinBackoff
		}
		if !pause(backoff) {
			s.notify(Stopped, nil)
			return
		}
		backoff = min(2*backoff, s.so.MaxBackoff)
	}
}

// Wait waits until a client is bound and returns it, or ctx's error, or
// ErrClosed after Close.
func (s *Supervisor) Wait(ctx context.Context) (*Client, error) {
	for {
		s.mu.Lock()
		c, ready := s.current, s.ready
		s.mu.Unlock()
		if c != nil {
			return c, nil
		}
		select {
		case <-ready:
		case <-s.stop:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Current returns the bound client, or nil while there is none. It does
// not block.
func (s *Supervisor) Current() *Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// Submit submits on the bound client, waiting for one under ctx. When the
// session ends before the submit_sm was handed to the connection (it is
// SafeToRetry), it is submitted again on the next session; when it may
// have reached the SMSC, the *SendError is returned and the caller
// decides (resending may duplicate the message).
func (s *Supervisor) Submit(ctx context.Context, sm *pdu.SubmitSM) (string, error) {
	for {
		c, err := s.Wait(ctx)
		if err != nil {
			return "", err
		}
		id, err := c.Submit(ctx, sm)
		if err == nil || !SafeToRetry(err) || errors.Is(err, ErrState) || ctx.Err() != nil {
			return id, err
		}
		// The session is ending: wait for it, then for the next one.
		select {
		case <-c.Done():
		case <-ctx.Done():
			return "", err
		}
	}
}

// Close unbinds the current client (waiting up to 5s) and stops
// reconnecting. It is idempotent and waits for the supervisor's goroutine.
func (s *Supervisor) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return nil
}
