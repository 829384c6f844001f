package chat

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version this package speaks.
const Version = 1

// HeaderLen is the size of a frame header: version, type, flags, a
// reserved octet (0), and the payload length (big-endian uint32).
const HeaderLen = 8

// DefaultMaxFrame is the default limit on a frame's payload. A peer's
// WELCOME or HELLO may announce a smaller one.
const DefaultMaxFrame = 64 << 10

// Flags of a frame.
const (
	// FlagFinal on an ERROR frame says the sender closes the connection
	// after it.
	FlagFinal uint8 = 1 << 0
)

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
}

// FrameReader reads frames, enforcing a payload limit. It is not safe
// for concurrent use.
type FrameReader struct {
	r   *bufio.Reader
	max int
	hdr [HeaderLen]byte
}

// NewFrameReader reads from r with payloads of at most max bytes
// (DefaultMaxFrame when max <= 0).
func NewFrameReader(r io.Reader, max int) *FrameReader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &FrameReader{r: bufio.NewReaderSize(r, 16<<10), max: max}
}

// SetMax changes the payload limit (after a handshake).
func (fr *FrameReader) SetMax(max int) {
	if max > 0 {
		fr.max = max
	}
}

// Read reads the next frame. io.EOF means the peer closed between frames;
// a *FrameError means the stream is broken.
func (fr *FrameReader) Read() (Frame, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return Frame{}, &FrameError{Err: fmt.Errorf("truncated header: %w", err)}
		}
		return Frame{}, err
	}
	if fr.hdr[0] != Version {
		return Frame{}, &FrameError{Err: fmt.Errorf("version %d, want %d", fr.hdr[0], Version)}
	}
	if fr.hdr[3] != 0 {
		return Frame{}, &FrameError{Err: fmt.Errorf("reserved octet %#x", fr.hdr[3])}
	}
	n := binary.BigEndian.Uint32(fr.hdr[4:])
	if uint64(n) > uint64(fr.max) {
		return Frame{}, &FrameError{Err: fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, fr.max)}
	}
	f := Frame{Type: Type(fr.hdr[1]), Flags: fr.hdr[2], Payload: make([]byte, n)}
	if _, err := io.ReadFull(fr.r, f.Payload); err != nil {
		return Frame{}, &FrameError{Err: fmt.Errorf("truncated %s payload: %w", f.Type, err)}
	}
	return f, nil
}

// Buffered reports whether a whole header or more is buffered.
func (fr *FrameReader) Buffered() int { return fr.r.Buffered() }

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
