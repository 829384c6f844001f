package mailticket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/switchboard-go/switchboard/internal/netutil"
)

// IMAPAction is what an IMAP source does with a mail after commit.
type IMAPAction string

// IMAP after-commit actions.
const (
	MarkSeen   IMAPAction = "seen"   // flag \Seen; only unseen mail is fetched (the default)
	MoveTo     IMAPAction = "move"   // UID MOVE to IMAP.MoveMailbox
	DeleteMail IMAPAction = "delete" // flag \Deleted and UID EXPUNGE that mail only
)

// IMAP takes mail from an IMAP mailbox with github.com/emersion/go-imap/v2:
// implicit TLS or STARTTLS, LOGIN, AUTHENTICATE PLAIN or XOAUTH2, UID
// SEARCH then UID FETCH BODY.PEEK[] in batches, streamed (no
// BODYSTRUCTURE or ENVELOPE is asked of the server). The source key holds
// the account, mailbox, UIDVALIDITY and UID, so a mailbox recreated with a
// new UIDVALIDITY is fetched again and deduplicated by content. After
// commit each batch gets its Action; a mailbox without MOVE or UIDPLUS
// cannot move or delete without EXPUNGE touching other mail, so that is
// refused, never done.
//
// The connection is kept between fetches and redialled after an error. The
// client has no context support: a watchdog closes it when ctx ends. An
// IMAP source is used by one goroutine at a time (Fetch and Wait are not
// concurrent).
type IMAP struct {
	Addr      string // host:port
	TLS       TLSMode
	TLSConfig *tls.Config
	Username  string
	Password  string
	// Auth is "login" (the LOGIN command, the default), "plain"
	// (AUTHENTICATE PLAIN), "auth-login" (AUTHENTICATE LOGIN) or
	// "xoauth2" (Token gives the access token).
	Auth  string
	Token func(ctx context.Context) (string, error)
	// Mailbox is the folder to read ("INBOX" if empty).
	Mailbox string
	Action  IMAPAction
	// MoveMailbox is where MoveTo puts processed mail.
	MoveMailbox string
	// QuarantineMailbox, when set, is where quarantined mail is moved (UID
	// MOVE, whatever the Action); otherwise it gets the Action like the
	// rest.
	QuarantineMailbox string
	// MaxSize: larger mail is handed over as its header only, with
	// Delivery.Size set, to be quarantined (DefaultLimits.MaxMailSize when
	// zero).
	MaxSize int64
	// BatchSize is how many mails one UID FETCH asks for (MaxBatch if
	// zero); they are handed over together.
	BatchSize int
	// AllowInsecureAuth permits a password over plain text to a host that
	// is not loopback.
	AllowInsecureAuth bool
	// DialTimeout bounds connecting and logging in (30s if zero).
	DialTimeout time.Duration

	mu          sync.Mutex
	c           *imapclient.Client
	uidValidity uint32
	newMail     chan struct{}
}

// ParseIMAPURL reads imap://user:pass@host:port/MAILBOX (plain, port
// 143), imap+starttls://... (STARTTLS required, port 143) or
// imaps://... (implicit TLS, port 993). The query may set action=seen|
// move|delete, move=FOLDER, quarantine=FOLDER and auth=login|plain|
// auth-login.
func ParseIMAPURL(raw string) (*IMAP, error) {
	sv, err := parseServerURL("IMAP", raw, scheme{"imap", PlainText, "143"}, scheme{"imap+starttls", StartTLS, "143"},
		scheme{"imaps", ImplicitTLS, "993"})
	if err != nil {
		return nil, err
	}
	s := &IMAP{Addr: sv.addr, TLS: sv.mode, Username: sv.user, Password: sv.pass, Mailbox: strings.TrimPrefix(sv.u.Path, "/")}
	q := sv.u.Query()
	s.Action = IMAPAction(q.Get("action"))
	s.MoveMailbox = q.Get("move")
	s.Auth = q.Get("auth")
	s.QuarantineMailbox = q.Get("quarantine")
	if s.Action == "" && s.MoveMailbox != "" {
		s.Action = MoveTo
	}
	switch s.Action {
	case "", MarkSeen, DeleteMail:
	case MoveTo:
		if s.MoveMailbox == "" {
			return nil, errors.New("mailticket: IMAP URL: action=move needs move=FOLDER")
		}
	default:
		return nil, fmt.Errorf("mailticket: IMAP URL: action %q (want seen, move or delete)", s.Action)
	}
	return s, nil
}

func (s *IMAP) String() string { return "imap://" + s.Username + "@" + s.Addr + "/" + s.mailbox() }

func (s *IMAP) mailbox() string {
	if s.Mailbox == "" {
		return "INBOX"
	}
	return s.Mailbox
}

// Close logs out and closes the connection.
func (s *IMAP) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil
	}
	c := s.c
	s.c = nil
	done := make(chan struct{})
	go func() { _ = c.Logout().Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return c.Close()
}

func (s *IMAP) drop() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

// connect dials, logs in and selects the mailbox, unless connected.
func (s *IMAP) connect(ctx context.Context) error {
	if s.c != nil {
		select {
		case <-s.c.Closed():
			s.c = nil
		default:
			return nil
		}
	}
	timeout := s.DialTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(s.Addr)
	cfg := s.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: host}
	}
	if s.newMail == nil {
		s.newMail = make(chan struct{}, 1)
	}
	newMail := s.newMail
	opts := &imapclient.Options{
		TLSConfig: cfg,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					select {
					case newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	var c *imapclient.Client
	switch s.TLS {
	case ImplicitTLS:
		c = imapclient.New(tls.Client(conn, cfg), opts)
	case StartTLS:
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		c, err = imapclient.NewStartTLS(conn, opts)
		stop()
		if err != nil {
			conn.Close()
			return err
		}
	default:
		c = imapclient.New(conn, opts)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := s.login(ctx, c, host); err != nil {
		c.Close()
		return ctxErr(ctx, err)
	}
	sel, err := c.Select(s.mailbox(), nil).Wait()
	if err != nil {
		c.Close()
		return ctxErr(ctx, err)
	}
	s.c, s.uidValidity = c, sel.UIDValidity
	return nil
}

func (s *IMAP) login(ctx context.Context, c *imapclient.Client, host string) error {
	if err := c.WaitGreeting(); err != nil {
		return err
	}
	if s.Auth != "xoauth2" && s.TLS == PlainText && !netutil.LoopbackHost(host) && !s.AllowInsecureAuth {
		return errors.New("mailticket: refusing to send an IMAP password without TLS to " + s.Addr)
	}
	switch strings.ToLower(s.Auth) {
	case "", "login":
		return c.Login(s.Username, s.Password).Wait()
	case "plain":
		return c.Authenticate(sasl.NewPlainClient("", s.Username, s.Password))
	case "auth-login":
		return c.Authenticate(sasl.NewLoginClient(s.Username, s.Password))
	case "xoauth2":
		if s.Token == nil {
			return errors.New("mailticket: IMAP auth xoauth2 needs IMAP.Token")
		}
		tok, err := s.Token(ctx)
		if err != nil {
			return err
		}
		return c.Authenticate(NewXOAUTH2Client(s.Username, tok))
	}
	return fmt.Errorf("mailticket: IMAP auth %q (want login, plain, auth-login or xoauth2)", s.Auth)
}

// Fetch implements Source.
func (s *IMAP) Fetch(ctx context.Context, handle Handler) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.connect(ctx); err != nil {
		return fmt.Errorf("mailticket: IMAP %s: %w", s.Addr, err)
	}
	c := s.c
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	err := s.fetch(ctx, c, handle)
	if err != nil {
		var imapErr *imap.Error
		if !errors.As(err, &imapErr) || ctx.Err() != nil {
			s.drop() // the connection's state is unknown: start afresh
		}
		return ctxErr(ctx, err)
	}
	return nil
}

func (s *IMAP) fetch(ctx context.Context, c *imapclient.Client, handle Handler) error {
	crit := &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagDeleted}}
	if s.Action == "" || s.Action == MarkSeen {
		crit.NotFlag = append(crit.NotFlag, imap.FlagSeen)
	}
	found, err := c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return err
	}
	uids := found.AllUIDs()
	size := s.BatchSize
	if size <= 0 {
		size = MaxBatch
	}
	// The next mails download while the previous batch is handled; the
	// connection is used by this goroutine only, and committed mail is
	// acted on between FETCH commands.
	h := startHandling(ctx, handle)
	for len(uids) > 0 && err == nil && !h.failed.Load() {
		n := min(size, len(uids))
		if err = s.download(c, uids[:n], h); err == nil && n < len(uids) {
			err = s.actOn(c, h)
		}
		uids = uids[n:]
	}
	herr := h.finish()
	if aerr := s.actOn(c, h); err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	return herr
}

// handling hands batches to the handler on a goroutine of its own, in
// order, and collects the mails it committed until they are acted on.
type handling struct {
	jobs     chan *batch[imap.UID]
	finished chan struct{}
	failed   atomic.Bool // the handler failed: hand over nothing more

	mu                sync.Mutex
	done, quarantined []imap.UID // committed, not yet acted on
	err               error
}

func startHandling(ctx context.Context, handle Handler) *handling {
	h := &handling{jobs: make(chan *batch[imap.UID]), finished: make(chan struct{})}
	go func() {
		defer close(h.finished)
		for b := range h.jobs {
			if h.failed.Load() {
				continue
			}
			ids, q, err := b.flush(ctx, handle)
			h.mu.Lock()
			h.done, h.quarantined = append(h.done, ids...), append(h.quarantined, q...)
			if err != nil {
				h.err = err
				h.failed.Store(true)
			}
			h.mu.Unlock()
		}
	}()
	return h
}

// hand passes a batch over; it blocks while the previous one is handled,
// so at most two batches are in memory.
func (h *handling) hand(b *batch[imap.UID]) { h.jobs <- b }

// finish waits for the handler and returns its error.
func (h *handling) finish() error {
	close(h.jobs)
	<-h.finished
	return h.err
}

// take returns the mails committed since the last take.
func (h *handling) take() (done, quarantined []imap.UID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	done, quarantined = h.done, h.quarantined
	h.done, h.quarantined = nil, nil
	return done, quarantined
}

// actOn applies the after-commit actions to the mails committed so far.
func (s *IMAP) actOn(c *imapclient.Client, h *handling) error {
	done, quarantined := h.take()
	if s.QuarantineMailbox == "" {
		done, quarantined = append(done, quarantined...), nil
	}
	if err := s.act(c, done, s.Action, s.MoveMailbox); err != nil {
		return err
	}
	return s.act(c, quarantined, MoveTo, s.QuarantineMailbox)
}

// download fetches a chunk of mails (oversized ones by their header only)
// and hands them over in batches.
func (s *IMAP) download(c *imapclient.Client, uids []imap.UID, h *handling) error {
	max := s.MaxSize
	if max <= 0 {
		max = DefaultLimits.MaxMailSize
	}
	sizes, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil && !expungedMeanwhile(err) {
		return err
	}
	var normal, large []imap.UID
	sizeOf := map[imap.UID]int64{}
	for _, m := range sizes {
		sizeOf[m.UID] = m.RFC822Size
		if m.RFC822Size > max {
			large = append(large, m.UID)
		} else {
			normal = append(normal, m.UID)
		}
	}
	b := &batch[imap.UID]{}
	prefix := "imap:" + strings.ToLower(s.Username) + "@" + s.Addr + "/" + s.mailbox() + "/" + strconv.FormatUint(uint64(s.uidValidity), 10) + "/"
	stream := func(set []imap.UID, section *imap.FetchItemBodySection, full bool) error {
		if len(set) == 0 || h.failed.Load() {
			return nil
		}
		cmd := c.Fetch(imap.UIDSetNum(set...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			var uid imap.UID
			var raw []byte
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					uid = it.UID
				case imapclient.FetchItemDataBodySection:
					if raw, err = io.ReadAll(io.LimitReader(it.Literal, max+1)); err != nil {
						cmd.Close()
						return err
					}
				}
			}
			if uid == 0 || h.failed.Load() {
				continue // after a failure: drain the response
			}
			d := Delivery{SourceKey: prefix + strconv.FormatUint(uint64(uid), 10), Raw: raw}
			if !full {
				d.Size = sizeOf[uid]
			}
			if b.add(d, uid) {
				h.hand(b)
				b = &batch[imap.UID]{}
			}
		}
		if err := cmd.Close(); err != nil && !expungedMeanwhile(err) {
			return err
		}
		return nil
	}
	if err := stream(normal, &imap.FetchItemBodySection{Peek: true}, true); err != nil {
		return err
	}
	if err := stream(large, &imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierHeader}, false); err != nil {
		return err
	}
	if len(b.ds) > 0 && !h.failed.Load() {
		h.hand(b)
	}
	return nil
}

// expungedMeanwhile reports whether err only says that some of the mails
// a command named were expunged meanwhile by another client (another
// poller of the same mailbox moved or deleted them): NO [EXPUNGEISSUED].
func expungedMeanwhile(err error) bool {
	var e *imap.Error
	return errors.As(err, &e) && e.Code == "EXPUNGEISSUED"
}

// act applies an after-commit action to committed mail. Mails another
// client expunged meanwhile are skipped: after a NOOP, which brings the
// expunges to this session, the action is tried once more on the rest.
func (s *IMAP) act(c *imapclient.Client, uids []imap.UID, action IMAPAction, folder string) error {
	err := s.actOnce(c, uids, action, folder)
	if expungedMeanwhile(err) {
		if err = c.Noop().Wait(); err == nil {
			if err = s.actOnce(c, uids, action, folder); expungedMeanwhile(err) {
				err = nil
			}
		}
	}
	return err
}

func (s *IMAP) actOnce(c *imapclient.Client, uids []imap.UID, action IMAPAction, folder string) error {
	if len(uids) == 0 {
		return nil
	}
	set := imap.UIDSetNum(uids...)
	caps := c.Caps()
	switch action {
	case "", MarkSeen:
		return c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	case MoveTo:
		if caps.Has(imap.CapMove) {
			_, err := c.Move(set, folder).Wait()
			return err
		}
		if !caps.Has(imap.CapUIDPlus) {
			return errors.New("mailticket: IMAP server has neither MOVE nor UIDPLUS: cannot move without expunging other mail")
		}
		if _, err := c.Copy(set, folder).Wait(); err != nil {
			return err
		}
		return s.expunge(c, set)
	case DeleteMail:
		if !caps.Has(imap.CapUIDPlus) && !caps.Has(imap.CapIMAP4rev2) {
			return errors.New("mailticket: IMAP server lacks UIDPLUS: cannot delete without expunging other mail")
		}
		return s.expunge(c, set)
	}
	return fmt.Errorf("mailticket: IMAP action %q", action)
}

func (s *IMAP) expunge(c *imapclient.Client, set imap.UIDSet) error {
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return err
	}
	return c.UIDExpunge(set).Close()
}

// Wait implements Waiter: IDLE until the server reports new mail, d
// passes or ctx ends; without IDLE it sleeps d.
func (s *IMAP) Wait(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	if err := s.connect(ctx); err != nil {
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		return err
	}
	c := s.c
	if !c.Caps().Has(imap.CapIdle) {
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		return nil
	}
	select {
	case <-s.newMail: // mail reported while fetching: no need to idle
		return nil
	default:
	}
	idle, err := c.Idle()
	if err != nil {
		s.drop()
		return err
	}
	select {
	case <-ctx.Done():
	case <-timer.C:
	case <-s.newMail:
	case <-c.Closed():
	}
	closeErr := idle.Close()
	waitDone := make(chan error, 1)
	go func() { waitDone <- idle.Wait() }()
	select {
	case err = <-waitDone:
	case <-time.After(10 * time.Second):
		err = errors.New("mailticket: IMAP server did not end IDLE")
	}
	if err == nil {
		err = closeErr
	}
	if err != nil {
		s.drop()
		if ctx.Err() != nil {
			return nil
		}
	}
	return err
}

// NewXOAUTH2Client returns a SASL client for XOAUTH2, the bearer-token
// login of Gmail and Microsoft 365 (go-sasl has none).
func NewXOAUTH2Client(username, token string) sasl.Client {
	return &xoauth2{username: username, token: token}
}

type xoauth2 struct{ username, token string }

func (a *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + a.username + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a JSON status) with an empty
// response, after which the server fails the command with its reason.
func (a *xoauth2) Next(challenge []byte) ([]byte, error) { return []byte{}, nil }
