package pdu

// BroadcastSM (SMPP 5.0) asks the SMSC to broadcast a message in areas.
// Its TLVs must include broadcast_area_identifier (repeatable),
// broadcast_content_type, broadcast_rep_num and
// broadcast_frequency_interval; the message goes in message_payload.
type BroadcastSM struct {
	Header
	ServiceType          string
	SourceAddrTON        uint8
	SourceAddrNPI        uint8
	SourceAddr           string
	MessageID            string // the id of a message to replace, or ""
	PriorityFlag         uint8
	ScheduleDeliveryTime string
	ValidityPeriod       string
	ReplaceIfPresentFlag uint8
	DataCoding           uint8
	SMDefaultMsgID       uint8
	TLVs                 TLVs
}

var broadcastMandatory = []Tag{TagBroadcastAreaIdentifier, TagBroadcastContentType, TagBroadcastRepNum,
	TagBroadcastFrequencyInterval}

func (p *BroadcastSM) appendBody(e *enc) {
	e.cstr("service_type", p.ServiceType, maxServiceType)
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr)
	e.cstr("message_id", p.MessageID, maxMessageID)
	e.u8(p.PriorityFlag)
	e.time("schedule_delivery_time", p.ScheduleDeliveryTime)
	e.time("validity_period", p.ValidityPeriod)
	e.u8(p.ReplaceIfPresentFlag)
	e.u8(p.DataCoding)
	e.u8(p.SMDefaultMsgID)
	e.mandatoryTLVs(p.TLVs, broadcastMandatory)
	e.tlvs(p.TLVs)
}

func (p *BroadcastSM) decodeBody(d *dec) {
	p.ServiceType = d.cstr("service_type", maxServiceType, StatusInvSerTyp)
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr, StatusInvSrcAdr)
	p.MessageID = d.cstr("message_id", maxMessageID, StatusInvMsgID)
	p.PriorityFlag = d.u8("priority_flag")
	p.ScheduleDeliveryTime = d.time("schedule_delivery_time", StatusInvSched)
	p.ValidityPeriod = d.time("validity_period", StatusInvExpiry)
	p.ReplaceIfPresentFlag = d.u8("replace_if_present_flag")
	p.DataCoding = d.u8("data_coding")
	p.SMDefaultMsgID = d.u8("sm_default_msg_id")
	p.TLVs = d.tlvs()
	d.mandatoryTLVs(p.TLVs, broadcastMandatory)
}

// BroadcastSMResp answers BroadcastSM; on failure its TLVs may carry
// broadcast_error_status and failed_broadcast_area_identifier.
type BroadcastSMResp SubmitSMResp

func (p *BroadcastSMResp) appendBody(e *enc) { (*SubmitSMResp)(p).appendBody(e) }
func (p *BroadcastSMResp) decodeBody(d *dec) { (*SubmitSMResp)(p).decodeBody(d) }

// QueryBroadcastSM (SMPP 5.0) asks for the state of a broadcast.
type QueryBroadcastSM struct {
	Header
	MessageID     string
	SourceAddrTON uint8
	SourceAddrNPI uint8
	SourceAddr    string
	TLVs          TLVs // user_message_reference
}

func (p *QueryBroadcastSM) appendBody(e *enc) {
	e.cstr("message_id", p.MessageID, maxMessageID)
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr)
	e.tlvs(p.TLVs)
}

func (p *QueryBroadcastSM) decodeBody(d *dec) {
	p.MessageID = d.cstr("message_id", maxMessageID, StatusInvMsgID)
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr, StatusInvSrcAdr)
	p.TLVs = d.tlvs()
}

// QueryBroadcastSMResp answers QueryBroadcastSM. Its TLVs must include
// message_state, broadcast_area_identifier and broadcast_area_success when
// the status is ESME_ROK.
type QueryBroadcastSMResp SubmitSMResp

var queryBroadcastMandatory = []Tag{TagMessageState, TagBroadcastAreaIdentifier, TagBroadcastAreaSuccess}

func (p *QueryBroadcastSMResp) appendBody(e *enc) {
	if p.Status == StatusOK {
		e.mandatoryTLVs(p.TLVs, queryBroadcastMandatory)
	}
	(*SubmitSMResp)(p).appendBody(e)
}

func (p *QueryBroadcastSMResp) decodeBody(d *dec) {
	(*SubmitSMResp)(p).decodeBody(d)
	if p.Status == StatusOK {
		d.mandatoryTLVs(p.TLVs, queryBroadcastMandatory)
	}
}

// CancelBroadcastSM (SMPP 5.0) cancels broadcasts: one by MessageID, or by
// ServiceType and the user_message_reference TLV.
type CancelBroadcastSM struct {
	Header
	ServiceType   string
	MessageID     string
	SourceAddrTON uint8
	SourceAddrNPI uint8
	SourceAddr    string
	TLVs          TLVs // broadcast_content_type, user_message_reference
}

func (p *CancelBroadcastSM) appendBody(e *enc) {
	e.cstr("service_type", p.ServiceType, maxServiceType)
	e.cstr("message_id", p.MessageID, maxMessageID)
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr)
	e.tlvs(p.TLVs)
}

func (p *CancelBroadcastSM) decodeBody(d *dec) {
	p.ServiceType = d.cstr("service_type", maxServiceType, StatusInvSerTyp)
	p.MessageID = d.cstr("message_id", maxMessageID, StatusInvMsgID)
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr, StatusInvSrcAdr)
	p.TLVs = d.tlvs()
}
