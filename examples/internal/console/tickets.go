package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/examples/internal/api"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store"
)

// agents may work tickets: agents and administrators.
func agents(r store.AccountRole) bool { return r == store.RoleAgent || r == store.RoleAdmin }

// DefaultAnswers are the answer templates offered when Server.Answers is
// nil: Go text/template sources with mailticket.TemplateData.
var DefaultAnswers = map[string]string{
	"Thanks, solved": "Hello {{.CustomerName}},\n\nthank you for writing. We have solved it; if anything is still wrong, " +
		"just answer this mail.\n\n{{.AgentName}}\n{{.Queue}}",
	"More details, please": "Hello {{.CustomerName}},\n\nto help you we need a few more details: what did you do, " +
		"what happened, and when? A screenshot helps.\n\n{{.AgentName}}",
}

// ticketAgent is the help-desk agent record (store.Agent) a console
// account works as: its login when it is an address, else
// login@agents.invalid (a reserved domain: never mailed).
func (s *Server) ticketAgent(ctx context.Context) (store.Agent, error) {
	sess := sessionOf(ctx)
	email := strings.ToLower(sess.login)
	if !strings.Contains(email, "@") {
		email += "@agents.invalid"
	}
	return api.AgentNamed(ctx, s.Store, email, sess.name)
}

type ticketRow struct {
	store.Ticket
	Queue, Owner, Customer string
}

// names resolves the ids a ticket page shows, reading each list once.
type names struct {
	queues    map[int64]string
	agents    map[int64]string
	agentList []store.Agent
	queueList []store.Queue
}

func (s *Server) names(ctx context.Context) (*names, error) {
	qs, err := s.Store.Queues(ctx)
	if err != nil {
		return nil, err
	}
	as, err := s.Store.Agents(ctx)
	if err != nil {
		return nil, err
	}
	n := &names{queues: map[int64]string{}, agents: map[int64]string{}, agentList: as, queueList: qs}
	for _, q := range qs {
		n.queues[q.ID] = q.Name
	}
	for _, a := range as {
		n.agents[a.ID] = cmp.Or(a.Name, a.Email)
	}
	return n, nil
}

func (s *Server) row(ctx context.Context, n *names, t store.Ticket) (ticketRow, error) {
	r := ticketRow{Ticket: t, Queue: n.queues[t.QueueID], Owner: n.agents[t.OwnerID]}
	if t.CustomerID != 0 {
		c, err := s.Store.Customer(ctx, t.CustomerID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return r, err
		}
		r.Customer = cmp.Or(c.Name, c.Email)
		if c.Name != "" && c.Email != "" {
			r.Customer = c.Name + " <" + c.Email + ">"
		}
	}
	return r, nil
}

var ticketStates = []store.TicketState{store.TicketNew, store.TicketOpen, store.TicketPending, store.TicketClosed}

// tickets shows the queues with their open counts and the tickets, by
// queue and state, oldest first, a page at a time.
func (s *Server) tickets(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	n, err := s.names(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	backlog, err := s.Store.Backlog(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	q := r.URL.Query()
	f := store.TicketFilter{State: store.TicketState(q.Get("state")), Limit: 50}
	if f.State != "" && !slices.Contains(ticketStates, f.State) {
		http.Error(w, "state: want new, open, pending or closed", http.StatusBadRequest)
		return
	}
	queue := q.Get("queue")
	if queue != "" {
		for id, name := range n.queues {
			if name == queue {
				f.QueueID = id
			}
		}
		if f.QueueID == 0 {
			http.Error(w, "no such queue", http.StatusNotFound)
			return
		}
	}
	if id, err := strconv.ParseInt(q.Get("after"), 10, 64); err == nil && id > 0 {
		f.AfterID = id
	}
	ts, err := s.Store.Tickets(ctx, f)
	if err != nil {
		s.fail(w, err)
		return
	}
	rows := make([]ticketRow, 0, len(ts))
	for _, t := range ts {
		row, err := s.row(ctx, n, t)
		if err != nil {
			s.fail(w, err)
			return
		}
		rows = append(rows, row)
	}
	var next int64
	if len(ts) == f.Limit {
		next = ts[len(ts)-1].ID
	}
	s.render(w, r, "tickets", http.StatusOK, map[string]any{"Backlog": backlog, "Tickets": rows, "Queue": queue,
		"State": string(f.State), "States": ticketStates, "Next": next})
}

// ticketOf reads the ticket of the request's {number}, or answers 404.
func (s *Server) ticketOf(w http.ResponseWriter, r *http.Request) (store.Ticket, bool) {
	t, err := s.Store.TicketByNumber(r.Context(), r.PathValue("number"))
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such ticket", http.StatusNotFound)
		return t, false
	}
	if err != nil {
		s.fail(w, err)
		return t, false
	}
	return t, true
}

type articleView struct {
	store.Article
	Author      string
	HTML        any // sanitized
	Attachments []store.TicketAttachment
}

// ticket shows a ticket: its facts, its articles (mail HTML sanitized,
// inline images from its attachments), its history, and the forms that
// work on it. ?answer=NAME fills the reply with that answer template.
func (s *Server) ticket(w http.ResponseWriter, r *http.Request) {
	s.ticketPage(w, r, http.StatusOK, "", "")
}

func (s *Server) ticketPage(w http.ResponseWriter, r *http.Request, status int, problem, draft string) {
	ctx := r.Context()
	t, ok := s.ticketOf(w, r)
	if !ok {
		return
	}
	n, err := s.names(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	row, err := s.row(ctx, n, t)
	if err != nil {
		s.fail(w, err)
		return
	}
	arts, err := s.Store.Articles(ctx, t.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	views := make([]articleView, 0, len(arts))
	for _, a := range arts {
		atts, err := s.Store.TicketAttachments(ctx, a.ID)
		if err != nil {
			s.fail(w, err)
			return
		}
		v := articleView{Article: a, Attachments: atts, Author: n.agents[a.AgentID]}
		if a.HTMLBody != "" {
			v.HTML = sanitizeMail(a.HTMLBody, atts, s.path("/tickets/attachments/"))
		}
		views = append(views, v)
	}
	events, err := s.Store.TicketEvents(ctx, t.ID)
	if err != nil {
		s.fail(w, err)
		return
	}
	answers := s.answers()
	if name := r.URL.Query().Get("answer"); name != "" && draft == "" {
		src, ok := answers[name]
		if !ok {
			http.Error(w, "no such answer template", http.StatusNotFound)
			return
		}
		a, err := s.ticketAgent(ctx)
		if err != nil {
			s.fail(w, err)
			return
		}
		if s.Tickets == nil {
			problem = "Answers need the server's mail settings (-smtp)."
		} else if draft, err = s.Tickets.RenderAnswer(ctx, t.ID, a.ID, src); err != nil {
			problem = err.Error()
		}
	}
	names := make([]string, 0, len(answers))
	for k := range answers {
		names = append(names, k)
	}
	slices.Sort(names)
	pending := ""
	if !t.PendingUntil.IsZero() {
		pending = t.PendingUntil.Local().Format("2006-01-02T15:04")
	}
	s.render(w, r, "ticket", status, map[string]any{"T": row, "Articles": views, "Events": events, "Agents": n.agentList,
		"Queues": n.queueList, "AgentNames": n.agents, "States": ticketStates, "Answers": names, "Draft": draft,
		"Problem": problem, "Done": r.URL.Query().Get("done"), "CanReply": s.Tickets != nil && s.Mail != nil, "Pending": pending})
}

func (s *Server) answers() map[string]string {
	if s.Answers != nil {
		return s.Answers
	}
	return DefaultAnswers
}

// ticketAction runs one of the ticket page's forms as the session's
// agent, then returns to the page (or shows it again with the problem).
func (s *Server) ticketAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, ok := s.ticketOf(w, r)
	if !ok {
		return
	}
	a, err := s.ticketAgent(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	text := r.PostFormValue("text")
	done, problem, err := s.act(ctx, r.PathValue("action"), t, a, r.PostForm)
	switch {
	case err != nil:
		s.fail(w, err)
	case problem != "":
		s.ticketPage(w, r, http.StatusBadRequest, problem, text)
	default:
		http.Redirect(w, r, s.path("/tickets/"+url.PathEscape(t.Number)+"?done="+url.QueryEscape(done)+"#done"), http.StatusSeeOther)
	}
}

// act does a ticket action and says what it did, or the problem with the
// form (a problem is the agent's to fix; err is the console's).
func (s *Server) act(ctx context.Context, action string, t store.Ticket, a store.Agent, form url.Values) (done, problem string, err error) {
	now := s.now()
	kept := func(err error) (string, string, error) { // the store's refusals are the agent's to read
		if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return "", err.Error(), nil
		}
		return "", "", err
	}
	switch action {
	case "reply":
		text := form.Get("text")
		if strings.TrimSpace(text) == "" {
			return "", "The answer is empty.", nil
		}
		if s.Tickets == nil || s.Mail == nil {
			return "", "Replies need the server's mail settings (-smtp).", nil
		}
		art, err := s.Tickets.Reply(ctx, s.Mail, t.ID, a.ID, text)
		if errors.Is(err, mailticket.ErrNoRecipient) {
			return "", "The ticket has no customer address to answer.", nil
		}
		if err != nil {
			return "", "", err
		}
		if form.Get("close") == "on" {
			if err := s.Store.SetTicketState(ctx, t.ID, store.TicketClosed, a.ID, now); err != nil {
				return kept(err)
			}
			return "Answer sent (" + art.MessageID + ") and ticket closed.", "", nil
		}
		return "Answer sent (" + art.MessageID + ").", "", nil
	case "note":
		text := form.Get("text")
		if strings.TrimSpace(text) == "" {
			return "", "The note is empty.", nil
		}
		note := store.Article{TicketID: t.ID, Direction: store.Note, AgentID: a.ID, From: a.Email, TextBody: text, CreatedAt: now}
		if err := s.Store.AddArticle(ctx, &note, nil); err != nil {
			return kept(err)
		}
		return "Note added.", "", nil
	case "state":
		st := store.TicketState(form.Get("state"))
		switch st {
		case store.TicketNew, store.TicketOpen, store.TicketClosed:
			err = s.Store.SetTicketState(ctx, t.ID, st, a.ID, now)
		case store.TicketPending:
			until, perr := time.ParseInLocation("2006-01-02T15:04", form.Get("until"), time.Local)
			if perr != nil || !until.After(now) {
				return "", "A pending ticket needs a time in the future to come back.", nil
			}
			err = s.Store.SetTicketPending(ctx, t.ID, until, a.ID, now)
		default:
			return "", "State: want new, open, pending or closed.", nil
		}
		if err != nil {
			return kept(err)
		}
		return "State set to " + string(st) + ".", "", nil
	case "owner":
		id, _ := strconv.ParseInt(form.Get("owner"), 10, 64)
		if id < 0 {
			return "", "Owner: choose an agent.", nil
		}
		if err := s.Store.AssignTicket(ctx, t.ID, id, now); err != nil {
			return kept(err)
		}
		return "Owner changed.", "", nil
	case "queue":
		id, _ := strconv.ParseInt(form.Get("queue"), 10, 64)
		if id <= 0 {
			return "", "Queue: choose one.", nil
		}
		if err := s.Store.MoveTicket(ctx, t.ID, id, a.ID, now); err != nil {
			return kept(err)
		}
		return "Moved to another queue.", "", nil
	case "merge":
		into, err := s.Store.TicketByNumber(ctx, strings.TrimSpace(form.Get("into")))
		if errors.Is(err, store.ErrNotFound) {
			return "", "Merge: no ticket with that number.", nil
		}
		if err != nil {
			return "", "", err
		}
		if err := s.Store.MergeTicket(ctx, t.ID, into.ID, a.ID, now); err != nil {
			return kept(err)
		}
		return "Merged into " + into.Number + ".", "", nil
	}
	return "", fmt.Sprintf("No such action %q.", action), nil
}

// attachment serves a ticket attachment: images (but SVG) inline, since
// articles show them, everything else as a download; never run by the
// browser as a page (sandboxed, nosniff).
func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	a, err := s.Store.TicketAttachment(r.Context(), pathID(r, "id"))
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such attachment", http.StatusNotFound)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	mt := strings.ToLower(a.MediaType)
	disposition := "attachment"
	switch mt {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		disposition = "inline"
	default:
		mt = "application/octet-stream"
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Header().Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": a.Name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Data)))
	w.Write(a.Data)
}
