package pdu

import "fmt"

// DecodeError is malformed input. It carries what a session needs to answer
// as the specification says: the command_status to answer with, whether
// the answer is a generic_nack (header errors, unknown commands) or the
// command's own response, and whether the byte stream can go on at all.
type DecodeError struct {
	Command  CommandID // 0 if the header could not be read
	Sequence uint32
	Status   Status // the command_status of the answer
	Field    string // the offending field, if any
	Reason   string
	// Nack is true when the answer is a generic_nack: the header is bad,
	// the command is unknown, or the PDU is one that has no response of
	// its own.
	Nack bool
	// Fatal is true when framing is lost (the command_length cannot be
	// trusted): the connection must be closed after answering.
	Fatal bool
}

func (e *DecodeError) Error() string {
	s := "smpp/pdu: "
	if e.Command != 0 {
		s += e.Command.String() + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	s += e.Reason + " (" + e.Status.Name() + ")"
	if e.Fatal {
		s += ", stream unusable"
	}
	return s
}

// FieldError is a field that breaks the specification's rules when
// encoding: too long, badly formatted, out of range.
type FieldError struct {
	Command CommandID
	Field   string
	Len     int // the value's length in octets, where relevant
	Max     int // the limit in octets (C-Octet strings: including the NUL)
	Reason  string
}

func (e *FieldError) Error() string {
	if e.Max > 0 {
		return fmt.Sprintf("smpp/pdu: %s: %s: %d octets, limit %d (%s)", e.Command, e.Field, e.Len, e.Max, e.Reason)
	}
	return fmt.Sprintf("smpp/pdu: %s: %s: %s", e.Command, e.Field, e.Reason)
}
