package pdu

import "encoding/binary"

// HeaderLen is the length of the PDU header: command_length, command_id,
// command_status, sequence_number, each 4 octets big-endian.
const HeaderLen = 16

// DefaultMaxLen is the default maximum command_length accepted by Reader:
// large enough for a message_payload of 64 KiB plus the mandatory fields.
const DefaultMaxLen = 70000

// Header is the part of every PDU that the session sets: the
// command_status (0 in requests) and the sequence number (1..0x7FFFFFFF).
// command_length and command_id follow from the PDU itself. Every PDU type
// embeds it.
type Header struct {
	Status   Status
	Sequence uint32
}

// Hdr returns the PDU's header, for code that handles PDUs generically.
func (h *Header) Hdr() *Header { return h }

// RawHeader is a decoded header as it came off the wire.
type RawHeader struct {
	Length   uint32
	ID       CommandID
	Status   Status
	Sequence uint32
}

// ParseHeader reads the header at the start of src. It fails (fatally)
// when src is shorter than a header or command_length is below 16.
func ParseHeader(src []byte) (RawHeader, error) {
	if len(src) < HeaderLen {
		return RawHeader{}, &DecodeError{Status: StatusInvCmdLen, Reason: "shorter than a PDU header", Nack: true, Fatal: true}
	}
	h := RawHeader{
		Length:   binary.BigEndian.Uint32(src),
		ID:       CommandID(binary.BigEndian.Uint32(src[4:])),
		Status:   Status(binary.BigEndian.Uint32(src[8:])),
		Sequence: binary.BigEndian.Uint32(src[12:]),
	}
	if h.Length < HeaderLen {
		return h, &DecodeError{Command: h.ID, Sequence: h.Sequence, Status: StatusInvCmdLen,
			Reason: "command_length below 16", Nack: true, Fatal: true}
	}
	return h, nil
}

// appendHeader appends a header with a zero length; finish patches it.
func appendHeader(dst []byte, id CommandID, h *Header) ([]byte, int) {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(id))
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.Status))
	dst = binary.BigEndian.AppendUint32(dst, h.Sequence)
	return dst, start
}

// finish writes the command_length of the PDU that starts at start.
func finish(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}
