package mailticket

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// faultTxStore fails, inside batch transactions only, the nth IngestMail
// (with err), or cancels the context at the nth UpsertCustomer.
type faultTxStore struct {
	store.Store
	nth    int64
	err    error
	cancel context.CancelFunc
	calls  atomic.Int64
}

func (f *faultTxStore) InTx(ctx context.Context, fn func(tx store.Ops) error) error {
	return f.Store.InTx(ctx, func(tx store.Ops) error { return fn(faultTxOps{Ops: tx, f: f}) })
}

type faultTxOps struct {
	store.Ops
	f *faultTxStore
}

func (o faultTxOps) IngestMail(ctx context.Context, in store.MailIngest) (store.IngestResult, error) {
	if o.f.err != nil && o.f.calls.Add(1) == o.f.nth {
		return store.IngestResult{}, o.f.err
	}
	return o.Ops.IngestMail(ctx, in)
}

func (o faultTxOps) UpsertCustomer(ctx context.Context, c store.Customer) (store.Customer, error) {
	if o.f.cancel != nil && o.f.calls.Add(1) == o.f.nth {
		o.f.cancel()
	}
	return o.Ops.UpsertCustomer(ctx, c)
}

func summary(r Result) string {
	return fmt.Sprint(r.Outcome, " ", r.Reason, " ", r.Ticket.Number, " ", r.ArticleID, " ", r.AutoResponse)
}

// runFaultBatch: the batch mails (which meet each other) go through a
// processor whose batch transaction fails part-way (or whose context is
// cancelled part-way); a cancelled batch is delivered again. Every mail
// gets the outcome one-by-one processing gives, and is one article.
func runFaultBatch(t *testing.T, newE func(t *testing.T) *env, mode string, nth int64) {
	ds := batchMails()
	one, batch := newE(t), newE(t)
	for _, e := range []*env{one, batch} {
		e.p.RateLimit = RateLimit{PerHour: -1, PerDay: -1}
		e.process("before", simple("z@otro.example", "antes", "before@x.example"))
	}
	var want []Result
	for _, d := range ds {
		r, err := one.p.Process(one.ctx, d)
		require.NoError(t, err)
		want = append(want, r)
	}
	f := &faultTxStore{Store: batch.st, nth: nth}
	ctx := batch.ctx
	switch mode {
	case "invalid":
		f.err = fmt.Errorf("refused: %w", store.ErrInvalid)
	case "transient":
		f.err = errors.New("connection reset")
	case "cancel":
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(batch.ctx, time.Minute)
		defer cancel()
		f.cancel = cancel
	}
	bp := batch.p
	got, err := (&Processor{Store: f, Domain: bp.Domain, Secret: bp.Secret, Addresses: bp.Addresses, Name: bp.Name,
		Now: bp.Now, RateLimit: bp.RateLimit}).ProcessBatch(ctx, ds)
	if mode == "cancel" {
		require.Error(t, err)
		// Delivered again, as a source keeps what was not acknowledged.
		got, err = batch.p.ProcessBatch(batch.ctx, ds)
	}
	require.NoError(t, err)
	for i := range ds {
		w, g := want[i], got[i]
		// Article ids and numbers differ when a number was allocated by a
		// rolled-back transaction; compare the rest.
		assert.Equal(t, fmt.Sprint(w.Outcome, " ", w.AutoResponse, " ", w.Ticket.Title),
			fmt.Sprint(g.Outcome, " ", g.AutoResponse, " ", g.Ticket.Title), "mail %d (%s): %s | %s", i, ds[i].SourceKey, summary(w), summary(g))
	}
	countArticles := func(e *env) (in int, out int) {
		for _, tk := range e.tickets() {
			for _, a := range e.articles(tk.ID) {
				if a.Direction == store.Inbound {
					in++
				} else {
					out++
				}
			}
		}
		return
	}
	wi, wo := countArticles(one)
	gi, gout := countArticles(batch)
	assert.Equal(t, wi, gi, "inbound articles")
	assert.Equal(t, wo, gout, "outbound articles (replies)")
	assert.Equal(t, len(one.tickets()), len(batch.tickets()), "tickets")
}

func TestBatchFaultsSQLite(t *testing.T) {
	for _, mode := range []string{"invalid", "transient", "cancel"} {
		for _, nth := range []int64{1, 3, 6} {
			t.Run(fmt.Sprint(mode, nth), func(t *testing.T) { runFaultBatch(t, newEnv, mode, nth) })
		}
	}
}

func TestBatchFaultsPostgres(t *testing.T) {
	for _, mode := range []string{"invalid", "transient", "cancel"} {
		for _, nth := range []int64{1, 3, 6} {
			t.Run(fmt.Sprint(mode, nth), func(t *testing.T) { runFaultBatch(t, newPGEnv, mode, nth) })
		}
	}
}
