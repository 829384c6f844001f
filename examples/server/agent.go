package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
)

// Agent work from the command line: show a ticket, answer it, change its
// state, assign it, merge two.

// agentArgs parses a command's flags and one or two ticket numbers.
func agentArgs(fs *flag.FlagSet, args []string, numbers int) ([]string, error) {
	// The numbers may come before the flags (server ticket N -data D).
	var nums []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		nums = append(nums, args[0])
		args = args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	nums = append(nums, fs.Args()...)
	if len(nums) != numbers {
		return nil, fmt.Errorf("want %d ticket number(s), got %q", numbers, nums)
	}
	return nums, nil
}

func openTicket(ctx context.Context, st store.Store, number string) (store.Ticket, error) {
	t, err := st.TicketByNumber(ctx, strings.TrimPrefix(number, "#"))
	if errors.Is(err, store.ErrNotFound) {
		return t, fmt.Errorf("ticket %s: no such ticket", number)
	}
	return t, err
}

// agentByEmail finds an agent by e-mail, creating it on first use.
func agentByEmail(ctx context.Context, st store.Store, email string) (store.Agent, error) {
	if email == "" {
		return store.Agent{}, errors.New("-agent E-MAIL is required")
	}
	as, err := st.Agents(ctx)
	if err != nil {
		return store.Agent{}, err
	}
	for _, a := range as {
		if strings.EqualFold(a.Email, email) {
			return a, nil
		}
	}
	a := store.Agent{Name: email, Email: strings.ToLower(email)}
	return a, st.CreateAgent(ctx, &a)
}

// runTicket prints a ticket and its articles.
func runTicket(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server ticket", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	nums, err := agentArgs(fs, args, 1)
	if err != nil {
		return err
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := openTicket(ctx, st, nums[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ticket %s: %s, state %s", t.Number, t.Title, t.State)
	if !t.PendingUntil.IsZero() {
		fmt.Fprintf(stdout, " until %s", t.PendingUntil.Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	arts, err := st.Articles(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, a := range arts {
		fmt.Fprintf(stdout, "\n--- %s %s from %s\n", a.CreatedAt.Format(time.RFC3339), a.Direction, a.From)
		if a.Subject != "" {
			fmt.Fprintf(stdout, "Subject: %s\n", a.Subject)
		}
		fmt.Fprintln(stdout, strings.TrimSpace(a.TextBody))
		atts, err := st.TicketAttachments(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, at := range atts {
			fmt.Fprintf(stdout, "[attachment %s, %s, %d bytes]\n", at.Name, at.MediaType, at.Size)
		}
	}
	return nil
}

// runState sets a ticket open, pending (with -until) or closed.
func runState(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server state", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	agent := fs.String("agent", "", "the agent's e-mail")
	until := fs.String("until", "", "with pending: when it wants attention again (RFC 3339, or a duration such as 48h)")
	nums, err := agentArgs(fs, args, 2) // NUMBER STATE
	if err != nil {
		return err
	}
	state := store.TicketState(nums[1])
	switch state {
	case store.TicketOpen, store.TicketClosed, store.TicketPending:
	default:
		return fmt.Errorf("state %q: want open, pending or closed", nums[1])
	}
	var when time.Time
	if *until != "" {
		if state != store.TicketPending {
			return errors.New("-until goes with pending")
		}
		if d, err := time.ParseDuration(*until); err == nil {
			when = time.Now().Add(d)
		} else if when, err = time.Parse(time.RFC3339, *until); err != nil {
			return fmt.Errorf("-until %q: want RFC 3339 or a duration", *until)
		}
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := openTicket(ctx, st, nums[0])
	if err != nil {
		return err
	}
	a, err := agentByEmail(ctx, st, *agent)
	if err != nil {
		return err
	}
	if state == store.TicketPending {
		err = st.SetTicketPending(ctx, t.ID, when, a.ID, time.Now())
	} else {
		err = st.SetTicketState(ctx, t.ID, state, a.ID, time.Now())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ticket %s %s\n", t.Number, state)
	return nil
}

// runAssign gives a ticket an owner.
func runAssign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server assign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	agent := fs.String("agent", "", "the agent's e-mail")
	nums, err := agentArgs(fs, args, 1)
	if err != nil {
		return err
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := openTicket(ctx, st, nums[0])
	if err != nil {
		return err
	}
	a, err := agentByEmail(ctx, st, *agent)
	if err != nil {
		return err
	}
	if err := st.AssignTicket(ctx, t.ID, a.ID, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ticket %s assigned to %s\n", t.Number, a.Email)
	return nil
}

// runMerge moves a ticket's articles into another.
func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	agent := fs.String("agent", "", "the agent's e-mail")
	nums, err := agentArgs(fs, args, 2) // FROM INTO
	if err != nil {
		return err
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	from, err := openTicket(ctx, st, nums[0])
	if err != nil {
		return err
	}
	into, err := openTicket(ctx, st, nums[1])
	if err != nil {
		return err
	}
	a, err := agentByEmail(ctx, st, *agent)
	if err != nil {
		return err
	}
	if err := st.MergeTicket(ctx, from.ID, into.ID, a.ID, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ticket %s merged into %s\n", from.Number, into.Number)
	return nil
}

// runReply answers a ticket's customer by mail through -smtp, threaded
// like the automatic replies.
func runReply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server reply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	var mf mailFlags
	mf.register(fs)
	agent := fs.String("agent", "", "the agent's e-mail")
	text := fs.String("text", "", "the answer")
	nums, err := agentArgs(fs, args, 1)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*text) == "" {
		return errors.New("reply: -text is required")
	}
	if mf.smtp == "" {
		return errors.New("reply: -smtp URL is required to send it")
	}
	sender, err := mailticket.ParseSMTPURL(mf.smtp)
	if err != nil {
		return err
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := openTicket(ctx, st, nums[0])
	if err != nil {
		return err
	}
	a, err := agentByEmail(ctx, st, *agent)
	if err != nil {
		return err
	}
	p, err := mf.processor(st, sf.Data, nil, nil)
	if err != nil {
		return err
	}
	art, err := p.Reply(ctx, sender, t.ID, a.ID, *text)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ticket %s answered: %s\n", t.Number, art.MessageID)
	return nil
}
