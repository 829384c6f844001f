package smpp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
			require.Same(t, c, tab.take(seq), "take(%d)", seq)
		}
	}
	require.Nil(t, tab.take(1000), "wrong take")
	require.NotNil(t, tab.take(3+8), "wrong take")
	n := 0
	tab.each(func(*Call) { n++ })
	require.Equal(t, tab.len(), n, "calls seen by each, against len")
	require.Same(t, stuck, tab.take(3), "the stuck call")
	for _, c := range calls {
		tab.take(c.seq)
	}
	assert.Equal(t, 0, tab.len(), "calls left")
}
