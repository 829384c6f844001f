package smpp

import "sync/atomic"

// maxSeq is the largest sequence number (SMPP 3.4 section 5.1.4).
const maxSeq = 0x7FFFFFFF

// sequencer allocates a session's sequence numbers: 1, 2, ... 0x7FFFFFFF,
// then 1 again; never 0. Safe for concurrent use.
type sequencer struct{ last atomic.Uint32 }

func (s *sequencer) next() uint32 {
	for {
		old := s.last.Load()
		n := old + 1
		if n > maxSeq {
			n = 1
		}
		if s.last.CompareAndSwap(old, n) {
			return n
		}
	}
}
