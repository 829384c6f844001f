package chat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Version is the protocol version this package speaks.
const Version = 1

// HeaderLen is the size of a frame header: version, type, flags, a
// reserved octet (0), and the payload length (big-endian uint32).
const HeaderLen = 8

// maxFutureVersion is the highest version a server reads a HELLO in (to
// answer that it speaks Version): beyond it, the first octet is not a
// version (an HTTP request, say).
const maxFutureVersion = 15

// DefaultMaxFrame is the default limit on a frame's payload. A peer's
// WELCOME or HELLO may announce a smaller one.
const DefaultMaxFrame = 64 << 10

// Flags of a frame.
const (
	// FlagFinal on an ERROR frame says the sender closes the connection
	// after it.
	FlagFinal uint8 = 1 << 0
	// FlagIgnorable says a receiver that does not know the frame's type
	// may skip it (see Caps).
	FlagIgnorable uint8 = 1 << 1
)

// ErrBadVersion is returned (wrapped in a *FrameError) for a frame of a
// protocol version the reader does not take.
var ErrBadVersion = errors.New("chat: version")

// ErrFrameTooLarge is returned (wrapped in a *FrameError) for a frame
// whose payload exceeds the limit.
var ErrFrameTooLarge = errors.New("chat: frame too large")

// FrameError is malformed framing from the peer: a bad version or
// reserved octet, an oversized or truncated frame. The connection cannot
// be trusted after it.
type FrameError struct {
	Err error
}

func (e *FrameError) Error() string { return "chat: bad frame: " + e.Err.Error() }
func (e *FrameError) Unwrap() error { return e.Err }

// Frame is one unit on the wire. Payload is owned by the frame.
type Frame struct {
	Type    Type
	Flags   uint8
	Payload []byte
	// Version is the sender's protocol version, from the header.
	Version uint8
	// owned: the payload was allocated for this frame alone (not
	// borrowed from the reader's buffer), so decoding may keep it.
	owned bool
}

// FrameReader reads frames, enforcing a payload limit. It is not safe
// for concurrent use.
//
// While frames flow it reads through a 16 KiB buffer (one system call
// for many small frames); when it has nothing buffered it gives the
// buffer back to a shared pool and waits for the next frame with only
// its 8-byte header array, so an idle connection holds no buffer.
type FrameReader struct {
	r    io.Reader
	max  int
	buf  []byte  // pooled while frames flow; nil when idle
	bufp *[]byte // buf's pool entry, put back as it came
	rpos int
	wpos int
	hdr  [HeaderLen]byte
	// newer accepts frames of later versions (a server reading HELLO).
	newer bool
}

const readBufSize = 16 << 10

var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// NewFrameReader reads from r with payloads of at most max bytes
// (DefaultMaxFrame when max <= 0).
func NewFrameReader(r io.Reader, max int) *FrameReader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &FrameReader{r: r, max: max}
}

// SetMax changes the payload limit (after a handshake).
func (fr *FrameReader) SetMax(max int) {
	if max > 0 {
		fr.max = max
	}
}

// Buffered is the number of bytes read ahead and not yet returned.
func (fr *FrameReader) Buffered() int { return fr.wpos - fr.rpos }

// fill reads at least n bytes into the buffer (n <= its size).
func (fr *FrameReader) fill(n int) error {
	if fr.buf == nil {
		fr.bufp = readBufs.Get().(*[]byte)
		fr.buf = *fr.bufp
		fr.rpos, fr.wpos = 0, 0
	}
	if fr.rpos > 0 && len(fr.buf)-fr.rpos < n {
		fr.wpos = copy(fr.buf, fr.buf[fr.rpos:fr.wpos])
		fr.rpos = 0
	}
	for fr.wpos-fr.rpos < n {
		m, err := fr.r.Read(fr.buf[fr.wpos:])
		fr.wpos += m
		if err != nil {
			if fr.wpos-fr.rpos >= n {
				return nil
			}
			return err
		}
	}
	return nil
}

// release gives the buffer back when nothing is buffered.
func (fr *FrameReader) release() {
	if fr.buf != nil && fr.rpos == fr.wpos {
		readBufs.Put(fr.bufp)
		fr.buf, fr.bufp = nil, nil
	}
}

// Read reads the next frame. io.EOF means the peer closed between frames;
// a *FrameError means the stream is broken. The payload is the caller's.
func (fr *FrameReader) Read() (Frame, error) { return fr.read(false) }

// readBorrowed is Read with a payload that, when small, aliases the
// reader's buffer: valid only until the next read. The server decodes
// each frame at once, and Decode copies what it keeps.
func (fr *FrameReader) readBorrowed() (Frame, error) { return fr.read(true) }

func (fr *FrameReader) read(borrow bool) (Frame, error) {
	fr.release()
	var hdr []byte
	if fr.buf == nil {
		// Idle: wait with the header array only.
		if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
			if err == io.ErrUnexpectedEOF {
				return Frame{}, &FrameError{Err: fmt.Errorf("truncated header: %w", err)}
			}
			return Frame{}, err
		}
		hdr = fr.hdr[:]
	} else {
		if err := fr.fill(HeaderLen); err != nil {
			if err == io.EOF && fr.Buffered() == 0 {
				return Frame{}, io.EOF
			}
			return Frame{}, &FrameError{Err: fmt.Errorf("truncated header: %w", err)}
		}
		hdr = fr.buf[fr.rpos : fr.rpos+HeaderLen]
		fr.rpos += HeaderLen
	}
	if hdr[0] != Version && (!fr.newer || hdr[0] < Version || hdr[0] > maxFutureVersion) {
		return Frame{}, &FrameError{Err: fmt.Errorf("%w %d, want %d", ErrBadVersion, hdr[0], Version)}
	}
	if hdr[3] != 0 {
		return Frame{}, &FrameError{Err: fmt.Errorf("reserved octet %#x", hdr[3])}
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if uint64(n) > uint64(fr.max) {
		return Frame{}, &FrameError{Err: fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, fr.max)}
	}
	f := Frame{Type: Type(hdr[1]), Flags: hdr[2], Version: hdr[0], owned: true}
	if borrow && n > 0 && n < readBufSize/2 {
		if err := fr.fill(int(n)); err != nil {
			return Frame{}, &FrameError{Err: fmt.Errorf("truncated %s payload: %w", f.Type, err)}
		}
		f.Payload = fr.buf[fr.rpos : fr.rpos+int(n) : fr.rpos+int(n)]
		fr.rpos += int(n)
		f.owned = false
		return f, nil
	}
	// The payload: what is buffered, then (large frames) straight from
	// the connection, or (small ones) through the buffer. A large
	// payload's memory grows as its bytes arrive: a peer that announces
	// a large frame and stalls holds little.
	buffered := 0
	if fr.buf != nil {
		buffered = min(fr.wpos-fr.rpos, int(n))
	}
	if rest := int(n) - buffered; rest < readBufSize/2 {
		f.Payload = make([]byte, n)
		if buffered > 0 {
			copy(f.Payload, fr.buf[fr.rpos:fr.rpos+buffered])
			fr.rpos += buffered
		}
		if rest > 0 {
			if err := fr.fill(rest); err != nil {
				return Frame{}, &FrameError{Err: fmt.Errorf("truncated %s payload: %w", f.Type, err)}
			}
			copy(f.Payload[buffered:], fr.buf[fr.rpos:fr.rpos+rest])
			fr.rpos += rest
		}
		return f, nil
	}
	f.Payload = make([]byte, max(buffered, min(int(n), 4<<10)))
	got := 0
	if buffered > 0 {
		got = copy(f.Payload, fr.buf[fr.rpos:fr.rpos+buffered])
		fr.rpos += got
	}
	for got < int(n) {
		if got == len(f.Payload) {
			f.Payload = append(f.Payload, make([]byte, min(int(n)-got, len(f.Payload)))...)
		}
		m, err := io.ReadFull(fr.r, f.Payload[got:])
		got += m
		if err != nil {
			return Frame{}, &FrameError{Err: fmt.Errorf("truncated %s payload: %w", f.Type, err)}
		}
	}
	return f, nil
}

// AppendFrame appends a frame with the given payload to dst.
func AppendFrame(dst []byte, t Type, flags uint8, payload []byte) []byte {
	var h [HeaderLen]byte
	h[0], h[1], h[2] = Version, byte(t), flags
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// AppendMessage appends m as a whole frame to dst.
func AppendMessage(dst []byte, m Message) []byte {
	start := len(dst)
	dst = append(dst, Version, byte(m.Type()), 0, 0, 0, 0, 0, 0)
	dst = m.appendPayload(dst)
	binary.BigEndian.PutUint32(dst[start+4:], uint32(len(dst)-start-HeaderLen))
	return dst
}
