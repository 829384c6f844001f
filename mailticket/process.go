package mailticket

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// ClosedPolicy is what a follow-up to a closed ticket does.
type ClosedPolicy string

// Closed-ticket policies.
const (
	Reopen    ClosedPolicy = "reopen"     // the ticket opens again (the default)
	NewTicket ClosedPolicy = "new-ticket" // a new ticket, linked to the closed one
	Reject    ClosedPolicy = "reject"     // kept on the closed ticket, which stays closed; the reject template answers
)

// Outcome is what processing did with one mail.
type Outcome string

// Outcomes.
const (
	Created     Outcome = "created"     // a new ticket
	FollowUp    Outcome = "followup"    // an article of an existing ticket
	Rejected    Outcome = "rejected"    // kept on a closed ticket that rejects follow-ups
	BounceAdded Outcome = "bounce"      // a delivery report added to the ticket of the mail it reports on
	Unmatched   Outcome = "unmatched"   // a delivery report on no mail of ours: a ticket in the bounce queue, never answered
	Duplicate   Outcome = "duplicate"   // already processed (same source key or content)
	Quarantined Outcome = "quarantined" // too large, unparseable or empty: kept aside
	Ignored     Outcome = "ignored"     // a filter said so
)

// Result is the effect of one mail.
type Result struct {
	Outcome Outcome
	Ticket  store.Ticket // zero for quarantined and ignored mail
	// ArticleID is the mail's article (0 when none was stored now).
	ArticleID int64
	// AutoResponse is the template event of the reply queued, or "".
	AutoResponse Event
	// Reason says why no reply was queued, why the mail was quarantined
	// or ignored, or how a follow-up was recognized.
	Reason string

	note      *Notification // told after commit
	othersAct bool          // a duplicate another process stored moments ago and acts on itself
}

// DuplicateGrace is how long after a mail was stored by another
// Processor (another process polling the same mailbox) a fetch of the
// same mail from the same source leaves the mailbox action (flag, move,
// delete) to the one that stored it, so that it is done once; after it,
// whoever fetches the mail acts on it (the other died before acting). A
// Processor acts at once on the mail it stored itself.
const DuplicateGrace = 2 * time.Minute

// Delivery is one mail as a source hands it over.
type Delivery struct {
	// SourceKey identifies the mail at its source (see
	// store.MailReceipt.SourceKey); "" for sources without one.
	SourceKey string
	Raw       []byte
	// Size is the mail's full size when Raw holds only its beginning (a
	// source that will not download oversized mail); such mail is
	// quarantined. 0 means len(Raw).
	Size int64
}

// Notification tells agents something happened (see Processor.Notify).
type Notification struct {
	Outcome Outcome
	Ticket  store.Ticket
	Queue   string
	From    Address
	Subject string
}

// Processor turns mail into tickets. Set its fields before the first call
// and do not change them after. Its methods are safe for concurrent use;
// mails are processed one at a time per Processor (the per-address reply
// limit is counted and queued in order).
type Processor struct {
	// Store keeps tickets, receipts, replies and quarantined mail.
	// Required.
	Store store.TicketStore
	// Domain is used in our Message-IDs and X-Loop header, e.g.
	// "support.example.com". Required.
	Domain string
	// Secret keys the MAC in our Message-IDs. Required; keep it stable
	// (replies to mail sent with an old secret fall back to the stored
	// Message-IDs and the subject tag).
	Secret []byte
	// Addresses are our own addresses; mail from them is never answered.
	// The first one is the From of automatic replies. Required for
	// replies.
	Addresses []string
	// Name is the display name of replies' From ("" for none).
	Name string
	// DefaultQueue is the queue of tickets no filter routes ("Inbox" if
	// empty); it is created when missing, as are queues filters name.
	DefaultQueue string
	// BounceQueue is the queue of delivery reports that match no mail of
	// ours ("Bounces" if empty): a report on our reply goes to that
	// reply's ticket; any other one (a bounce of mail we never sent, a
	// forged one) lands there, with no customer and no reply, instead of
	// opening a ticket among the customers'. A filter's queue wins.
	BounceQueue string
	Filters     []Filter
	// Templates are the automatic replies per queue and event; queue ""
	// applies to every queue without its own. Nil means DefaultTemplates
	// for every queue. An event without a template sends nothing.
	Templates map[string]map[Event]Template
	// DisableAutoResponses turns every automatic reply off.
	DisableAutoResponses bool
	// ClosedPolicies per queue name; queues not listed use
	// DefaultClosedPolicy (Reopen when empty).
	ClosedPolicies      map[string]ClosedPolicy
	DefaultClosedPolicy ClosedPolicy
	// TicketHook is the word of the subject tag ("Ticket#" when empty):
	// [Ticket#202611220000426].
	TicketHook string
	// AuthServID, when set, is the authserv-id of the receiving MTA whose
	// Authentication-Results headers (RFC 8601) are trusted: a mail whose
	// own such header says its From domain failed DMARC (or, without a
	// DMARC result, SPF failed and DKIM did not pass) has an unknown
	// sender, who joins no existing ticket but by a reply to our signed
	// Message-ID. Leave it empty for sources whose MTA does not add the
	// header (anyone could write one).
	AuthServID string
	// RateLimit bounds automatic replies per address.
	RateLimit RateLimit
	// Limits bound parsing (nil: DefaultLimits).
	Limits *Limits
	// Notify, when set, is called after a ticket is created or gets a
	// follow-up (after commit; it must not block for long).
	Notify func(ctx context.Context, n Notification)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// ClaimLease is how long a reply SendQueued is sending is left alone
	// by the other senders of the outbox (default SendClaimLease).
	ClaimLease time.Duration
	// Logger receives one line per quarantined mail (nil: none).
	Logger *slog.Logger

	once      sync.Once
	initErr   error
	mu        sync.Mutex // one batch at a time; guards the caches below
	remindMu  sync.Mutex // one Remind at a time (a reminder is told once)
	tagRe     *regexp.Regexp
	templates map[string]map[Event]compiled
	queues    map[string]int64
	queueName map[int64]string

	name      string     // this Processor among the senders of an outbox (ClaimAutoResponses)
	sendMu    sync.Mutex // one SendQueued of this Processor at a time: its claims are all its own
	storedMu  sync.Mutex
	storedNow map[string]time.Time // source keys this Processor stored, lately (see DuplicateGrace)
}

// storedHere notes that this Processor stored the mail of sourceKey.
func (p *Processor) storedHere(sourceKey string) {
	if sourceKey == "" {
		return
	}
	now := p.now()
	p.storedMu.Lock()
	defer p.storedMu.Unlock()
	if p.storedNow == nil {
		p.storedNow = map[string]time.Time{}
	}
	if len(p.storedNow) >= 10000 {
		for k, at := range p.storedNow {
			if now.Sub(at) >= DuplicateGrace {
				delete(p.storedNow, k)
			}
		}
	}
	p.storedNow[sourceKey] = now
}

// storedByOther reports whether a duplicate of sourceKey, stored at at,
// is another process's to act on: stored moments ago, not by this
// Processor.
func (p *Processor) storedByOther(sourceKey string, at time.Time) bool {
	if sourceKey == "" || p.now().Sub(at) >= DuplicateGrace {
		return false
	}
	p.storedMu.Lock()
	defer p.storedMu.Unlock()
	_, mine := p.storedNow[sourceKey]
	return !mine
}

func (p *Processor) hook() string {
	if p.TicketHook == "" {
		return "Ticket#"
	}
	return p.TicketHook
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Processor) init() error {
	p.once.Do(func() {
		switch {
		case p.Store == nil:
			p.initErr = errors.New("mailticket: Processor.Store is nil")
		case p.Domain == "":
			p.initErr = errors.New("mailticket: Processor.Domain is empty")
		case len(p.Secret) < 16:
			p.initErr = errors.New("mailticket: Processor.Secret must have at least 16 bytes")
		}
		if p.initErr != nil {
			return
		}
		for i := range p.Filters {
			if err := p.Filters[i].check(); err != nil {
				p.initErr = err
				return
			}
		}
		var b [8]byte
		_, _ = rand.Read(b[:])
		p.name = hex.EncodeToString(b[:])
		p.tagRe = regexp.MustCompile(`\[` + regexp.QuoteMeta(p.hook()) + `\s*:?\s*(\d{15,27})\]`)
		tpls := p.Templates
		if tpls == nil {
			tpls = map[string]map[Event]Template{"": DefaultTemplates}
		}
		p.templates = map[string]map[Event]compiled{}
		for q, byEvent := range tpls {
			p.templates[q] = map[Event]compiled{}
			for ev, t := range byEvent {
				c, err := compile(q+"/"+string(ev), t)
				if err != nil {
					p.initErr = err
					return
				}
				p.templates[q][ev] = c
			}
		}
		p.queues, p.queueName = map[string]int64{}, map[int64]string{}
	})
	return p.initErr
}

func (p *Processor) template(queue string, ev Event) (compiled, bool) {
	if byEvent, ok := p.templates[queue]; ok {
		t, ok := byEvent[ev]
		return t, ok
	}
	t, ok := p.templates[""][ev]
	return t, ok
}

func (p *Processor) closedPolicy(queue string) ClosedPolicy {
	if c, ok := p.ClosedPolicies[queue]; ok {
		return c
	}
	if p.DefaultClosedPolicy != "" {
		return p.DefaultClosedPolicy
	}
	return Reopen
}

// Process turns one mail into its effect on the tickets, exactly once: the
// receipt (d.SourceKey and the mail's content key) is stored in the same
// transaction as the ticket change, so a mail processed before is a
// Duplicate, however often it is delivered. Mail that cannot be used is
// quarantined and is not an error. An error means nothing was stored (the
// store failed or ctx ended): the source must keep the mail and try again.
func (p *Processor) Process(ctx context.Context, d Delivery) (Result, error) {
	rs, err := p.ProcessBatch(ctx, []Delivery{d})
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// txStore is a store that can group several mails in one transaction.
type txStore interface {
	InTx(ctx context.Context, fn func(tx store.Ops) error) error
}

// item is one mail of a batch, parsed.
type item struct {
	d      Delivery
	m      *Mail
	dec    Decision // the filters' decision (when m is set)
	reject string   // why it is quarantined without a look at the store
}

// ProcessBatch is Process for several mails, in order. Mails are parsed
// in parallel, ahead of the store: while one mail is stored the next ones
// are parsed. When the store supports transactions (store.Store), the
// whole batch is stored in one transaction (one commit instead of one per
// mail). If that transaction fails, each mail is stored in a transaction
// of its own, so that one mail the store refuses (store.ErrInvalid) is
// quarantined with the store's reason instead of holding up the others.
// An error means the batch may be partly stored: the source must keep
// every mail of it and deliver them again (the stored ones are then
// duplicates).
//
// Memory: mails are parsed and stored in chunks of at most MaxBatch mails
// and MaxBatchBytes of raw mail (one mail more when a single one is
// larger), each chunk in its own transaction, so a large batch holds the
// parsed form of one chunk at a time, not of the whole batch.
func (p *Processor) ProcessBatch(ctx context.Context, ds []Delivery) ([]Result, error) {
	if err := p.init(); err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(ds))
	for len(ds) > 0 {
		n, bytes := 0, 0
		for n < len(ds) && n < MaxBatch && (n == 0 || bytes+len(ds[n].Raw) <= MaxBatchBytes) {
			bytes += len(ds[n].Raw)
			n++
		}
		rs, err := p.processChunk(ctx, ds[:n])
		if err != nil {
			return nil, err
		}
		results = append(results, rs...)
		ds = ds[n:]
	}
	return results, nil
}

// processChunk is ProcessBatch for at most MaxBatch mails and
// MaxBatchBytes.
func (p *Processor) processChunk(ctx context.Context, ds []Delivery) ([]Result, error) {
	pa := p.parseAll(ds)
	defer pa.wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	// Queues are created outside the batch transaction, so a rollback
	// never leaves a stale id in the cache.
	if err := p.ensureQueues(ctx); err != nil {
		return nil, err
	}
	results := make([]Result, len(ds))
	if ts, ok := p.Store.(txStore); ok && len(ds) > 1 {
		err := ts.InTx(ctx, func(tx store.Ops) error {
			var st store.TicketStore = tx
			var l *lookups
			if x, ok := tx.(store.ExclusiveTx); ok && x.Exclusive() { // answers by list stay true
				l = newLookups(tx, pa)
				st = l
			}
			for i := range ds {
				if l != nil {
					if err := l.cover(ctx, i); err != nil {
						return err
					}
				}
				r, err := p.one(ctx, st, pa.item(i))
				if err != nil {
					return err
				}
				results[i] = r
			}
			return nil
		})
		if err == nil {
			p.notify(ctx, results)
			return results, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
	}
	for i := range ds {
		it := pa.item(i)
		r, err := p.one(ctx, p.Store, it)
		if errors.Is(err, store.ErrInvalid) {
			r, err = p.quarantine(ctx, p.Store, it.d, "the store refused the mail: "+err.Error())
		}
		if err != nil {
			return nil, err
		}
		results[i] = r
	}
	p.notify(ctx, results)
	return results, nil
}

// ensureQueues creates every queue a mail can be put in: those the
// filters name and the default one (cached after the first call).
func (p *Processor) ensureQueues(ctx context.Context) error {
	if _, err := p.queueID(ctx, p.Store, p.queueFor(Decision{})); err != nil {
		return err
	}
	for _, f := range p.Filters {
		if f.Queue != "" {
			if _, err := p.queueID(ctx, p.Store, f.Queue); err != nil {
				return err
			}
		}
	}
	return nil
}

// parsing is a batch being parsed.
type parsing struct {
	items []item
	ready []chan struct{} // closed when items[i] is parsed
	wg    sync.WaitGroup
	p     *Processor
}

// item waits for mail i and returns it with the filters' decision.
func (pa *parsing) item(i int) item {
	<-pa.ready[i]
	it := pa.items[i]
	if it.m != nil {
		it.dec = applyFilters(pa.p.Filters, it.m)
	}
	return it
}

// wait waits until every mail is parsed.
func (pa *parsing) wait() { pa.wg.Wait() }

// parseAll starts checking sizes and parsing every mail, in order, on up
// to GOMAXPROCS goroutines.
func (p *Processor) parseAll(ds []Delivery) *parsing {
	pa := &parsing{items: make([]item, len(ds)), ready: make([]chan struct{}, len(ds)), p: p}
	lim := p.Limits.withDefaults()
	work := func(i int) {
		defer close(pa.ready[i])
		d := ds[i]
		pa.items[i].d = d
		size := d.Size
		if size == 0 {
			size = int64(len(d.Raw))
		}
		switch {
		case size > lim.MaxMailSize:
			pa.items[i].reject = fmt.Sprintf("mail of %d bytes is larger than the limit of %d", size, lim.MaxMailSize)
		case size > int64(len(d.Raw)):
			pa.items[i].reject = fmt.Sprintf("mail of %d bytes is larger than the source's limit (%d bytes kept)", size, len(d.Raw))
		default:
			m, err := Parse(d.Raw, p.Limits)
			if err != nil {
				pa.items[i].reject = err.Error()
			} else {
				pa.items[i].m = m
			}
		}
	}
	for i := range ds {
		pa.ready[i] = make(chan struct{})
	}
	var next atomic.Int64
	for range min(runtime.GOMAXPROCS(0), len(ds)) {
		pa.wg.Add(1)
		go func() {
			defer pa.wg.Done()
			for i := int(next.Add(1) - 1); i < len(ds); i = int(next.Add(1) - 1) {
				work(i)
			}
		}()
	}
	return pa
}

// one stores one parsed mail through st.
func (p *Processor) one(ctx context.Context, st store.TicketStore, it item) (Result, error) {
	if it.m == nil {
		return p.quarantine(ctx, st, it.d, it.reject)
	}
	if r, err := st.MailReceipt(ctx, it.d.SourceKey, it.m.ContentKey()); err == nil {
		return p.duplicate(ctx, st, r, it.d)
	} else if !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	return p.ingest(ctx, st, it.d, it.m, it.dec)
}

func (p *Processor) notify(ctx context.Context, rs []Result) {
	if p.Notify == nil {
		return
	}
	for _, r := range rs {
		if r.note != nil {
			p.Notify(ctx, *r.note)
		}
	}
}

func (p *Processor) queueFor(dec Decision) string {
	switch {
	case dec.Queue != "":
		return dec.Queue
	case p.DefaultQueue != "":
		return p.DefaultQueue
	}
	return "Inbox"
}

func (p *Processor) duplicate(ctx context.Context, st store.TicketStore, r store.MailReceipt, d Delivery) (Result, error) {
	t, err := st.Ticket(ctx, r.TicketID)
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: Duplicate, Ticket: t, Reason: fmt.Sprintf("already stored as article %d", r.ArticleID),
		othersAct: r.SourceKey == d.SourceKey && p.storedByOther(d.SourceKey, r.ReceivedAt)}, nil
}

func (p *Processor) quarantine(ctx context.Context, st store.TicketStore, d Delivery, reason string) (Result, error) {
	q := store.QuarantinedMail{SourceKey: d.SourceKey, Reason: reason, Raw: d.Raw, At: p.now()}
	err := st.QuarantineMail(ctx, &q)
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		return Result{}, err
	}
	if p.Logger != nil && err == nil {
		p.Logger.Warn("mail quarantined", "source", d.SourceKey, "reason", reason, "id", q.ID)
	}
	return Result{Outcome: Quarantined, Reason: reason}, nil
}

// target is where a mail goes.
type target struct {
	ticket  store.Ticket // existing ticket (ID 0: new)
	linked  int64        // a new ticket's link to an earlier one
	outcome Outcome
	reopen  bool
	how     string
}

func (p *Processor) ingest(ctx context.Context, st store.TicketStore, d Delivery, m *Mail, dec Decision) (Result, error) {
	now := p.now()
	if dec.Ignore {
		return Result{Outcome: Ignored, Reason: "filter " + strings.Join(dec.Matched, ", ")}, nil
	}
	tg, err := p.findTarget(ctx, st, m)
	if err != nil {
		return Result{}, err
	}

	customerAddr := m.From
	if dec.Customer != "" {
		customerAddr = Address{Addr: dec.Customer}
	} else if tg.outcome == Unmatched {
		customerAddr = Address{} // the mailer daemon is nobody's customer
	}
	var customer store.Customer
	if customerAddr.Addr != "" {
		company := dec.Company
		if company == "" {
			company = customerAddr.Domain()
		}
		customer, err = st.UpsertCustomer(ctx, store.Customer{Email: customerAddr.Addr, Name: customerAddr.Name, Company: company})
		if err != nil {
			return Result{}, err
		}
	}

	in := store.MailIngest{
		Receipt:     store.MailReceipt{SourceKey: d.SourceKey, ContentKey: m.ContentKey(), ReceivedAt: now},
		Article:     inboundArticle(m, now),
		Attachments: ticketAttachments(m),
		TicketID:    tg.ticket.ID,
		Reopen:      tg.reopen,
	}
	var queue string
	if tg.ticket.ID == 0 {
		queue = p.queueFor(dec)
		if tg.outcome == Unmatched && dec.Queue == "" {
			queue = cmp.Or(p.BounceQueue, "Bounces")
		}
		qid, err := p.queueID(ctx, st, queue)
		if err != nil {
			return Result{}, err
		}
		title := m.Subject
		if title == "" {
			title = "(no subject)"
		}
		in.NewTicket = &store.Ticket{Title: title, QueueID: qid, Priority: dec.Priority, CustomerID: customer.ID,
			LinkedTicketID: tg.linked, CreatedAt: now}
	} else if queue, err = p.queueNameOf(ctx, st, tg.ticket.QueueID); err != nil {
		return Result{}, err
	}

	res := Result{Outcome: tg.outcome, Reason: tg.how}
	ev := EventNewTicket
	switch tg.outcome {
	case FollowUp:
		ev = EventFollowUp
	case Rejected:
		ev = EventReject
	}
	if tg.outcome != BounceAdded && tg.outcome != Unmatched {
		why, err := p.prepareReply(ctx, st, &in, m, queue, ev, customer, now)
		if err != nil {
			return Result{}, err
		}
		if in.AutoResponse != nil {
			res.AutoResponse = ev
		} else if why != "" {
			res.Reason = strings.TrimPrefix(res.Reason+"; no reply: "+why, "; ")
		}
	}
	stored, err := st.IngestMail(ctx, in)
	if errors.Is(err, store.ErrDuplicate) {
		return p.duplicate(ctx, st, stored.Receipt, d)
	}
	if err != nil {
		return Result{}, err
	}
	res.Ticket, res.ArticleID = stored.Ticket, stored.Article.ID
	p.storedHere(d.SourceKey)
	if res.Outcome != BounceAdded && res.Outcome != Unmatched {
		res.note = &Notification{Outcome: res.Outcome, Ticket: res.Ticket, Queue: queue, From: m.From, Subject: m.Subject}
	}
	return res, nil
}

// findTarget detects follow-ups, in order: one of our Message-IDs in
// In-Reply-To/References, any stored article's Message-ID there, then the
// subject tag (only when the sender already took part in that ticket).
// Delivery reports go to the ticket of the mail they report on, only when
// that mail is ours.
func (p *Processor) findTarget(ctx context.Context, st store.TicketStore, m *Mail) (target, error) {
	if deliveryReport(m) {
		for _, id := range p.reportedIDs(m) {
			if n := ticketFromMessageID(p.Secret, id, p.Domain); n != "" {
				t, err := p.ticketByNumber(ctx, st, n)
				if err == nil {
					return target{ticket: t, outcome: BounceAdded, how: "delivery report on our mail " + id}, nil
				} else if !errors.Is(err, store.ErrNotFound) {
					return target{}, err
				}
			}
		}
		return target{outcome: Unmatched, how: "a delivery report on no mail of ours"}, nil
	}
	// The same Message-ID with another body (a mail program sending an
	// edited copy, a list rewriting it): from the same sender, it is a
	// follow-up of the mail we stored, not a ticket (and a reply) again.
	if m.MessageID != "" {
		t, err := st.TicketByMessageID(ctx, m.MessageID)
		if err == nil {
			t, err = p.resolveMerged(ctx, st, t)
		}
		switch {
		case err == nil:
			same, err := p.sameSender(ctx, st, t, m)
			if err != nil {
				return target{}, err
			}
			if same {
				return p.followUp(ctx, st, t, "the Message-ID of a mail already in the ticket, with another body")
			}
		case !errors.Is(err, store.ErrNotFound):
			return target{}, err
		}
	}
	refs := append(append([]string(nil), m.InReplyTo...), reversed(m.References)...)
	for _, id := range refs {
		if n := ticketFromMessageID(p.Secret, id, p.Domain); n != "" {
			t, err := p.ticketByNumber(ctx, st, n)
			if err == nil {
				return p.followUp(ctx, st, t, "reply to our message "+id)
			} else if !errors.Is(err, store.ErrNotFound) {
				return target{}, err
			}
		}
	}
	sender := p.knownSender(m)
	for _, id := range refs {
		t, err := st.TicketByMessageID(ctx, id)
		if err == nil {
			t, err = p.resolveMerged(ctx, st, t)
		}
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return target{}, err
		}
		// Anyone who saw a Message-ID (on Cc, in a forward) could use it:
		// only a participant joins the ticket this way.
		ok, err := p.participant(ctx, st, t, sender)
		if err != nil {
			return target{}, err
		}
		if !ok {
			return target{outcome: Created, linked: t.ID,
				how: fmt.Sprintf("reply to stored message %s of ticket %s, but %s never wrote in it: new ticket linked to it",
					id, t.Number, orUnknown(sender, m.From.Addr))}, nil
		}
		return p.followUp(ctx, st, t, "reply to stored message "+id)
	}
	for _, sm := range p.tagRe.FindAllStringSubmatch(m.Subject, 3) {
		n := sm[1]
		if !store.ValidTicketNumber(n) {
			continue
		}
		t, err := p.ticketByNumber(ctx, st, n)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return target{}, err
		}
		ok, err := p.participant(ctx, st, t, sender)
		if err != nil {
			return target{}, err
		}
		if !ok {
			return target{outcome: Created, linked: t.ID,
				how: fmt.Sprintf("subject names ticket %s but %s never wrote in it: new ticket linked to it", n,
					orUnknown(sender, m.From.Addr))}, nil
		}
		return p.followUp(ctx, st, t, "subject tag "+n)
	}
	return target{outcome: Created}, nil
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func (p *Processor) ticketByNumber(ctx context.Context, st store.TicketStore, n string) (store.Ticket, error) {
	t, err := st.TicketByNumber(ctx, n)
	if err != nil {
		return t, err
	}
	return p.resolveMerged(ctx, st, t)
}

// resolveMerged follows merges to the ticket that was kept.
func (p *Processor) resolveMerged(ctx context.Context, st store.TicketStore, t store.Ticket) (store.Ticket, error) {
	for i := 0; i < 10 && t.MergedIntoID != 0; i++ {
		var err error
		if t, err = st.Ticket(ctx, t.MergedIntoID); err != nil {
			return t, err
		}
	}
	return t, nil
}

func (p *Processor) followUp(ctx context.Context, st store.TicketStore, t store.Ticket, how string) (target, error) {
	if t.State != store.TicketClosed {
		return target{ticket: t, outcome: FollowUp, how: how}, nil
	}
	q, err := p.queueNameOf(ctx, st, t.QueueID)
	if err != nil {
		return target{}, err
	}
	switch p.closedPolicy(q) {
	case NewTicket:
		return target{outcome: Created, linked: t.ID, how: how + "; the ticket is closed: new ticket linked to it"}, nil
	case Reject:
		return target{ticket: t, outcome: Rejected, how: how + "; the ticket is closed and rejects follow-ups"}, nil
	}
	return target{ticket: t, outcome: FollowUp, reopen: true, how: how + "; reopened"}, nil
}

// sameSender reports whether the article of t with m's Message-ID came
// from m's (known) sender.
func (p *Processor) sameSender(ctx context.Context, st store.TicketStore, t store.Ticket, m *Mail) (bool, error) {
	sender := p.knownSender(m)
	if sender == "" {
		return false, nil
	}
	arts, err := st.Articles(ctx, t.ID)
	if err != nil {
		return false, err
	}
	for _, a := range arts {
		if a.MessageID == m.MessageID {
			if f := firstAddress(a.From); f.Addr == sender {
				return true, nil
			}
		}
	}
	return false, nil
}

// knownSender is the mail's From address, or "" when the receiving MTA
// we trust (AuthServID) says it failed authentication.
func (p *Processor) knownSender(m *Mail) string {
	if p.AuthServID != "" && authFailed(m, p.AuthServID) {
		return ""
	}
	return m.From.Addr
}

func orUnknown(sender, from string) string {
	if sender == "" {
		return from + " (failed authentication)"
	}
	return sender
}

// participant reports whether addr is the ticket's customer or appears
// as sender or recipient of one of its articles.
func (p *Processor) participant(ctx context.Context, st store.TicketStore, t store.Ticket, addr string) (bool, error) {
	if addr == "" {
		return false, nil
	}
	if t.CustomerID != 0 {
		c, err := st.Customer(ctx, t.CustomerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		if strings.EqualFold(c.Email, addr) {
			return true, nil
		}
	}
	arts, err := st.Articles(ctx, t.ID)
	if err != nil {
		return false, err
	}
	for _, a := range arts {
		for _, list := range []string{a.From, a.To, a.Cc} {
			for _, x := range addresses(list) {
				if x.Addr == addr {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// queueID finds or creates a queue by name (cached).
func (p *Processor) queueID(ctx context.Context, st store.TicketStore, name string) (int64, error) {
	if id, ok := p.queues[name]; ok {
		return id, nil
	}
	q, err := st.QueueByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		q = store.Queue{Name: name}
		if err = st.CreateQueue(ctx, &q); errors.Is(err, store.ErrDuplicate) {
			q, err = st.QueueByName(ctx, name)
		}
	}
	if err != nil {
		return 0, err
	}
	p.queues[name], p.queueName[q.ID] = q.ID, name
	return q.ID, nil
}

func (p *Processor) queueNameOf(ctx context.Context, st store.TicketStore, id int64) (string, error) {
	if n, ok := p.queueName[id]; ok {
		return n, nil
	}
	qs, err := st.Queues(ctx)
	if err != nil {
		return "", err
	}
	for _, q := range qs {
		p.queues[q.Name], p.queueName[q.ID] = q.ID, q.Name
	}
	return p.queueName[id], nil
}

// prepareReply adds the automatic reply (article and queued mail) to in,
// or says why there is none.
func (p *Processor) prepareReply(ctx context.Context, st store.TicketStore, in *store.MailIngest, m *Mail, queue string, ev Event,
	customer store.Customer, now time.Time) (string, error) {
	if p.DisableAutoResponses {
		return "", nil
	}
	if len(p.Addresses) == 0 {
		return "no Processor.Addresses to reply from", nil
	}
	to := m.From
	if m.ReplyTo.Addr != "" {
		to = m.ReplyTo
	}
	if why := p.automated(m, to); why != "" {
		return why, nil
	}
	if _, ok := p.template(queue, ev); !ok {
		return "", nil
	}
	if why, err := p.overLimit(ctx, st, to.Addr, now); err != nil || why != "" {
		return why, err
	}
	number := ""
	if in.NewTicket != nil {
		// The reply needs the ticket's number before the ticket exists:
		// allocate it first (a number skipped by a failed commit is fine).
		n, err := st.NextTicketNumber(ctx, now)
		if err != nil {
			return "", err
		}
		in.NewTicket.Number, number = n, n
	} else {
		t, err := st.Ticket(ctx, in.TicketID)
		if err != nil {
			return "", err
		}
		number = t.Number
	}
	name := to.Name
	if name == "" {
		name = customer.Name
	}
	if name == "" {
		name = to.Addr
	}
	subject := m.Subject
	tpl, _, err := p.render(queue, ev, TemplateData{TicketNumber: number, Subject: subject, CustomerName: name,
		CustomerEmail: to.Addr, Queue: queue})
	if err != nil {
		return "", err
	}
	out := &outgoing{
		From:       Address{Name: p.Name, Addr: strings.ToLower(p.Addresses[0])},
		To:         to,
		Subject:    p.taggedSubject(tpl.Subject, number),
		Body:       tpl.Body,
		MessageID:  newMessageID(p.Secret, number, p.Domain),
		References: answerReferences(m.References, firstOf(m.InReplyTo), m.MessageID),
		Date:       now,
		Automatic:  true,
		LoopToken:  p.loopToken(),
	}
	if m.MessageID != "" {
		out.InReplyTo = m.MessageID
	}
	in.Reply = replyArticle(out)
	in.AutoResponse = &store.AutoResponse{Recipient: to.Addr, Template: string(ev), SentAt: now, MessageID: out.MessageID,
		Raw: out.bytes(), State: store.AutoResponseQueued}
	return "", nil
}

func inboundArticle(m *Mail, now time.Time) store.Article {
	date := m.Date
	if date.IsZero() {
		date = now
	}
	join := func(as []Address) string {
		s := make([]string, len(as))
		for i, a := range as {
			s[i] = a.String()
		}
		return strings.Join(s, ", ")
	}
	text := m.Text
	if len(m.Dropped) > 0 {
		text += "\n\n[attachments not kept: " + strings.Join(m.Dropped, "; ") + "]"
	}
	return store.Article{
		Direction:  store.Inbound,
		MessageID:  m.MessageID,
		InReplyTo:  strings.Join(m.InReplyTo, " "),
		References: m.References,
		From:       m.From.String(),
		To:         join(m.To),
		Cc:         join(m.Cc),
		Subject:    m.Subject,
		TextBody:   text,
		HTMLBody:   m.HTML,
		Date:       date,
		CreatedAt:  now,
	}
}

func ticketAttachments(m *Mail) []store.TicketAttachment {
	out := make([]store.TicketAttachment, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		out = append(out, store.TicketAttachment{Name: a.Name, MediaType: a.MediaType, ContentID: a.ContentID, Data: a.Data})
	}
	return out
}
