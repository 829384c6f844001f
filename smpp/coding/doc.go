// Package coding turns text into the octets of an SMS and back: the
// data_coding values of SMPP, the GSM 03.38 7-bit default alphabet with
// its extension table (unpacked, one octet per septet, and packed),
// Latin-1, IA5/ASCII, UCS-2 (as UTF-16BE, surrogate pairs included) and
// binary.
//
// # Choosing a coding
//
// [Choose] picks GSM 7-bit when every character of the text is in the GSM
// alphabet (extension characters such as € and { count two septets), else
// UCS-2, and returns the length in that coding's units, which is what
// message limits are counted in: 160 septets or 70 UCS-2 units in one
// message.
//
// # Characters a coding cannot carry
//
// [Encode] never drops a character silently: a character outside the
// coding is an [*UnrepresentableError] naming it and its offset, unless
// the caller passes a replacement character (which must itself be
// representable), e.g. '?'.
//
// # Packing
//
// [Pack] and [Unpack] convert between septets and packed octets, with the
// fill bits that align septets after a user data header. When the packed
// text would end with 7 spare bits, which a receiver would read as a
// trailing '@', Pack fills them with a CR and Unpack removes it, as
// 3GPP TS 23.038 section 6.1.2.3.1 says (a CR of the text that fills the
// last seven bits is therefore read as padding).
//
// # Long messages
//
// [Split] encodes a text and cuts it into parts carried by a user data
// header with an 8-bit (IEI 0x00) or 16-bit (IEI 0x08) reference, by the
// sar_* TLVs, or sends it whole in message_payload. [Capacity] gives the
// exact sizes (GSM 7-bit 160 / 153 / 152 septets, UCS-2 70 / 67 / 66
// units, 8-bit 140 / 134 / 133 octets). A part never ends inside a GSM
// escape pair or a UTF-16 surrogate pair. [Segment.Apply] puts a part
// into a submit_sm.
//
// [Reassembler] puts received parts together ([PartFromDeliverSM] reads
// them from a deliver_sm), in any order, ignoring duplicates, with a
// timeout for incomplete messages and limits on pending messages and held
// octets (the oldest incomplete message is dropped first).
//
// # National languages
//
// The national language tables of 3GPP TS 23.038 Annex A ([Language]:
// Turkish, Spanish, Portuguese, Bengali, Gujarati, Hindi, Kannada,
// Malayalam, Oriya, Punjabi, Tamil, Telugu, Urdu) let texts that the
// default alphabet cannot carry go in GSM 7-bit: a locking shift table
// takes the place of the alphabet, a single shift table that of its
// extension table, and the user data header names them
// ([IEILockingShift], [IEISingleShift]). They are opt-in, as not every SMSC and handset
// honours them: given [SplitOptions.Languages], [Split] picks the pair of
// tables that takes the fewest parts, the header counted (one element
// leaves 155 septets in one message, 149 in a UDH8 part), and keeps UCS-2
// unless the pair saves a part: 300 characters of Spanish with 50 accents
// take 3 parts instead of 5. [AppendGSM7Lang] and [DecodeGSM7Lang] encode
// and decode with a pair of tables, [LanguagesFromUDH] reads the elements,
// and a [Part] carries them through [Reassembler.Assemble] (the first
// part's decode the whole message).
//
// # Delivery receipts
//
// [ParseReceipt] reads the de-facto receipt text ("id:... sub:... dlvrd:...
// submit date:... done date:... stat:... err:... text:...") tolerantly;
// [ReceiptFromDeliverSM] adds the receipted_message_id, message_state and
// network_error_code TLVs; [NormalizeID] brings the hex and decimal forms
// in which an SMSC writes the same message id to one; [Receipt.DeliverSM]
// builds one.
//
// The package does not import package smpp; smpp/pdu is its only
// dependency in this module.
package coding
