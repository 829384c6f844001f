package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/examples/internal/api"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
)

// Agent work from the command line: show a ticket, answer it, change its
// state, assign it, merge two.

// ticketCommand is what the agent commands share: the -data/-db flags,
// -agent when the command acts as one, and the words after the command,
// the first ones ticket numbers.
type ticketCommand struct {
	fs    *flag.FlagSet
	sf    storeflag.Flags
	agent *string // nil: no -agent
}

func newTicketCommand(name string, stderr io.Writer, withAgent bool) *ticketCommand {
	c := &ticketCommand{fs: flag.NewFlagSet("server "+name, flag.ContinueOnError)}
	c.fs.SetOutput(stderr)
	c.sf.Register(c.fs)
	if withAgent {
		c.agent = c.fs.String("agent", "", "the agent's e-mail")
	}
	return c
}

// ticketAction is a command's work on the open store: its tickets, the
// agent (zero without -agent) and the words of the command line.
type ticketAction func(st store.Store, ts []store.Ticket, a store.Agent, words []string) error

// run parses args into words words (tickets of them, first, ticket
// numbers), lets check refuse them before anything is opened, opens the
// store (it must exist), finds the tickets and the agent, and runs act.
func (c *ticketCommand) run(ctx context.Context, args []string, words, tickets int, check func([]string) error, act ticketAction) error {
	w, err := agentArgs(c.fs, args, words)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(w); err != nil {
			return err
		}
	}
	st, err := c.sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ts := make([]store.Ticket, tickets)
	for i := range ts {
		if ts[i], err = openTicket(ctx, st, w[i]); err != nil {
			return err
		}
	}
	var a store.Agent
	if c.agent != nil {
		if a, err = agentByEmail(ctx, st, *c.agent); err != nil {
			return err
		}
	}
	return act(st, ts, a, w)
}

// agentArgs parses a command's flags and its words (ticket numbers,
// a state), which may come before the flags or after them.
func agentArgs(fs *flag.FlagSet, args []string, numbers int) ([]string, error) {
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
		return nil, fmt.Errorf("want %d word(s) after the command, got %q", numbers, nums)
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
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return store.Agent{}, errors.New("-agent E-MAIL is required")
	}
	return api.AgentByEmail(ctx, st, email)
}

// runTicket prints a ticket and its articles.
func runTicket(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newTicketCommand("ticket", stderr, false)
	return c.run(ctx, args, 1, 1, nil, func(st store.Store, ts []store.Ticket, _ store.Agent, _ []string) error {
		t := ts[0]
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
	})
}

// runState sets a ticket open, pending (with -until) or closed.
func runState(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newTicketCommand("state", stderr, true)
	until := c.fs.String("until", "", "with pending: when it wants attention again (RFC 3339, or a duration such as 48h)")
	var when time.Time
	check := func(w []string) error { // NUMBER STATE
		switch store.TicketState(w[1]) {
		case store.TicketOpen, store.TicketClosed, store.TicketPending:
		default:
			return fmt.Errorf("state %q: want open, pending or closed", w[1])
		}
		if *until == "" {
			return nil
		}
		if store.TicketState(w[1]) != store.TicketPending {
			return errors.New("-until goes with pending")
		}
		if d, err := time.ParseDuration(*until); err == nil {
			when = time.Now().Add(d)
		} else if when, err = time.Parse(time.RFC3339, *until); err != nil {
			return fmt.Errorf("-until %q: want RFC 3339 or a duration", *until)
		}
		return nil
	}
	return c.run(ctx, args, 2, 1, check, func(st store.Store, ts []store.Ticket, a store.Agent, w []string) error {
		state := store.TicketState(w[1])
		var err error
		if state == store.TicketPending {
			err = st.SetTicketPending(ctx, ts[0].ID, when, a.ID, time.Now())
		} else {
			err = st.SetTicketState(ctx, ts[0].ID, state, a.ID, time.Now())
		}
		if err == nil {
			fmt.Fprintf(stdout, "ticket %s %s\n", ts[0].Number, state)
		}
		return err
	})
}

// runAssign gives a ticket an owner.
func runAssign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newTicketCommand("assign", stderr, true)
	return c.run(ctx, args, 1, 1, nil, func(st store.Store, ts []store.Ticket, a store.Agent, _ []string) error {
		if err := st.AssignTicket(ctx, ts[0].ID, a.ID, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ticket %s assigned to %s\n", ts[0].Number, a.Email)
		return nil
	})
}

// runMerge moves a ticket's articles into another.
func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newTicketCommand("merge", stderr, true)
	return c.run(ctx, args, 2, 2, nil, func(st store.Store, ts []store.Ticket, a store.Agent, _ []string) error { // FROM INTO
		if err := st.MergeTicket(ctx, ts[0].ID, ts[1].ID, a.ID, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ticket %s merged into %s\n", ts[0].Number, ts[1].Number)
		return nil
	})
}

// runReply answers a ticket's customer by mail through -smtp, threaded
// like the automatic replies.
func runReply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newTicketCommand("reply", stderr, true)
	var mf mailFlags
	mf.register(c.fs)
	text := c.fs.String("text", "", "the answer")
	tplFile := c.fs.String("template", "", "a file with the answer as a Go text/template: {{.CustomerName}}, {{.TicketNumber}}, {{.Subject}}, {{.Queue}}, {{.AgentName}}")
	var sender mailticket.Sender
	var tpl string
	check := func([]string) error {
		switch {
		case *tplFile != "" && *text != "":
			return errors.New("reply: -text or -template, not both")
		case *tplFile != "":
			b, err := os.ReadFile(*tplFile)
			if err != nil {
				return fmt.Errorf("reply: %w", err)
			}
			tpl = string(b)
		case strings.TrimSpace(*text) == "":
			return errors.New("reply: -text or -template is required")
		}
		if mf.smtp == "" {
			return errors.New("reply: -smtp URL is required to send it")
		}
		var err error
		sender, err = mailticket.ParseSMTPURL(mf.smtp)
		return err
	}
	return c.run(ctx, args, 1, 1, check, func(st store.Store, ts []store.Ticket, a store.Agent, _ []string) error {
		p, err := mf.processor(st, c.sf.Data, nil, nil)
		if err != nil {
			return err
		}
		answer := *text
		if tpl != "" {
			if answer, err = p.RenderAnswer(ctx, ts[0].ID, a.ID, tpl); err != nil {
				return err
			}
		}
		art, err := p.Reply(ctx, sender, ts[0].ID, a.ID, answer)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ticket %s answered: %s\n", ts[0].Number, art.MessageID)
		return nil
	})
}
