package chat

import (
	"bytes"
	"crypto/sha256"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.UnixMilli(1795000000123).UTC()

func samples() []Message {
	sum := sha256.Sum256([]byte("x"))
	return []Message{
		&Hello{Role: RoleCustomer, Name: "Ana Pérez", CustomerID: "c-17", Email: "ana@example.com", Token: "tok",
			Resume: "r1", LastSeq: 42, Client: "web/1.0"},
		&Hello{Role: RoleOperator, Login: "luis", Password: "secreto", Cursors: []Cursor{{ConversationID: 7, LastSeq: 3}, {ConversationID: 8}},
			Caps: []string{CapCursors, "future"}, Device: "dev"},
		&Welcome{Session: "s1", Resume: "r1", ConversationID: 7, OperatorID: "op1", MaxFrame: 65536, Heartbeat: 15 * time.Second, Server: "sb",
			Version: 1, Caps: []string{CapOffline}, Presence: Away, Device: "dev2"},
		&Error{Code: CodeConflict, Text: "closed", ConversationID: 7, ClientMsgID: "m1"},
		&Ping{Nonce: 1 << 40}, &Pong{Nonce: 3}, &Bye{Reason: "done"},
		&Send{ConversationID: 7, ClientMsgID: "m1", Text: "hola, ¿me ayudan?"},
		&Ack{ConversationID: 7, ClientMsgID: "m1", Seq: 3, Time: t0},
		&Post{ConversationID: 7, Seq: 3, SenderRole: RoleOperator, SenderID: "op1", SenderName: "Luis", Kind: PostAttachment,
			Text: "foto", ClientMsgID: "m2", AttachmentID: 9, FileName: "f.png", MediaType: "image/png", Size: 1234, Time: t0},
		&Typing{ConversationID: 7, On: true, Role: RoleCustomer}, &Read{ConversationID: 7, Seq: 3, Role: RoleOperator},
		&Event{ConversationID: 7, Kind: EventQueued, Position: 2, OperatorID: "op1", OperatorName: "Luis", Text: "x", Time: t0,
			Wait: 90 * time.Second},
		&History{ConversationID: 7, AfterSeq: 2}, &Accept{ConversationID: 7}, &Transfer{ConversationID: 7, To: "op2"}, &Close{ConversationID: 7},
		&PresenceUpdate{State: Away},
		&Queue{Total: 3, Entries: []QueueEntry{{ConversationID: 7, CustomerName: "Ana", Since: t0}, {ConversationID: 8, CustomerName: "Bo", Since: t0}}},
		&Assigned{ConversationID: 7, CustomerName: "Ana", CustomerID: "c-17", Email: "a@b.c", LastSeq: 4, OpenedAt: t0,
			Verified: true},
		&FileStart{ConversationID: 7, TransferID: 1, Name: "f.png", MediaType: "image/png", Size: 10, SHA256: sum[:], ClientMsgID: "u1"},
		&FileChunk{TransferID: 1, Data: []byte("0123456789")}, &FileEnd{TransferID: 1},
		&Fetch{AttachmentID: 9, TransferID: 2}, &TranscriptRequest{ConversationID: 7, Format: FormatJSON, TransferID: 3},
	}
}

// hasOptional are the frames with fields added after the first version.
var hasOptional = map[Type]bool{TypeHello: true, TypeWelcome: true, TypeAssigned: true, TypeEvent: true}

// withoutOptional is m as a peer of the first version sends it.
func withoutOptional(m Message) Message {
	switch m := m.(type) {
	case *Hello:
		h := *m
		h.Cursors, h.Caps, h.Device = nil, nil, ""
		return &h
	case *Welcome:
		w := *m
		w.Version, w.Caps, w.Presence, w.Device = 0, nil, 0, ""
		return &w
	case *Assigned:
		a := *m
		a.Verified, a.LeftMessage = false, false
		return &a
	case *Event:
		e := *m
		e.Wait = 0
		return &e
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	seen := map[Type]bool{}
	var stream []byte
	for _, m := range samples() {
		seen[m.Type()] = true
		b := AppendMessage(nil, m)
		stream = append(stream, b...)
		fr := NewFrameReader(bytes.NewReader(b), 0)
		f, err := fr.Read()
		require.NoError(t, err, "Read(%s)", m.Type())
		got, err := Decode(f)
		require.NoError(t, err, "Decode(%s)", m.Type())
		require.Equal(t, m, got, "Decode(%s)", m.Type())
		// Every truncation of the payload is an error, never a panic,
		// except where the optional fields a later version added begin:
		// there it is the frame as an older peer sends it.
		older := len(AppendMessage(nil, withoutOptional(m))) - HeaderLen
		for n := range len(f.Payload) {
			got, err := Decode(Frame{Type: f.Type, Payload: f.Payload[:n]})
			if n == older {
				require.NoError(t, err, "Decode(%s without its optional fields)", m.Type())
				require.Equal(t, withoutOptional(m), got, "Decode(%s without its optional fields)", m.Type())
				continue
			}
			require.Error(t, err, "Decode(%s truncated to %d of %d bytes) = %+v, want an error", m.Type(), n, len(f.Payload), got)
		}
		// Trailing bytes (fields of a later version) are ignored, after
		// the optional fields (which a frame without them would take
		// them for).
		if older == len(f.Payload) && hasOptional[m.Type()] {
			continue
		}
		_, err = Decode(Frame{Type: f.Type, Payload: append(f.Payload, 0xAA, 0xBB)})
		require.NoError(t, err, "Decode(%s with trailing bytes)", m.Type())
	}
	for ty := range typeNames {
		assert.True(t, seen[ty], "no sample of %s", ty)
	}
	// The frames read back in order from one stream.
	fr := NewFrameReader(bytes.NewReader(stream), 0)
	for i, m := range samples() {
		f, err := fr.Read()
		require.NoError(t, err, "Read(frame %d)", i)
		require.Equal(t, m.Type(), f.Type, "the type of frame %d", i)
	}
}

func TestFrameLimits(t *testing.T) {
	big := AppendMessage(nil, &Send{Text: strings.Repeat("x", 1000)})
	_, err := NewFrameReader(bytes.NewReader(big), 100).Read()
	var fe *FrameError
	assert.ErrorAs(t, err, &fe, "Read(oversized)")
	assert.ErrorIs(t, err, ErrFrameTooLarge, "Read(oversized)")
	for name, b := range map[string][]byte{
		"version":   {9, byte(TypePing), 0, 0, 0, 0, 0, 1, 0},
		"reserved":  {Version, byte(TypePing), 0, 7, 0, 0, 0, 1, 0},
		"truncated": {Version, byte(TypePing), 0, 0, 0, 0, 0, 5, 1},
		"header":    {Version, byte(TypePing), 0},
	} {
		_, err := NewFrameReader(bytes.NewReader(b), 0).Read()
		assert.ErrorAs(t, err, &fe, "Read(%s)", name)
	}
	_, err = Decode(Frame{Type: 0x7F})
	assert.ErrorIs(t, err, ErrMalformed, "Decode(unknown type)")
	// Field limits.
	bad := []Frame{
		{Type: TypeSend, Payload: appendString(appendString(appendUvarint(nil, 1), "m"), strings.Repeat("x", MaxText+1))},
		{Type: TypeSend, Payload: appendString(appendString(appendUvarint(nil, 1), "m"), "\xff\xfe")},
		{Type: TypeTyping, Payload: []byte{1, 2, 1}},
		{Type: TypeQueue, Payload: appendUvarint(appendUvarint(nil, 1), maxQueueEntries+1)},
		{Type: TypeFileStart, Payload: appendBytes(appendUvarint(appendString(appendString(appendUvarint(appendUvarint(nil, 1), 1), "n"), ""), 1), []byte{1, 2})},
		{Type: TypeAck, Payload: appendUvarint(nil, 1<<63)},
	}
	for _, f := range bad {
		_, err := Decode(f)
		assert.ErrorIs(t, err, ErrMalformed, "Decode(%s %x)", f.Type, f.Payload)
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range samples() {
		b := AppendMessage(nil, m)
		f.Add(b[1:2][0], b[HeaderLen:])
	}
	f.Fuzz(func(t *testing.T, ty byte, payload []byte) {
		m, err := Decode(Frame{Type: Type(ty), Payload: payload})
		if err != nil {
			var de *DecodeError
			require.ErrorAs(t, err, &de, "an untyped error")
			return
		}
		// What decodes re-encodes to something that decodes the same.
		again, err := Decode(Frame{Type: m.Type(), Payload: m.appendPayload(nil)})
		require.NoError(t, err, "re-encoding %+v", m)
		require.Equal(t, m, again, "re-encoding %+v", m)
	})
}

func FuzzFrameReader(f *testing.F) {
	for _, m := range samples()[:4] {
		f.Add(AppendMessage(nil, m))
	}
	f.Add(AppendFrame(AppendFrame(nil, TypeFileChunk, 0, make([]byte, 40000)), TypePing, 0, []byte{1}))
	// The server's borrowing reader, fed in short reads, must see what
	// the plain one sees.
	f.Fuzz(func(t *testing.T, stream []byte) {
		fr := NewFrameReader(bytes.NewReader(stream), 64<<10)
		br := NewFrameReader(iotest.HalfReader(bytes.NewReader(stream)), 64<<10)
		for range 100 {
			fm, err := fr.Read()
			bm, berr := br.readBorrowed()
			require.Equal(t, err == nil, berr == nil, "Read: %v; readBorrowed: %v", err, berr)
			if err != nil {
				return
			}
			require.LessOrEqual(t, len(fm.Payload), 64<<10, "the payload over the limit")
			require.Equal(t, fm.Type, bm.Type, "readBorrowed()'s type")
			require.Equal(t, fm.Flags, bm.Flags, "readBorrowed()'s flags")
			// bytes.Equal, not require.Equal: an empty payload may be nil in one and not the other.
			require.True(t, bytes.Equal(bm.Payload, fm.Payload), "readBorrowed() = %q, want Read()'s %q", bm.Payload, fm.Payload)
		}
	})
}

// Frames of every size around the reader's buffer thresholds read back
// whole, however the bytes arrive, with the plain and the borrowing reader.
func TestFrameReaderSizesInPieces(t *testing.T) {
	sizes := []int{0, 1, 8191, 8192, 8193, 16383, 16384, 16385, 20000, 32767, 32768, 32769, 40000, 65536}
	var stream []byte
	var want [][]byte
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte(i + 1)}, n)
		want = append(want, p, []byte("x"))
		stream = AppendFrame(stream, TypeFileChunk, 0, p)
		stream = AppendFrame(stream, TypePing, 0, []byte("x"))
	}
	pieces := map[string]func(io.Reader) io.Reader{
		"whole": func(r io.Reader) io.Reader { return r }, "half": iotest.HalfReader, "one byte": iotest.OneByteReader,
		"data with EOF": iotest.DataErrReader,
	}
	for name, wrap := range pieces {
		for _, borrow := range []bool{false, true} {
			fr := NewFrameReader(wrap(bytes.NewReader(stream)), 1<<20)
			for i, p := range want {
				var f Frame
				var err error
				if borrow {
					f, err = fr.readBorrowed()
				} else {
					f, err = fr.Read()
				}
				require.NoError(t, err, "%s (borrow %v), frame %d", name, borrow, i)
				// bytes.Equal, not require.Equal: the empty payload may be nil.
				require.True(t, bytes.Equal(f.Payload, p), "%s (borrow %v), frame %d = %d bytes, want %d", name, borrow, i, len(f.Payload), len(p))
			}
		}
	}
}

// A peer that announces a large frame and stalls holds little memory:
// the payload grows with what arrives.
func TestFrameReaderStalledLargeFrame(t *testing.T) {
	hdr := AppendFrame(nil, TypeFileChunk, 0, make([]byte, 1<<20))[:HeaderLen+100]
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewFrameReader(bytes.NewReader(hdr), 1<<20).Read()
	runtime.ReadMemStats(&after)
	require.Error(t, err, "a truncated frame was read")
	assert.LessOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "bytes allocated reading 100 bytes of a frame that claims 1 MiB")
}
