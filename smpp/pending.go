package smpp

// pendingTable holds a session's requests waiting for their response, by
// sequence number. Sequence numbers are handed out in order and at most a
// window of requests is outstanding, so a ring of twice the window
// indexed by the low bits almost always has the slot free; a request
// whose slot is still held by a much older one (stuck until its timeout)
// goes to a map. Not safe for concurrent use: the session locks it.
type pendingTable struct {
	ring []*Call
	mask uint32
	over map[uint32]*Call
	n    int
}

func newPendingTable(window int) *pendingTable {
	size := 1
	for size < 2*window {
		size <<= 1
	}
	return &pendingTable{ring: make([]*Call, size), mask: uint32(size - 1)}
}

func (t *pendingTable) put(c *Call) {
	i := c.seq & t.mask
	if t.ring[i] == nil {
		t.ring[i] = c
	} else {
		if t.over == nil {
			t.over = map[uint32]*Call{}
		}
		t.over[c.seq] = c
	}
	t.n++
}

// take removes and returns the call with seq, or nil.
func (t *pendingTable) take(seq uint32) *Call {
	i := seq & t.mask
	if c := t.ring[i]; c != nil && c.seq == seq {
		t.ring[i] = nil
		t.n--
		return c
	}
	if c, ok := t.over[seq]; ok {
		delete(t.over, seq)
		t.n--
		return c
	}
	return nil
}

func (t *pendingTable) len() int { return t.n }

// each calls f for every pending call.
func (t *pendingTable) each(f func(*Call)) {
	if t.n == 0 {
		return
	}
	for _, c := range t.ring {
		if c != nil {
			f(c)
		}
	}
	for _, c := range t.over {
		f(c)
	}
}
