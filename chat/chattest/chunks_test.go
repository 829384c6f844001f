package chattest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// Every message stays addressable by its sequence number as the chunks
// grow, and no chunk is ever grown past the capacity it was made with.
func TestChunksAddressEveryMessage(t *testing.T) {
	var cm convMessages
	for i := int64(1); i <= 2000; i++ {
		cm.push(store.Message{Seq: i})
		cm.seq = i
		for _, s := range []int64{1, i / 2, i} {
			if s >= 1 {
				require.Equal(t, s, cm.at(s).Seq, "after %d pushes, at(%d)", i, s)
			}
		}
	}
	for i, c := range cm.chunks {
		want := chunkLen
		if i < smallChunks {
			want = firstChunk << i
		}
		assert.Equal(t, want, cap(c), "the capacity of chunk %d", i)
	}
	got := cm.after(1990, 0)
	require.Len(t, got, 10, "after(1990)")
	assert.Equal(t, int64(1991), got[0].Seq, "after(1990)[0]")
	assert.Equal(t, int64(2000), got[9].Seq, "after(1990)[9]")
}
