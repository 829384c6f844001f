package mailticket

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Source is a mailbox mail is taken from.
type Source interface {
	// Fetch hands every mail waiting in the source to handle, in
	// batches (at most MaxBatch mails and about MaxBatchBytes), and
	// applies the source's after-commit action (mark seen, move, delete;
	// for quarantined mail, a move aside where the source has one) to the
	// mails of a batch after handle returned without error, never before. It stops at the first error of handle or of the source; a
	// mail whose action did not happen is handed over again by the next
	// Fetch, which the Processor recognizes as a duplicate.
	Fetch(ctx context.Context, handle Handler) error
	// String names the source for logs (no password).
	String() string
	// Close frees the source's connection, if it keeps one.
	Close() error
}

// Handler processes a batch of mails and returns one Result per mail, in
// order ([Processor.ProcessBatch] is one).
type Handler func(ctx context.Context, ds []Delivery) ([]Result, error)

// Batch bounds of the sources: a batch is handed over when it holds
// MaxBatch mails or MaxBatchBytes bytes.
const (
	MaxBatch      = 100
	MaxBatchBytes = 16 << 20
)

// batch collects deliveries with the source's ids of them.
type batch[ID any] struct {
	ds    []Delivery
	ids   []ID
	bytes int
}

func (b *batch[ID]) add(d Delivery, id ID) (full bool) {
	b.ds, b.ids = append(b.ds, d), append(b.ids, id)
	b.bytes += len(d.Raw)
	return len(b.ds) >= MaxBatch || b.bytes >= MaxBatchBytes
}

// flush hands the batch over and returns the ids of its mails, those
// quarantined apart (nil when empty); the batch is then empty again.
func (b *batch[ID]) flush(ctx context.Context, handle Handler) (done, quarantined []ID, err error) {
	if len(b.ds) == 0 {
		return nil, nil, nil
	}
	rs, err := handle(ctx, b.ds)
	ids := b.ids
	b.ds, b.ids, b.bytes = nil, nil, 0
	if err != nil {
		return nil, nil, err
	}
	if len(rs) != len(ids) {
		return nil, nil, fmt.Errorf("mailticket: handler returned %d results for %d mails", len(rs), len(ids))
	}
	for i, r := range rs {
		switch {
		case r.othersAct: // the process that stored it acts on it
		case r.Outcome == Quarantined:
			quarantined = append(quarantined, ids[i])
		default:
			done = append(done, ids[i])
		}
	}
	return done, quarantined, nil
}

// Waiter is a source that can tell when new mail may have arrived (IMAP
// IDLE). Wait returns when there may be new mail or after at most d.
type Waiter interface {
	Wait(ctx context.Context, d time.Duration) error
}

// Summary counts what a run did.
type Summary struct {
	Fetched       int
	Created       int
	FollowUps     int // follow-ups, rejected follow-ups and bounces
	Duplicates    int
	Quarantined   int
	Ignored       int
	Unmatched     int // delivery reports on no mail of ours (see Processor.BounceQueue)
	AutoResponses int // replies sent
}

func (s *Summary) add(r Result) {
	s.Fetched++
	switch r.Outcome {
	case Created:
		s.Created++
	case FollowUp, Rejected, BounceAdded:
		s.FollowUps++
	case Duplicate:
		s.Duplicates++
	case Quarantined:
		s.Quarantined++
	case Ignored:
		s.Ignored++
	case Unmatched:
		s.Unmatched++
	}
}

// String is the one-line summary the example server prints.
func (s Summary) String() string {
	return fmt.Sprintf("mail fetched=%d created=%d followups=%d duplicates=%d ignored=%d quarantined=%d unmatched=%d autoresponses=%d",
		s.Fetched, s.Created, s.FollowUps, s.Duplicates, s.Ignored, s.Quarantined, s.Unmatched, s.AutoResponses)
}

// Poller runs a Processor over sources and sends its replies.
type Poller struct {
	Processor *Processor
	Sources   []Source
	// Sender sends automatic replies (nil: they stay queued).
	Sender Sender
	// Interval between polls of sources that cannot wait for mail (1
	// minute if zero); sources that are Waiters are woken by the server.
	Interval time.Duration
	// OnResult, when set, sees every mail's result.
	OnResult func(src Source, r Result)
	// OnError, when set, sees errors that Run retries after.
	OnError func(src Source, err error)
}

// RunOnce fetches every source once, then sends the queued replies. A
// source that fails does not stop the others; the errors are joined.
func (pl *Poller) RunOnce(ctx context.Context) (Summary, error) {
	var sum Summary
	var errs []error
	for _, src := range pl.Sources {
		if err := pl.fetch(ctx, src, &sum); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", src, err))
		}
	}
	if pl.Sender != nil {
		n, err := pl.Processor.SendQueued(ctx, pl.Sender, 0)
		sum.AutoResponses += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return sum, errors.Join(errs...)
}

func (pl *Poller) fetch(ctx context.Context, src Source, sum *Summary) error {
	return src.Fetch(ctx, func(ctx context.Context, ds []Delivery) ([]Result, error) {
		rs, err := pl.Processor.ProcessBatch(ctx, ds)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			sum.add(r)
			if pl.OnResult != nil {
				pl.OnResult(src, r)
			}
		}
		return rs, nil
	})
}

// Run polls every source in its own goroutine until ctx ends, sending
// replies after each round; errors are reported to OnError and retried
// with a growing pause (up to Interval). It returns ctx's error.
func (pl *Poller) Run(ctx context.Context) error {
	interval := pl.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	done := make(chan struct{}, len(pl.Sources))
	for _, src := range pl.Sources {
		go func() {
			defer func() { done <- struct{}{} }()
			pause := time.Second
			for ctx.Err() == nil {
				var sum Summary
				err := pl.fetch(ctx, src, &sum)
				if err == nil && pl.Sender != nil {
					_, err = pl.Processor.SendQueued(ctx, pl.Sender, 0)
				}
				if err == nil {
					_, err = pl.Processor.Remind(ctx)
				}
				wait := interval
				if err != nil && ctx.Err() == nil {
					if pl.OnError != nil {
						pl.OnError(src, err)
					}
					wait, pause = pause, min(2*pause, interval)
				} else {
					pause = time.Second
				}
				if w, ok := src.(Waiter); ok && err == nil {
					if werr := w.Wait(ctx, wait); werr != nil && ctx.Err() == nil && pl.OnError != nil {
						pl.OnError(src, werr)
					}
					continue
				}
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
				case <-t.C:
				}
			}
		}()
	}
	for range pl.Sources {
		<-done
	}
	return ctx.Err()
}
