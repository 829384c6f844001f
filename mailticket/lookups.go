package mailticket

import (
	"context"
	"fmt"

	"github.com/switchboard-go/switchboard/store"
)

// lookups is the store seen by the mails of one chunk, inside its
// transaction, when that transaction keeps other writers out
// (store.ExclusiveTx): then nobody else can store what a list said is
// not there until the chunk ends. A mail's receipt and Message-ID lookups are made by list
// for the mails parsed so far (KnownMailKeys, KnownMessageIDs: two
// queries where each mail would take two or more), and a single lookup
// whose answer the list gives as "not there" is answered without a
// query. Whatever the chunk itself stores (IngestMail) is remembered, so
// a later mail of the chunk that repeats it is looked up for real. Keys
// the lists did not cover are looked up for real too: the answers are
// those of the single lookups.
type lookups struct {
	store.TicketStore // the chunk's transaction
	pa                *parsing
	asked             int             // mails [0, asked) are covered
	covered           map[string]bool // keys and ids the lists asked about
	known             map[string]bool // and those they found
	written           map[string]bool // keys and ids the chunk stored since
}

func newLookups(tx store.TicketStore, pa *parsing) *lookups {
	return &lookups{TicketStore: tx, pa: pa, covered: map[string]bool{}, known: map[string]bool{}, written: map[string]bool{}}
}

// cover makes sure mail i is covered, waiting for its parse, and asks
// with it about the mails after it that are parsed already.
func (l *lookups) cover(ctx context.Context, i int) error {
	if i < l.asked {
		return nil
	}
	<-l.pa.ready[i]
	j := i + 1
	for j < len(l.pa.items) && isClosed(l.pa.ready[j]) {
		j++
	}
	var keys, ids []string
	for _, it := range l.pa.items[i:j] {
		if it.m == nil {
			continue
		}
		keys = append(keys, it.d.SourceKey, it.m.ContentKey())
		ids = append(ids, it.m.MessageID)
		ids = append(ids, it.m.InReplyTo...)
		ids = append(ids, it.m.References...)
	}
	l.asked = j
	if err := l.ask(ctx, keys, l.TicketStore.KnownMailKeys); err != nil {
		return err
	}
	return l.ask(ctx, ids, l.TicketStore.KnownMessageIDs)
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (l *lookups) ask(ctx context.Context, keys []string, known func(context.Context, []string) ([]string, error)) error {
	if len(keys) == 0 {
		return nil
	}
	found, err := known(ctx, keys)
	if err != nil {
		return err
	}
	for _, k := range keys {
		l.covered[k] = true
	}
	for _, k := range found {
		l.known[k] = true
	}
	return nil
}

// absent reports whether k is surely not stored.
func (l *lookups) absent(k string) bool {
	return k == "" || l.covered[k] && !l.known[k] && !l.written[k]
}

func notFound(what string) error { return fmt.Errorf("mailticket: %s: %w", what, store.ErrNotFound) }

func (l *lookups) MailReceipt(ctx context.Context, sourceKey, contentKey string) (store.MailReceipt, error) {
	if l.absent(sourceKey) && l.absent(contentKey) {
		return store.MailReceipt{}, notFound("mail receipt")
	}
	return l.TicketStore.MailReceipt(ctx, sourceKey, contentKey)
}

func (l *lookups) TicketByMessageID(ctx context.Context, messageID string) (store.Ticket, error) {
	if l.absent(messageID) {
		return store.Ticket{}, notFound("ticket by message id")
	}
	return l.TicketStore.TicketByMessageID(ctx, messageID)
}

func (l *lookups) IngestMail(ctx context.Context, in store.MailIngest) (store.IngestResult, error) {
	l.written[in.Receipt.SourceKey] = true
	l.written[in.Receipt.ContentKey] = true
	l.written[in.Article.MessageID] = true
	if in.Reply != nil {
		l.written[in.Reply.MessageID] = true
	}
	return l.TicketStore.IngestMail(ctx, in)
}
