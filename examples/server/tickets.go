package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
)

// ticketLine is one line of `server tickets`.
type ticketLine struct {
	ID            int64      `json:"id"`
	Number        string     `json:"number"`
	Title         string     `json:"title"`
	Subject       string     `json:"subject"`
	Articles      int        `json:"articles"`
	Queue         string     `json:"queue"`
	State         string     `json:"state"`
	Priority      int        `json:"priority"`
	Customer      string     `json:"customer,omitempty"`
	OwnerID       int64      `json:"owner_id,omitempty"`
	Created       time.Time  `json:"created"`
	Updated       time.Time  `json:"updated"`
	FirstResponse *time.Time `json:"first_response,omitempty"`
	Closed        *time.Time `json:"closed,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func runTickets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server tickets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	state := fs.String("state", "", "only tickets in this state (new, open, pending, closed)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch store.TicketState(*state) {
	case "", store.TicketNew, store.TicketOpen, store.TicketPending, store.TicketClosed:
	default:
		return fmt.Errorf("-state %q: want new, open, pending or closed", *state)
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	queues := map[int64]string{}
	qs, err := st.Queues(ctx)
	if err != nil {
		return err
	}
	for _, q := range qs {
		queues[q.ID] = q.Name
	}
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	customers := map[int64]string{}
	f := store.TicketFilter{State: store.TicketState(*state), Limit: 1000}
	for {
		page, err := st.Tickets(ctx, f)
		if err != nil {
			return err
		}
		for _, t := range page {
			if t.CustomerID != 0 && customers[t.CustomerID] == "" {
				customers[t.CustomerID] = customerEmail(ctx, st, t.CustomerID)
			}
			arts, err := st.Articles(ctx, t.ID)
			if err != nil {
				return err
			}
			subject := t.Title
			if len(arts) > 0 {
				subject = arts[0].Subject
			}
			if err := enc.Encode(ticketLine{ID: t.ID, Number: t.Number, Title: t.Title, Subject: subject, Articles: len(arts),
				Queue: queues[t.QueueID],
				State: string(t.State), Priority: t.Priority, Customer: customers[t.CustomerID], OwnerID: t.OwnerID,
				Created: t.CreatedAt, Updated: t.UpdatedAt, FirstResponse: optTime(t.FirstResponseAt),
				Closed: optTime(t.ClosedAt)}); err != nil {
				return err
			}
		}
		if len(page) < f.Limit {
			return w.Flush()
		}
		f.AfterID = page[len(page)-1].ID
	}
}

func customerEmail(ctx context.Context, st store.Store, id int64) string {
	c, err := st.Customer(ctx, id)
	if err != nil {
		return ""
	}
	return c.Email
}

func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	now := time.Now().UTC()
	from := fs.String("from", now.AddDate(0, -1, 0).Format(time.DateOnly), "first day (UTC), YYYY-MM-DD")
	to := fs.String("to", now.Format(time.DateOnly), "last day (UTC), YYYY-MM-DD, included")
	period := fs.String("period", "week", "bucket: day, week or month")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f, err := time.Parse(time.DateOnly, *from)
	if err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	t, err := time.Parse(time.DateOnly, *to)
	if err != nil {
		return fmt.Errorf("-to: %w", err)
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := mailticket.Statistics(ctx, st, mailticket.StatsQuery{From: f, To: t.AddDate(0, 0, 1), Period: store.Period(*period)})
	if err != nil {
		return err
	}
	return r.WriteText(stdout)
}
