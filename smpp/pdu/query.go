package pdu

// QuerySM asks for the state of a submitted message.
type QuerySM struct {
	Header
	MessageID     string
	SourceAddrTON uint8
	SourceAddrNPI uint8
	SourceAddr    string
}

func (p *QuerySM) appendBody(e *enc) {
	e.cstr("message_id", p.MessageID, maxMessageID)
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr)
}

func (p *QuerySM) decodeBody(d *dec) {
	p.MessageID = d.cstr("message_id", maxMessageID, StatusInvMsgID)
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr, StatusInvSrcAdr)
	d.end()
}

// Message states of query_sm_resp and the message_state TLV.
const (
	StateScheduled     uint8 = 0 // SMPP 5.0
	StateEnroute       uint8 = 1
	StateDelivered     uint8 = 2
	StateExpired       uint8 = 3
	StateDeleted       uint8 = 4
	StateUndeliverable uint8 = 5
	StateAccepted      uint8 = 6
	StateUnknown       uint8 = 7
	StateRejected      uint8 = 8
	StateSkipped       uint8 = 9 // SMPP 5.0
)

// QuerySMResp answers QuerySM.
type QuerySMResp struct {
	Header
	MessageID    string
	FinalDate    string // "" or an absolute SMPP time
	MessageState uint8  // State*
	ErrorCode    uint8  // network-specific
}

func (p *QuerySMResp) appendBody(e *enc) {
	if p.Status != StatusOK && p.MessageID == "" {
		return
	}
	e.cstr("message_id", p.MessageID, maxMessageID)
	e.time("final_date", p.FinalDate)
	e.u8(p.MessageState)
	e.u8(p.ErrorCode)
}

func (p *QuerySMResp) decodeBody(d *dec) {
	if len(d.b) == 0 {
		return
	}
	p.MessageID = d.cstr("message_id", maxMessageID, StatusInvMsgID)
	p.FinalDate = d.time("final_date", StatusQueryFail)
	p.MessageState = d.u8("message_state")
	p.ErrorCode = d.u8("error_code")
	d.end()
}

// CancelSM cancels a message not yet delivered: one by MessageID, or all
// from SourceAddr to DestinationAddr (with ServiceType) when MessageID is
// empty.
type CancelSM struct {
	Header
	ServiceType     string
	MessageID       string
	SourceAddrTON   uint8
	SourceAddrNPI   uint8
	SourceAddr      string
	DestAddrTON     uint8
	DestAddrNPI     uint8
	DestinationAddr string
}

func (p *CancelSM) appendBody(e *enc) {
	e.cstr("service_type", p.ServiceType, maxServiceType)
	e.cstr("message_id", p.MessageID, maxMessageID)
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr)
	e.addr("destination_addr", p.DestAddrTON, p.DestAddrNPI, p.DestinationAddr, maxAddr)
}

func (p *CancelSM) decodeBody(d *dec) {
	p.ServiceType = d.cstr("service_type", maxServiceType, StatusInvSerTyp)
	p.MessageID = d.cstr("message_id", maxMessageID, StatusInvMsgID)
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr, StatusInvSrcAdr)
	p.DestAddrTON, p.DestAddrNPI, p.DestinationAddr = d.addr("destination_addr", maxAddr, StatusInvDstAdr)
	d.end()
}

// ReplaceSM replaces a message not yet delivered. SMPP 5.0 allows the
// message_payload TLV instead of ShortMessage.
type ReplaceSM struct {
	Header
	MessageID            string
	SourceAddrTON        uint8
	SourceAddrNPI        uint8
	SourceAddr           string
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   uint8
	SMDefaultMsgID       uint8
	ShortMessage         []byte
	TLVs                 TLVs
}

func (p *ReplaceSM) appendBody(e *enc) {
	e.cstr("message_id", p.MessageID, maxMessageID)
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr)
	e.time("schedule_delivery_time", p.ScheduleDeliveryTime)
	e.time("validity_period", p.ValidityPeriod)
	e.u8(p.RegisteredDelivery)
	e.u8(p.SMDefaultMsgID)
	e.shortMessage(p.ShortMessage)
	e.tlvs(p.TLVs)
}

func (p *ReplaceSM) decodeBody(d *dec) {
	p.MessageID = d.cstr("message_id", maxMessageID, StatusInvMsgID)
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr, StatusInvSrcAdr)
	p.ScheduleDeliveryTime = d.time("schedule_delivery_time", StatusInvSched)
	p.ValidityPeriod = d.time("validity_period", StatusInvExpiry)
	p.RegisteredDelivery = d.u8("registered_delivery")
	p.SMDefaultMsgID = d.u8("sm_default_msg_id")
	p.ShortMessage = d.shortMessage()
	p.TLVs = d.tlvs()
}

// AlertNotification tells an ESME that a mobile became available (sent
// by the SMSC; it has no response).
type AlertNotification struct {
	Header
	SourceAddrTON uint8
	SourceAddrNPI uint8
	SourceAddr    string // max 64 characters
	ESMEAddrTON   uint8
	ESMEAddrNPI   uint8
	ESMEAddr      string // max 64 characters
	TLVs          TLVs   // ms_availability_status
}

func (p *AlertNotification) appendBody(e *enc) {
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr65)
	e.addr("esme_addr", p.ESMEAddrTON, p.ESMEAddrNPI, p.ESMEAddr, maxAddr65)
	e.tlvs(p.TLVs)
}

func (p *AlertNotification) decodeBody(d *dec) {
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr65, StatusInvSrcAdr)
	p.ESMEAddrTON, p.ESMEAddrNPI, p.ESMEAddr = d.addr("esme_addr", maxAddr65, StatusInvDstAdr)
	p.TLVs = d.tlvs()
}
