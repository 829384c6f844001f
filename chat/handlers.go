package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode"

	"github.com/switchboard-go/switchboard/internal/loginguard"
	"github.com/switchboard-go/switchboard/store"
)

// handshake reads HELLO and answers WELCOME, or fails the connection.
func (s *Server) handshake(c *conn) bool {
	c.nc.SetReadDeadline(time.Now().Add(orDur(s.Heartbeat, 15*time.Second)))
	c.fr.newer = true // a client of a later version says HELLO; WELCOME says what we speak
	f, err := c.fr.Read()
	c.fr.newer = false
	if err != nil {
		var fe *FrameError
		if errors.As(err, &fe) {
			if errors.Is(fe, ErrBadVersion) {
				c.fail(CodeBadVersion, fmt.Sprintf("this server speaks version %d", Version))
			} else {
				c.fail(CodeBadFrame, fe.Error())
			}
		} else {
			c.close("no hello: " + err.Error())
		}
		return false
	}
	m, err := Decode(f)
	if err != nil {
		c.fail(CodeBadFrame, err.Error())
		return false
	}
	hello, ok := m.(*Hello)
	if !ok {
		c.fail(CodeUnexpected, "the first frame must be HELLO")
		return false
	}
	c.caps = s.sharedCaps(hello.Caps)
	ctx := context.Background()
	if c.operator != "" && (hello.Role != RoleOperator || hello.Login != c.operator) {
		c.fail(CodeAuthFailed, "this connection is for operator "+c.operator+" only")
		return false
	}
	switch hello.Role {
	case RoleCustomer:
		return s.helloCustomer(ctx, c, hello)
	case RoleOperator:
		return s.helloOperator(ctx, c, hello)
	}
	c.fail(CodeUnexpected, "unknown role")
	return false
}

func (s *Server) newSession() string {
	return strconv.FormatUint(s.nextSess.Add(1), 36)
}

func (s *Server) helloCustomer(ctx context.Context, c *conn, h *Hello) bool {
	c.role = RoleCustomer
	now := time.Now()
	if h.Resume != "" {
		id, gen, ok := parseResume(s.secret, h.Resume, now)
		if !ok {
			c.fail(CodeResumeExpired, "unknown or expired resume token; connect without it")
			return false
		}
		cv, next, others, why := s.hub.attachCustomer(id, gen, h.LastSeq, c)
		if cv == nil && why == errNotOpen {
			return s.resumeClosed(ctx, c, id, h.LastSeq, now)
		}
		if cv == nil {
			c.fail(CodeResumeExpired, why)
			return false
		}
		c.conv = cv
		c.session = s.newSession()
		s.hub.mu.Lock()
		op := cv.operator
		var tell []*conn
		if op != nil {
			tell = connsOf(op.conns)
		}
		rec := cv.rec
		s.hub.mu.Unlock()
		w := s.welcome(c, &rec, next, now)
		if op != nil {
			w.OperatorID = s.publicOperatorID(op.id)
		}
		c.send(w)
		for _, o := range others {
			if o.has(CapElsewhere) {
				o.sendConv(id, &Event{ConversationID: id, Kind: EventElsewhere, Text: "the conversation was resumed on another device", Time: now})
			}
		}
		if op != nil {
			c.send(&Event{ConversationID: id, Kind: EventAssigned, OperatorID: w.OperatorID, OperatorName: op.displayName(), Time: now})
			sendConvAll(tell, id, &Event{ConversationID: id, Kind: EventBack, Text: "the customer is back", Time: now})
		} else {
			s.hub.tellLine(c)
		}
		c.release(id) // what the customer missed follows
		s.hub.dispatch(ctx)
		return true
	}

	rec := store.Conversation{CustomerName: store.CleanLine(h.Name), CustomerID: store.CleanLine(h.CustomerID), CustomerEmail: store.CleanLine(h.Email)}
	if h.Token != "" {
		claims, err := VerifyCustomerToken(s.secret, h.Token, now)
		if err != nil {
			c.fail(CodeAuthFailed, err.Error())
			return false
		}
		rec.CustomerID, rec.CustomerEmail, rec.Verified = store.CleanLine(claims.ID), store.CleanLine(claims.Email), true
		if name := store.CleanLine(claims.Name); name != "" {
			rec.CustomerName = name
		}
	} else if s.RequireToken {
		c.fail(CodeAuthFailed, "this server requires a signed customer token")
		return false
	}
	if blank(rec.CustomerName) || (blank(rec.CustomerID) && blank(rec.CustomerEmail)) {
		c.fail(CodeAuthFailed, "a customer gives a name and a customer id or e-mail")
		return false
	}
	if !s.hub.mayWait(c.ip) || !s.guard.openConversation(c.ip, now) {
		c.fail(CodeRateLimited, "too many conversations from your address; try again later")
		return false
	}
	offline := s.hub.offlineReason(now)
	rec.LeftMessage = offline != "" && s.LeaveMessages
	if err := s.Store.CreateConversation(ctx, &rec); err != nil {
		c.fail(CodeInternal, "cannot open a conversation now")
		s.logf("creating a conversation", "err", err)
		return false
	}
	cv := &conv{id: rec.ID, rec: rec, ip: c.ip, customers: map[*conn]struct{}{}}
	c.conv = cv
	c.session = s.newSession()
	s.hub.enqueue(cv, c, s.welcome(c, &rec, 1, now), rec.LeftMessage)
	s.logf("customer connected", "conversation", rec.ID, "remote", c.nc.RemoteAddr(), "left_message", rec.LeftMessage)
	s.events.emit(ConversationEvent{Kind: ConversationOpened, ConversationID: rec.ID, CustomerName: rec.CustomerName,
		Verified: rec.Verified, LeftMessage: rec.LeftMessage, Time: now})
	if rec.LeftMessage {
		// Nobody can answer now: the customer hears it at once and may
		// leave a message, which is not routed (OnLeftMessage takes it).
		s.tellOffline(ctx, c, cv, "Sorry, "+offline+". Leave us a message here and we will get back to you.", now)
		return true
	}
	s.hub.system(ctx, cv, rec.CustomerName+" is waiting for an operator")
	if offline != "" {
		s.tellOffline(ctx, c, cv, "Sorry, "+offline+". You keep your place in line until an operator can answer.", now)
	}
	s.hub.dispatch(ctx)
	return true
}

// resumeClosed answers a customer who resumes a conversation that closed
// meanwhile: what it missed up to the end, then EVENT closed. The
// connection takes part in nothing (a SEND is refused as closed); the
// client leaves when it likes.
func (s *Server) resumeClosed(ctx context.Context, c *conn, id, lastSeq int64, now time.Time) bool {
	rec, err := s.Store.Conversation(ctx, id)
	if err != nil || rec.State != store.ConversationClosed {
		c.fail(CodeResumeExpired, errNotOpen)
		return false
	}
	cv := &conv{id: id, rec: rec, customers: map[*conn]struct{}{}}
	c.conv = cv
	c.session = s.newSession()
	c.send(s.welcome(c, &rec, 0, now))
	s.replayToClose(c, cv, lastSeq)
	return true
}

// closedSince gives an operator who comes back what it missed of
// conversations it served that closed while it was away (those its HELLO
// cursors name, up to 100), each up to its end, then EVENT closed.
func (s *Server) closedSince(ctx context.Context, c *conn, opID string, cursors []Cursor, serving []store.Conversation) {
	n := 0
	for _, cur := range cursors {
		if n == 100 || slices.ContainsFunc(serving, func(r store.Conversation) bool { return r.ID == cur.ConversationID }) {
			continue
		}
		rec, err := s.Store.Conversation(ctx, cur.ConversationID)
		if err != nil || rec.State != store.ConversationClosed || rec.OperatorID != opID || rec.LastSeq <= cur.LastSeq {
			continue // not the operator's to read, or nothing missed
		}
		n++
		s.replayToClose(c, &conv{id: rec.ID, rec: rec, customers: map[*conn]struct{}{}}, cur.LastSeq)
	}
}

// replayToClose sends c the messages of closed conversation cv after
// lastSeq, then EVENT closed, then forgets it.
func (s *Server) replayToClose(c *conn, cv *conv, lastSeq int64) {
	c.follow(cv, lastSeq+1, false, true)
	c.sendConv(cv.id, &Event{ConversationID: cv.id, Kind: EventClosed, Text: "the conversation was closed", Time: cv.rec.ClosedAt})
	c.finish(cv.id)
	c.release(cv.id)
}

// tellOffline tells a new customer why nobody answers yet: a system
// message (every client shows it, and the transcript keeps it) and, for
// clients that know it, EVENT offline.
func (s *Server) tellOffline(ctx context.Context, c *conn, cv *conv, text string, now time.Time) {
	s.hub.system(ctx, cv, text)
	if c.has(CapOffline) {
		c.sendConv(cv.id, &Event{ConversationID: cv.id, Kind: EventOffline, Text: text, Time: now})
	}
}

// welcome is the WELCOME for c: a customer's (rec, with a resume token
// of generation gen) or an operator's (rec nil).
func (s *Server) welcome(c *conn, rec *store.Conversation, gen uint64, now time.Time) *Welcome {
	w := &Welcome{Session: c.session, MaxFrame: s.maxFrame(), Heartbeat: s.heartbeat(), Server: s.name(),
		Version: Version, Caps: c.caps}
	if rec != nil {
		w.ConversationID = rec.ID
		w.Resume = resumeToken(s.secret, rec.ID, gen, now.Add(s.resumeTTL()))
	}
	return w
}

func (s *Server) name() string {
	if s.Name == "" {
		return "switchboard"
	}
	return s.Name
}

func (s *Server) helloOperator(ctx context.Context, c *conn, h *Hello) bool {
	c.role = RoleOperator
	now := time.Now()
	var acct OperatorAccount
	if c.operator != "" { // authenticated by the caller of ServeOperatorConn
		var err error
		if s.Operators != nil {
			acct, err = s.Operators.Operator(ctx, h.Login)
		} else {
			err = ErrUnknownOperator
		}
		switch {
		case errors.Is(err, ErrUnknownOperator) || err == nil && acct.Disabled:
			c.fail(CodeAuthFailed, "no such operator, or disabled")
			return false
		case err != nil:
			c.fail(CodeInternal, "cannot check credentials now")
			s.logf("operator directory", "err", err)
			return false
		}
		return s.operatorLoggedIn(ctx, c, h, acct, now)
	}
	if !c.secure && !s.AllowInsecurePasswords && !loopback(c.nc.RemoteAddr()) {
		c.fail(CodeInsecure, "operator passwords are only accepted over TLS")
		return false
	}
	host := addressKey(c.nc.RemoteAddr())
	out, why, err := s.logins.Login(ctx, h.Login, host, h.Password, validDevice(s.secret, h.Device, h.Login, now), now,
		func() (loginguard.Account, error) {
			var err error
			if s.Operators != nil {
				acct, err = s.Operators.Operator(ctx, h.Login)
			} else {
				err = ErrUnknownOperator
			}
			if errors.Is(err, ErrUnknownOperator) {
				return loginguard.Account{}, nil
			}
			return loginguard.Account{PasswordHash: acct.PasswordHash, Disabled: acct.Disabled}, err
		})
	switch out {
	case loginguard.Refused:
		c.fail(CodeRateLimited, why)
		return false
	case loginguard.LookupFail:
		c.fail(CodeInternal, "cannot check credentials now")
		s.logf("operator directory", "err", err)
		return false
	case loginguard.Busy:
		c.fail(CodeRateLimited, "the server is busy checking logins; try again later")
		return false
	case loginguard.WrongPassword:
		c.fail(CodeAuthFailed, "wrong login or password")
		return false
	}
	return s.operatorLoggedIn(ctx, c, h, acct, now)
}

// operatorLoggedIn welcomes an operator whose credentials were checked.
func (s *Server) operatorLoggedIn(ctx context.Context, c *conn, h *Hello, acct OperatorAccount, now time.Time) bool {
	if acct.ID == "" {
		acct.ID = h.Login
	}
	if acct.Name = store.CleanLine(acct.Name); acct.Name == "" {
		acct.Name = defaultOperatorName
	}
	s.opNames.Store(acct.ID, acct.Name)
	cursors := make(map[int64]int64, len(h.Cursors))
	for _, cur := range h.Cursors {
		cursors[cur.ConversationID] = cur.LastSeq
	}
	op, serving := s.hub.operatorOnline(acct, c, cursors)
	c.op = op
	c.session = s.newSession()
	w := s.welcome(c, nil, 0, now)
	w.OperatorID = op.id
	w.Device = deviceToken(s.secret, h.Login, now.Add(deviceTTL))
	s.hub.mu.Lock()
	w.Presence = op.presence
	s.hub.mu.Unlock()
	c.send(w)
	for _, rec := range serving {
		c.send(assignedOf(rec))
		c.release(rec.ID) // its messages follow the ASSIGNED frame
	}
	s.closedSince(ctx, c, op.id, h.Cursors, serving)
	s.logf("operator connected", "operator", op.id, "remote", c.nc.RemoteAddr())
	s.hub.tellLine(c)
	s.hub.dispatch(ctx)
	return true
}

// answerSend acknowledges a stored SEND or refuses it.
func (s *Server) answerSend(c *conn, cv *conv, clientMsgID string, stored store.Message, err error) {
	switch {
	case errors.Is(err, store.ErrConflict):
		c.refuse(CodeConflict, "the conversation is closed", cv.id, clientMsgID)
	case err != nil:
		c.refuse(CodeInternal, "not stored; retry", cv.id, clientMsgID)
		s.logf("storing a message", "conversation", cv.id, "err", err)
	default:
		a := ackPool.Get().(*Ack)
		*a = Ack{ConversationID: cv.id, ClientMsgID: clientMsgID, Seq: stored.Seq, Time: stored.CreatedAt}
		c.ack(cv, a) // encoded at once, or copied to wait for its turn
		*a = Ack{}
		ackPool.Put(a)
	}
}

// conversationFor resolves the conversation a frame names for its sender:
// a customer's own, or one the operator serves.
func (s *Server) conversationFor(c *conn, id int64) (*conv, ErrorCode, string) {
	if c.conv != nil {
		if id != 0 && id != c.conv.id {
			return nil, CodeForbidden, "not your conversation"
		}
		s.hub.mu.Lock()
		_, open := s.hub.convs[c.conv.id]
		s.hub.mu.Unlock()
		if !open {
			return nil, CodeConflict, "the conversation is closed"
		}
		return c.conv, 0, ""
	}
	s.hub.mu.Lock()
	cv := c.op.active[id]
	s.hub.mu.Unlock()
	if cv == nil {
		return nil, CodeForbidden, "not a conversation you serve"
	}
	return cv, 0, ""
}

// handle serves one frame after the handshake; false ends the connection.
func (s *Server) handle(c *conn, m Message) bool {
	ctx := context.Background()
	if len(c.uploads) > 0 {
		s.expireUploads(c, time.Now())
	}
	switch m := m.(type) {
	case *Ping:
		c.send(&Pong{Nonce: m.Nonce})
	case *Pong:
	case *Bye:
		c.close("bye: " + m.Reason)
		return false
	case *Send:
		if !c.allow() {
			c.refuse(CodeRateLimited, "too many messages; slow down", m.ConversationID, m.ClientMsgID)
			return true
		}
		cv, code, text := s.conversationFor(c, m.ConversationID)
		if cv == nil {
			c.refuse(code, text, m.ConversationID, m.ClientMsgID)
			return true
		}
		if blank(m.Text) {
			c.refuse(CodeUnexpected, "empty message", cv.id, m.ClientMsgID)
			return true
		}
		msg := store.Message{ConversationID: cv.id, ClientMsgID: m.ClientMsgID, Kind: store.KindText, Text: m.Text}
		name := cv.rec.CustomerName
		if c.op != nil {
			msg.SenderRole, msg.SenderID, name = store.RoleOperator, c.op.id, c.op.displayName()
		} else {
			msg.SenderRole, msg.SenderID = store.RoleCustomer, "customer"
		}
		key := sendKeyOf(msg)
		c.sendingStarts(key)    // a catch-up passes the message: its ACK answers it
		if s.hub.batch == nil { // the ACK is queued before later POSTs
			s.hub.appendDirect(ctx, cv, msg, name, c, nil, func(stored store.Message, _ bool, err error) {
				s.answerSend(c, cv, m.ClientMsgID, stored, err)
				c.sendingEnds(key)
			})
			return true
		}
		// Pipelined: the next frames are read while this message waits
		// for its group commit, up to maxInflight of them.
		c.inflight <- struct{}{}
		s.hub.appendThen(ctx, cv, msg, name, c, nil, func(stored store.Message, _ bool, err error) {
			<-c.inflight
			s.answerSend(c, cv, m.ClientMsgID, stored, err)
			c.sendingEnds(key)
		})
	case *Typing:
		if !c.allow() {
			return true
		}
		if cv, _, _ := s.conversationFor(c, m.ConversationID); cv != nil {
			s.relay(c, cv, &Typing{ConversationID: cv.id, On: m.On, Role: c.role})
		}
	case *Read:
		if !c.allow() {
			return true
		}
		if cv, _, _ := s.conversationFor(c, m.ConversationID); cv != nil {
			s.relay(c, cv, &Read{ConversationID: cv.id, Seq: m.Seq, Role: c.role})
		}
	case *History:
		cv, code, text := s.conversationFor(c, m.ConversationID)
		if cv == nil {
			c.refuse(code, text, m.ConversationID, "")
			return true
		}
		if !c.rewind(cv.id, m.AfterSeq) {
			c.refuse(CodeForbidden, "not a conversation you follow", cv.id, "")
		}
	case *Close:
		cv, code, text := s.conversationFor(c, m.ConversationID)
		if cv == nil {
			c.refuse(code, text, m.ConversationID, "")
			return true
		}
		by := "the customer closed the conversation"
		if c.op != nil {
			by = c.op.displayName() + " closed the conversation"
		}
		if err := s.hub.close(ctx, cv, by); err != nil {
			c.refuse(CodeInternal, "not closed; retry", cv.id, "")
		}
	case *Accept:
		if c.op == nil {
			c.refuse(CodeForbidden, "operators only", m.ConversationID, "")
			return true
		}
		if code, text := s.hub.accept(ctx, c.op, m.ConversationID); code != 0 {
			c.refuse(code, text, m.ConversationID, "")
		}
	case *Transfer:
		if c.op == nil {
			c.refuse(CodeForbidden, "operators only", m.ConversationID, "")
			return true
		}
		if code, text := s.hub.transfer(ctx, c.op, m.ConversationID, m.To); code != 0 {
			c.refuse(code, text, m.ConversationID, "")
		}
	case *PresenceUpdate:
		if c.op == nil || (m.State != Available && m.State != Away) {
			c.refuse(CodeForbidden, "operators only, available or away", 0, "")
			return true
		}
		sendAll(s.hub.setPresence(c.op, m.State), &PresenceUpdate{State: m.State})
		s.hub.dispatch(ctx)
	case *FileStart:
		s.uploadStart(ctx, c, m)
	case *FileChunk:
		return s.uploadChunk(c, m)
	case *FileEnd:
		s.uploadEnd(ctx, c, m)
	case *Fetch:
		s.download(c, m.TransferID, 0, func() { s.fetch(ctx, c, m) })
	case *TranscriptRequest:
		id := m.ConversationID
		if id == 0 && c.conv != nil {
			id = c.conv.id
		}
		s.download(c, m.TransferID, id, func() { s.transcript(ctx, c, m) })
	default:
		c.fail(CodeUnexpected, fmt.Sprintf("%s is not sent by clients", m.Type()))
		return false
	}
	return true
}

// blank reports whether text shows nothing: spaces, control, format and
// filler characters only (it stops at the first visible character).
func blank(text string) bool {
	for _, r := range text {
		if !invisible(r) {
			return false
		}
	}
	return true
}

// invisible reports whether r shows nothing: a space, a control or format
// character, or one of the letters and symbols that render as blank
// (Hangul fillers, the blank Braille pattern, variation selectors, the
// combining grapheme joiner).
func invisible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800', '\u034F', '\u180E', '\u17B4', '\u17B5':
		return true
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r)
}

// relay passes typing and read notices to the other side.
func (s *Server) relay(from *conn, cv *conv, m Message) {
	cs, os := s.hub.participants(cv)
	if from.op != nil {
		sendConvAll(cs, cv.id, m)
	} else {
		sendConvAll(os, cv.id, m)
	}
}
