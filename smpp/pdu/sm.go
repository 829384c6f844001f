package pdu

// SubmitSM submits a short message to the SMSC.
//
// ShortMessage holds at most 254 octets; a longer message goes in the
// message_payload TLV with an empty ShortMessage (or is split into
// segments: see smpp/coding).
type SubmitSM struct {
	Header
	ServiceType          string // max 5 characters
	SourceAddrTON        uint8
	SourceAddrNPI        uint8
	SourceAddr           string // max 20 characters
	DestAddrTON          uint8
	DestAddrNPI          uint8
	DestinationAddr      string // max 20 characters
	ESMClass             uint8
	ProtocolID           uint8
	PriorityFlag         uint8
	ScheduleDeliveryTime string // "" or an SMPP time (AbsoluteTime, RelativeTime)
	ValidityPeriod       string // "" or an SMPP time
	RegisteredDelivery   uint8
	ReplaceIfPresentFlag uint8
	DataCoding           uint8
	SMDefaultMsgID       uint8
	ShortMessage         []byte
	TLVs                 TLVs
}

// DeliverSM delivers a short message (or a delivery receipt) to an ESME.
// It has SubmitSM's fields; ScheduleDeliveryTime and ValidityPeriod are
// empty, the delivery receipt flag is in ESMClass.
type DeliverSM SubmitSM

func (p *SubmitSM) appendBody(e *enc) {
	e.cstr("service_type", p.ServiceType, maxServiceType)
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr)
	e.addr("destination_addr", p.DestAddrTON, p.DestAddrNPI, p.DestinationAddr, maxAddr)
	e.b = append(e.b, p.ESMClass, p.ProtocolID, p.PriorityFlag)
	e.time("schedule_delivery_time", p.ScheduleDeliveryTime)
	e.time("validity_period", p.ValidityPeriod)
	e.b = append(e.b, p.RegisteredDelivery, p.ReplaceIfPresentFlag, p.DataCoding, p.SMDefaultMsgID)
	e.shortMessage(p.ShortMessage)
	e.tlvs(p.TLVs)
}

func (p *SubmitSM) decodeBody(d *dec) {
	// Runs of one-octet fields are read behind one bounds check each: this
	// is the hot path of a gateway.
	p.ServiceType = d.cstr("service_type", maxServiceType, StatusInvSerTyp)
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr, StatusInvSrcAdr)
	p.DestAddrTON, p.DestAddrNPI, p.DestinationAddr = d.addr("destination_addr", maxAddr, StatusInvDstAdr)
	b := d.octs("esm_class", 3)
	p.ESMClass, p.ProtocolID, p.PriorityFlag = b[0], b[1], b[2]
	p.ScheduleDeliveryTime = d.time("schedule_delivery_time", StatusInvSched)
	p.ValidityPeriod = d.time("validity_period", StatusInvExpiry)
	b = d.octs("registered_delivery", 4)
	p.RegisteredDelivery, p.ReplaceIfPresentFlag, p.DataCoding, p.SMDefaultMsgID = b[0], b[1], b[2], b[3]
	p.ShortMessage = d.shortMessage()
	p.TLVs = d.tlvs()
}

func (p *DeliverSM) appendBody(e *enc) { (*SubmitSM)(p).appendBody(e) }
func (p *DeliverSM) decodeBody(d *dec) { (*SubmitSM)(p).decodeBody(d) }

// SubmitSMResp answers SubmitSM with the message id the SMSC assigned.
// With an error status the body is normally absent (MessageID empty); SMPP
// 5.0 peers may add TLVs such as additional_status_info_text.
type SubmitSMResp struct {
	Header
	MessageID string
	TLVs      TLVs
}

// DeliverSMResp answers DeliverSM (MessageID is unused and empty).
type DeliverSMResp SubmitSMResp

// DataSMResp answers DataSM; TLVs may carry delivery_failure_reason,
// network_error_code, additional_status_info_text, dpf_result.
type DataSMResp SubmitSMResp

func (p *SubmitSMResp) appendBody(e *enc) { appendRespBody(e, &p.Header, p.MessageID, p.TLVs) }
func (p *SubmitSMResp) decodeBody(d *dec) { p.MessageID, p.TLVs = decodeRespBody(d) }

func (p *DeliverSMResp) appendBody(e *enc) { (*SubmitSMResp)(p).appendBody(e) }
func (p *DeliverSMResp) decodeBody(d *dec) { (*SubmitSMResp)(p).decodeBody(d) }
func (p *DataSMResp) appendBody(e *enc)    { (*SubmitSMResp)(p).appendBody(e) }
func (p *DataSMResp) decodeBody(d *dec)    { (*SubmitSMResp)(p).decodeBody(d) }

// DataSM transfers data in either direction, the message in the
// message_payload TLV. Its addresses may be up to 64 characters.
type DataSM struct {
	Header
	ServiceType        string
	SourceAddrTON      uint8
	SourceAddrNPI      uint8
	SourceAddr         string // max 64 characters
	DestAddrTON        uint8
	DestAddrNPI        uint8
	DestinationAddr    string // max 64 characters
	ESMClass           uint8
	RegisteredDelivery uint8
	DataCoding         uint8
	TLVs               TLVs
}

func (p *DataSM) appendBody(e *enc) {
	e.cstr("service_type", p.ServiceType, maxServiceType)
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr65)
	e.addr("destination_addr", p.DestAddrTON, p.DestAddrNPI, p.DestinationAddr, maxAddr65)
	e.u8(p.ESMClass)
	e.u8(p.RegisteredDelivery)
	e.u8(p.DataCoding)
	e.tlvs(p.TLVs)
}

func (p *DataSM) decodeBody(d *dec) {
	p.ServiceType = d.cstr("service_type", maxServiceType, StatusInvSerTyp)
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr65, StatusInvSrcAdr)
	p.DestAddrTON, p.DestAddrNPI, p.DestinationAddr = d.addr("destination_addr", maxAddr65, StatusInvDstAdr)
	p.ESMClass = d.u8("esm_class")
	p.RegisteredDelivery = d.u8("registered_delivery")
	p.DataCoding = d.u8("data_coding")
	p.TLVs = d.tlvs()
}
