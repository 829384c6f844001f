package pdu

// PDU is one SMPP operation, request or response. Every type of this
// package implements it with a pointer receiver (*SubmitSM, ...).
type PDU interface {
	CommandID() CommandID
	// Hdr returns the PDU's command_status and sequence number.
	Hdr() *Header
	// Encode appends the whole PDU to dst.
	Encode(dst []byte) ([]byte, error)
	// Decode replaces the PDU's contents by the whole PDU in src.
	Decode(src []byte) error
}

// New returns an empty PDU of a known command, or nil: for example the
// response to fill in for a request, New(req.CommandID().Response()).
func New(id CommandID) PDU { return newPDU(id) }

// Decode decodes a whole PDU of any known command. src is not retained.
//
// An unknown command_id is a *DecodeError with Status ESME_RINVCMDID and
// Nack set (answer with generic_nack; the stream goes on).
func Decode(src []byte) (PDU, error) {
	h, err := ParseHeader(src)
	if err != nil {
		return nil, err
	}
	p := newPDU(h.ID)
	if p == nil {
		return nil, &DecodeError{Command: h.ID, Sequence: h.Sequence, Status: StatusInvCmdID,
			Reason: "unknown command_id", Nack: true}
	}
	if err := p.Decode(src); err != nil {
		return nil, err
	}
	return p, nil
}

// Interface versions for bind's interface_version and the
// sc_interface_version TLV.
const (
	Version33 uint8 = 0x33
	Version34 uint8 = 0x34
	Version50 uint8 = 0x50
)

// emptyBody is a PDU made of the header alone.
type emptyBody struct{}

func (emptyBody) appendBody(*enc)   {}
func (emptyBody) decodeBody(d *dec) { d.end() }

// GenericNack answers a PDU whose header was bad or whose command is
// unknown; its Status says why.
type GenericNack struct {
	Header
	emptyBody
}

// Unbind asks the peer to end the session.
type Unbind struct {
	Header
	emptyBody
}

// UnbindResp answers Unbind.
type UnbindResp struct {
	Header
	emptyBody
}

// EnquireLink checks that the peer is alive.
type EnquireLink struct {
	Header
	emptyBody
}

// EnquireLinkResp answers EnquireLink.
type EnquireLinkResp struct {
	Header
	emptyBody
}

// CancelSMResp answers CancelSM.
type CancelSMResp struct {
	Header
	emptyBody
}

// ReplaceSMResp answers ReplaceSM.
type ReplaceSMResp struct {
	Header
	emptyBody
}

// CancelBroadcastSMResp answers CancelBroadcastSM (SMPP 5.0).
type CancelBroadcastSMResp struct {
	Header
	emptyBody
}

// Field size limits (octets, the terminating NUL included) of SMPP 3.4
// section 4 and SMPP 5.0 section 4.
const (
	maxSystemID     = 16
	maxPassword     = 9
	maxSystemType   = 13
	maxAddressRange = 41
	maxServiceType  = 6
	maxAddr         = 21 // most source/destination addresses
	maxAddr65       = 65 // data_sm and alert_notification addresses
	maxMessageID    = 65
	maxDLName       = 21
	maxDests        = 254 // submit_multi number_of_dests
)

// respBody is the layout of responses carrying a message_id and, in SMPP
// 5.0, TLVs: submit_sm_resp, deliver_sm_resp, data_sm_resp,
// broadcast_sm_resp, query_broadcast_sm_resp.
func appendRespBody(e *enc, h *Header, messageID string, t TLVs) {
	// SMPP 3.4: the body is not returned with a non-zero status; SMPP 5.0
	// error responses may carry TLVs (and then need the message_id too).
	if h.Status != StatusOK && messageID == "" && len(t.raw) == 0 {
		return
	}
	e.cstr("message_id", messageID, maxMessageID)
	e.tlvs(t)
}

func decodeRespBody(d *dec) (string, TLVs) {
	if len(d.b) == 0 { // body omitted (error response)
		return "", TLVs{}
	}
	id := d.cstr("message_id", maxMessageID, StatusInvMsgID)
	return id, d.tlvs()
}
