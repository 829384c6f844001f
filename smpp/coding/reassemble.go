package coding

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Part is one received part of a long message.
type Part struct {
	// Key groups the parts of one sender's messages, e.g. operator,
	// source and destination address; the concatenation reference is
	// added to it.
	Key    string
	Concat Concat
	// Data is the part's content in a form that concatenates: unpacked
	// septets, UCS-2 octets or 8-bit data (a UTF-16 surrogate pair split
	// across parts is then joined again).
	Data []byte
	// Locking and Single are the national languages its user data header
	// names (LanguagesFromUDH) for decoding GSM 7-bit septets with
	// DecodeGSM7Lang.
	Locking, Single Language
}

// PartFromDeliverSM extracts the concatenation information, national
// languages and payload of a deliver_sm (short_message, or
// message_payload when short_message is empty): the header elements when
// esm_class says there is a user data header, else the sar_* TLVs. ok is
// false for a message that is not a part; part.Data is then its whole
// payload. Packed GSM 7-bit payloads must be unpacked by the caller.
func PartFromDeliverSM(p *pdu.DeliverSM, key string) (part Part, ok bool, err error) {
	ud := p.ShortMessage
	if len(ud) == 0 {
		ud, _ = p.TLVs.MessagePayload()
	}
	if p.ESMClass&ESMClassUDHI != 0 {
		ies, payload, err := ParseUDH(ud)
		if err != nil {
			return Part{}, false, err
		}
		part = Part{Key: key, Data: payload}
		part.Locking, part.Single = LanguagesFromUDH(ies)
		if c, ok := ConcatFromUDH(ies); ok {
			part.Concat = c
			return part, true, nil
		}
		// A header without concatenation element: SAR may still number
		// the part (the header then carries e.g. national languages).
		c, ok := ConcatFromTLVs(p.TLVs)
		if ok {
			part.Concat = c
		}
		return part, ok, nil
	}
	c, ok := ConcatFromTLVs(p.TLVs)
	return Part{Key: key, Concat: c, Data: ud}, ok, nil
}

// Errors of Reassembler.Add.
var (
	ErrBadPart  = errors.New("smpp/coding: invalid part numbering")
	ErrTooLarge = errors.New("smpp/coding: message exceeds the reassembly limits")
)

// ReassemblerStats counts what a Reassembler did.
type ReassemblerStats struct {
	Completed  int // messages put together
	Pending    int // messages waiting for parts
	Bytes      int // octets held
	Duplicates int // parts received again (ignored)
	Expired    int // incomplete messages dropped after the timeout
	Evicted    int // incomplete messages dropped to stay within limits
}

// Reassembler puts the parts of long messages back together, whatever
// their order, ignoring duplicates, dropping incomplete messages after a
// timeout, and bounding the memory it holds. It is safe for concurrent
// use. The zero value is ready with the defaults.
type Reassembler struct {
	Timeout    time.Duration    // default 10 minutes
	MaxPending int              // messages in progress; default 10,000
	MaxBytes   int              // octets held; default 16 MiB
	Now        func() time.Time // default time.Now

	mu      sync.Mutex
	pending map[pendingKey]*partial
	stats   ReassemblerStats
}

type pendingKey struct {
	key string
	ref uint16
}

type partial struct {
	total int
	parts [][]byte // by seq-1
	have  int
	size  int
	first time.Time

	locking, single Language // of part 1
}

func (r *Reassembler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Add adds a part. When it completes its message, Add returns the parts'
// data joined in order and done true.
func (r *Reassembler) Add(p Part) (msg []byte, done bool, err error) {
	whole, done, err := r.Assemble(p)
	return whole.Data, done, err
}

// Assemble is Add returning the whole message as a Part: Data joined in
// order, the Key, the Concat of part 1, and the national languages of
// part 1 (a sender names them in every part; the first part's decode the
// whole message).
func (r *Reassembler) Assemble(p Part) (whole Part, done bool, err error) {
	c := p.Concat
	if !c.valid() {
		return Part{}, false, fmt.Errorf("%w: part %d of %d", ErrBadPart, c.Seq, c.Total)
	}
	maxBytes, maxPending := r.MaxBytes, r.MaxPending
	if maxBytes <= 0 {
		maxBytes = 16 << 20
	}
	if maxPending <= 0 {
		maxPending = 10000
	}
	if len(p.Data) > maxBytes {
		return Part{}, false, fmt.Errorf("%w: part of %d octets", ErrTooLarge, len(p.Data))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.expireLocked(now)
	if c.Total == 1 {
		r.stats.Completed++
		p.Data = append([]byte(nil), p.Data...)
		return p, true, nil
	}
	if r.pending == nil {
		r.pending = map[pendingKey]*partial{}
	}
	k := pendingKey{p.Key, c.Ref}
	m := r.pending[k]
	if m != nil && m.total != int(c.Total) {
		// The reference was reused for another message: the old one will
		// never complete.
		r.dropLocked(k, &r.stats.Evicted)
		m = nil
	}
	if m == nil {
		for len(r.pending) >= maxPending {
			r.evictOldestLocked()
		}
		m = &partial{total: int(c.Total), parts: make([][]byte, c.Total), first: now}
		r.pending[k] = m
	}
	if m.parts[c.Seq-1] != nil {
		r.stats.Duplicates++
		return Part{}, false, nil
	}
	for r.stats.Bytes+len(p.Data) > maxBytes && len(r.pending) > 1 {
		if !r.evictOldestExceptLocked(k) {
			break
		}
	}
	if r.stats.Bytes+len(p.Data) > maxBytes {
		r.dropLocked(k, &r.stats.Evicted)
		return Part{}, false, fmt.Errorf("%w: %d octets held", ErrTooLarge, maxBytes)
	}
	m.parts[c.Seq-1] = append(make([]byte, 0, len(p.Data)), p.Data...)
	if c.Seq == 1 {
		m.locking, m.single = p.Locking, p.Single
	}
	m.have++
	m.size += len(p.Data)
	r.stats.Bytes += len(p.Data)
	if m.have < m.total {
		return Part{}, false, nil
	}
	out := make([]byte, 0, m.size)
	for _, d := range m.parts {
		out = append(out, d...)
	}
	r.stats.Bytes -= m.size
	delete(r.pending, k)
	r.stats.Completed++
	return Part{Key: p.Key, Concat: Concat{Ref: c.Ref, Total: c.Total, Seq: 1}, Data: out,
		Locking: m.locking, Single: m.single}, true, nil
}

// Expire drops the incomplete messages whose first part is older than the
// timeout and returns how many it dropped. Add does it too.
func (r *Reassembler) Expire() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	before := r.stats.Expired
	r.expireLocked(r.now())
	return r.stats.Expired - before
}

// Stats returns a snapshot of the counters.
func (r *Reassembler) Stats() ReassemblerStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Pending = len(r.pending)
	return s
}

func (r *Reassembler) expireLocked(now time.Time) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	for k, m := range r.pending {
		if now.Sub(m.first) >= timeout {
			r.dropLocked(k, &r.stats.Expired)
		}
	}
}

func (r *Reassembler) dropLocked(k pendingKey, counter *int) {
	if m := r.pending[k]; m != nil {
		r.stats.Bytes -= m.size
		delete(r.pending, k)
		*counter++
	}
}

func (r *Reassembler) evictOldestLocked() { r.evictOldestExceptLocked(pendingKey{}) }

func (r *Reassembler) evictOldestExceptLocked(keep pendingKey) bool {
	var oldest pendingKey
	var t time.Time
	found := false
	for k, m := range r.pending {
		if k == keep {
			continue
		}
		if !found || m.first.Before(t) {
			oldest, t, found = k, m.first, true
		}
	}
	if found {
		r.dropLocked(oldest, &r.stats.Evicted)
	}
	return found
}
