package pdu

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Reader reads PDUs from a byte stream, enforcing a maximum
// command_length before it allocates anything for a PDU. A Reader is not
// safe for concurrent use.
type Reader struct {
	r       *bufio.Reader
	maxLen  int
	buf     []byte
	pending int // octets of the last PDU returned in place, to discard
}

// NewReader returns a Reader on r that accepts PDUs of at most maxLen
// octets (maxLen <= 0 means DefaultMaxLen).
func NewReader(r io.Reader, maxLen int) *Reader {
	if maxLen <= 0 {
		maxLen = DefaultMaxLen
	}
	if maxLen < HeaderLen {
		maxLen = HeaderLen
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), maxLen: maxLen}
}

// ReadRaw reads the next PDU and returns its bytes, header included. The
// slice is valid until the next call to ReadRaw or Read.
//
// At a clean end of stream it returns io.EOF; a stream that ends inside a
// PDU gives io.ErrUnexpectedEOF. A command_length below 16 or above the
// maximum is a fatal *DecodeError (the stream cannot be resynchronized):
// answer with generic_nack and close.
func (r *Reader) ReadRaw() ([]byte, error) {
	if r.pending > 0 { // the PDU returned last, in place
		r.r.Discard(r.pending)
		r.pending = 0
	}
	head, err := r.r.Peek(4)
	if err != nil {
		return nil, endOfStream(err, len(head) > 0) // io.EOF at a PDU boundary
	}
	n := int(binary.BigEndian.Uint32(head))
	if n < HeaderLen || n > r.maxLen {
		// Name the command and sequence in the answer, when the rest of
		// the header is there.
		id, seq := CommandID(0), uint32(0)
		if b, err := r.r.Peek(HeaderLen); err == nil {
			id, seq = CommandID(binary.BigEndian.Uint32(b[4:])), binary.BigEndian.Uint32(b[12:])
		}
		reason := fmt.Sprintf("command_length %d outside 16..%d", n, r.maxLen)
		if n > r.maxLen {
			reason = fmt.Sprintf("command_length %d exceeds the maximum %d", n, r.maxLen)
		}
		return nil, &DecodeError{Command: id, Sequence: seq, Status: StatusInvCmdLen, Reason: reason, Nack: true, Fatal: true}
	}
	if n <= r.r.Size() {
		// Returned in place from the buffered reader: no copy.
		b, err := r.r.Peek(n)
		if err != nil {
			return nil, endOfStream(err, true)
		}
		r.pending = n
		return b, nil
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r, b); err != nil {
		return nil, endOfStream(err, true)
	}
	return b, nil
}

// endOfStream turns an io.EOF inside a PDU into io.ErrUnexpectedEOF.
func endOfStream(err error, inside bool) error {
	if inside && errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Read reads and decodes the next PDU. Besides ReadRaw's errors it returns
// the *DecodeError of a malformed PDU; unless the error is Fatal the
// stream goes on with the next PDU.
func (r *Reader) Read() (PDU, error) {
	b, err := r.ReadRaw()
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// Writer writes PDUs to a byte stream through a buffer, without
// allocating: PDUs are encoded straight into the buffer. Call Flush to
// send what is buffered. A Writer is not safe for concurrent use.
type Writer struct {
	w *bufio.Writer
}

// NewWriter returns a Writer on w with a 64 KiB buffer.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 64<<10)} }

// Write encodes p into the buffer (writing to the stream only when the
// buffer fills). An encoding error writes nothing.
func (w *Writer) Write(p PDU) error {
	b, err := p.Encode(w.w.AvailableBuffer())
	if err != nil {
		return err
	}
	_, err = w.w.Write(b)
	return err
}

// WriteRaw writes an already encoded PDU.
func (w *Writer) WriteRaw(b []byte) error {
	_, err := w.w.Write(b)
	return err
}

// Flush writes the buffered PDUs to the stream.
func (w *Writer) Flush() error { return w.w.Flush() }

// Buffered is the number of octets waiting for Flush.
func (w *Writer) Buffered() int { return w.w.Buffered() }
