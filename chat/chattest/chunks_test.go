package chattest

import (
	"testing"

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
			if s >= 1 && cm.at(s).Seq != s {
				t.Fatalf("after %d pushes, at(%d) = %d", i, s, cm.at(s).Seq)
			}
		}
	}
	for i, c := range cm.chunks {
		want := chunkLen
		if i < smallChunks {
			want = firstChunk << i
		}
		if cap(c) != want {
			t.Fatalf("chunk %d has capacity %d, want %d", i, cap(c), want)
		}
	}
	if got := cm.after(1990, 0); len(got) != 10 || got[0].Seq != 1991 || got[9].Seq != 2000 {
		t.Fatalf("after(1990) = %d messages", len(got))
	}
}
