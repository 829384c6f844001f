// Package pdu is a complete codec for the PDUs of SMPP 3.4 and SMPP 5.0:
// a typed struct for every operation, TLVs, command statuses, and a
// streaming reader and writer. It is pure functions over bytes and
// io.Reader/io.Writer; sessions (binding, windows, keepalive) are in
// package smpp.
//
// # PDUs
//
// Every operation has a struct with named fields ([SubmitSM],
// [DeliverSM], [BindTransceiver], [SubmitMulti], [BroadcastSM], ...), all
// implementing [PDU]. Operations with the same layout share one
// definition (type DeliverSM SubmitSM), so their fields have the same
// names. Each embeds a [Header] with the command_status and the sequence
// number; command_length and command_id follow from the PDU.
//
//	sm := pdu.SubmitSM{
//		Header:          pdu.Header{Sequence: 1},
//		SourceAddr:      "ACME",
//		DestAddrTON:     1,
//		DestAddrNPI:     1,
//		DestinationAddr: "584121234567",
//		ShortMessage:    []byte("hello world"),
//	}
//	buf, err := sm.Encode(buf[:0]) // append-style; no allocation
//
// # Encoding
//
// Encode appends the whole PDU to a buffer and allocates nothing when the
// buffer has room. It enforces the specification's field rules: C-Octet
// string maximum lengths (system_id 16, password 9, service_type 6,
// addresses 21 or 65, message_id 65, ... octets including the NUL), SMPP
// time formats for schedule_delivery_time and validity_period
// ([AbsoluteTime], [RelativeTime]), sm_length at most 254 (longer text goes
// in the message_payload TLV), TLV value lengths, and the mandatory TLVs of
// the broadcast operations. A violation is a [*FieldError] naming the field
// and the limit; the buffer is returned unchanged.
//
// # Decoding
//
// Decode (the function, or the method of a PDU type) reads a whole PDU. It
// makes one private copy of the body, from which every field is read, and
// nothing else: the input may be reused as soon as Decode returns. Strings
// and byte slices of a decoded PDU share that copy and must not be
// modified; appending to a byte slice field reallocates it.
//
// Decoding is strict about structure and lenient about one thing real
// peers do: a response may come without its body (many send a bare
// 16-octet deliver_sm_resp); its fields are then empty.
//
// Malformed input is a [*DecodeError] that says how a session must answer
// (SMPP 3.4 section 2.9, 5.0 section 2.8): the command_status to answer
// with (ESME_RINVCMDLEN, ESME_RINVCMDID, ESME_RINVSRCADR, ...), whether
// the answer is a generic_nack (Nack) or the command's own response, and
// whether the byte stream can go on (Fatal: the command_length cannot be
// trusted). Decoding never panics and never allocates from an unchecked
// length field.
//
// # TLVs
//
// [TLVs] keeps a PDU's optional parameters in their wire form: an ordered
// list in which unknown (vendor) and repeated tags survive, so a decoded
// PDU encodes back to the same bytes, and encoding is deterministic. Every
// standard tag of 3.4 and 5.0 has a constant and a typed getter and
// setter (MessagePayload, SetMessagePayload, ReceiptedMessageID,
// SARMsgRefNum, ...); Get, Add, Set, Del and All work with any tag.
//
// # Streams
//
// [Reader] reads PDUs from a connection with a maximum command_length
// (checked before anything is allocated for the PDU) and reuses its
// buffer; [Writer] encodes PDUs straight into its buffer and writes them
// on Flush, so that a session can send many PDUs in one system call.
//
// # Statuses
//
// [Status] has every command_status of 3.4 and 5.0 with its name and
// meaning; [StatusError] is a peer's refusal, with Temporary for the
// statuses worth retrying (ESME_RTHROTTLED, ESME_RMSGQFUL, ...).
package pdu
