package smpp

import "testing"

func TestPendingTableCollisions(t *testing.T) {
	tab := newPendingTable(4) // ring of 8
	stuck := &Call{seq: 3}
	tab.put(stuck)
	// Sequence numbers move on while 3 stays: 11, 19 land on its slot.
	var calls []*Call
	for seq := uint32(4); seq < 40; seq++ {
		c := &Call{seq: seq}
		tab.put(c)
		calls = append(calls, c)
		if seq%3 == 0 { // some complete, some stay
			if got := tab.take(seq); got != c {
				t.Fatalf("take(%d) = %v", seq, got)
			}
		}
	}
	if tab.take(1000) != nil || tab.take(3+8) == nil {
		t.Fatal("wrong take")
	}
	n := 0
	tab.each(func(*Call) { n++ })
	if n != tab.len() {
		t.Fatalf("each saw %d, len %d", n, tab.len())
	}
	if got := tab.take(3); got != stuck {
		t.Fatalf("the stuck call: %v", got)
	}
	for _, c := range calls {
		tab.take(c.seq)
	}
	if tab.len() != 0 {
		t.Fatalf("%d left", tab.len())
	}
}
