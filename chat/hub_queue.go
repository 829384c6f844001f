package chat

import (
	"slices"
	"time"
)

// enqueueLocked puts cv in line: last, or first (a conversation that
// was served before goes back to the front).
func (h *hub) enqueueLocked(cv *conv, front bool) {
	if front {
		h.queue = slices.Insert(h.queue, 0, cv)
	} else {
		h.queue = append(h.queue, cv)
	}
	if cv.ip != "" {
		h.waiting[cv.ip]++
	}
}

// dequeueLocked takes the i-th conversation out of the line.
func (h *hub) dequeueLocked(i int) *conv {
	cv := h.queue[i]
	h.queue = slices.Delete(h.queue, i, i+1)
	if cv.ip != "" {
		if h.waiting[cv.ip]--; h.waiting[cv.ip] <= 0 {
			delete(h.waiting, cv.ip)
		}
	}
	return cv
}

// mayWait reports whether another conversation from ip may wait in line.
func (h *hub) mayWait(ip string) bool {
	if ip == "" {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waiting[ip] < h.srv.PerIP.maxWaiting()
}

// enqueue adds a new waiting conversation for a connected customer and
// queues its WELCOME, both under the lock: the customer's place in line
// is taken when it learns its conversation (customers who connect one
// after the other are served in that order), and nothing about the
// conversation reaches it before the WELCOME. The conversation is new,
// so the customer follows it live from seq 1. A message left (offline)
// is opened the same way, out of line.
func (h *hub) enqueue(cv *conv, c *conn, welcome *Welcome, offline bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.send(welcome)
	c.follow(cv, 1, true, false)
	cv.tokenGen, cv.tokenConn, cv.tokenAt = 1, c, time.Now()
	cv.customers[c] = struct{}{}
	h.version.Add(1)
	h.convs[cv.id] = cv
	if !offline {
		h.enqueueLocked(cv, false)
	}
}

// offlineReason says why no operator can take a new customer now ("":
// one can, or the line will reach one): out of hours, or nobody online
// and available.
func (h *hub) offlineReason(now time.Time) string {
	hours := h.srv.Hours
	if !hours.Open(now) {
		why := "we are closed now; our hours are " + hours.Describe()
		if next := hours.NextOpen(now); !next.IsZero() {
			why += "; we open again " + next.Format("Monday 2 January 15:04 MST")
		}
		return why
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	online := false
	for _, op := range h.ops {
		if len(op.conns) == 0 {
			continue
		}
		online = true
		if op.presence == Available {
			return ""
		}
	}
	if online {
		return "every operator is away now"
	}
	return "no operator is online now"
}

// expectedWaitLocked estimates the wait of place pos in line from the
// assignments of the last 15 minutes (0: too few to tell).
func (h *hub) expectedWaitLocked(pos int, now time.Time) time.Duration {
	i := 0
	for i < len(h.assignedAt) && now.Sub(h.assignedAt[i]) > 15*time.Minute {
		i++
	}
	recent := h.assignedAt[i:]
	if len(recent) < 3 {
		return 0
	}
	span := now.Sub(recent[0])
	return (span * time.Duration(pos) / time.Duration(len(recent))).Round(time.Millisecond)
}

// announceQueue schedules telling waiting customers their place in line
// (only those whose place changed, and newcomers) and operators the line.
// Rounds are coalesced: a burst of arrivals costs one round, not one per
// customer per arrival.
func (h *hub) announceQueue() {
	h.mu.Lock()
	if h.announcing {
		h.mu.Unlock()
		return
	}
	h.announcing = true
	h.mu.Unlock()
	time.AfterFunc(announceEvery, h.announceNow)
}

func (h *hub) announceNow() {
	h.mu.Lock()
	h.announcing = false
	type tell struct {
		conns []*conn
		pos   int
		id    int64
		wait  time.Duration
	}
	var tells []tell
	now := time.Now()
	for i, cv := range h.queue {
		if cv.toldPos == i+1 {
			continue
		}
		cv.toldPos = i + 1
		tells = append(tells, tell{pos: i + 1, id: cv.id, conns: connsOf(cv.customers), wait: h.expectedWaitLocked(i+1, now)})
	}
	changed := len(tells) > 0 || len(h.queue) != h.lastQueue
	h.lastQueue = len(h.queue)
	var q *Queue
	var ops []*conn
	if changed {
		q = h.queueLocked()
		for _, op := range h.ops {
			ops = append(ops, connsOf(op.conns)...)
		}
	}
	h.mu.Unlock()
	for _, t := range tells {
		sendConvAll(t.conns, t.id, &Event{ConversationID: t.id, Kind: EventQueued, Position: t.pos, Wait: t.wait})
	}
	if q != nil {
		sendAll(ops, q)
	}
}

// queueLocked is the QUEUE frame of the line as it is: its first
// entries, as many as fit in a frame (at most maxQueueEntries); Total
// counts them all.
func (h *hub) queueLocked() *Queue {
	q := &Queue{Total: len(h.queue)}
	room := h.srv.maxFrame() - 32 // Total and the count
	for _, cv := range h.queue[:min(len(h.queue), maxQueueEntries)] {
		// At most: id and time 10 bytes each, the name's length and bytes.
		if room -= 30 + len(cv.rec.CustomerName); room < 0 {
			break
		}
		q.Entries = append(q.Entries, QueueEntry{ConversationID: cv.id, CustomerName: cv.rec.CustomerName, Since: cv.rec.OpenedAt})
	}
	return q
}

// tellLine sends the line to one operator connection (at login) and the
// place in line to one customer connection (at resume), now.
func (h *hub) tellLine(c *conn) {
	h.mu.Lock()
	var m Message
	if c.op != nil {
		m = h.queueLocked()
	} else if c.conv != nil {
		if i := slices.Index(h.queue, c.conv); i >= 0 {
			m = &Event{ConversationID: c.conv.id, Kind: EventQueued, Position: i + 1, Wait: h.expectedWaitLocked(i+1, time.Now())}
		}
	}
	h.mu.Unlock()
	if m != nil {
		c.send(m)
	}
}
