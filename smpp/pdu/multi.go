package pdu

// Destination flags of submit_multi.
const (
	DestSME  uint8 = 1 // an SME address
	DestList uint8 = 2 // a distribution list name
)

// Dest is one destination of SubmitMulti: an SME address (Flag DestSME,
// TON, NPI, Addr) or a distribution list (Flag DestList, DLName).
type Dest struct {
	Flag   uint8
	TON    uint8
	NPI    uint8
	Addr   string
	DLName string
}

// SubmitMulti submits one message to up to 254 destinations.
type SubmitMulti struct {
	Header
	ServiceType          string
	SourceAddrTON        uint8
	SourceAddrNPI        uint8
	SourceAddr           string
	Dests                []Dest
	ESMClass             uint8
	ProtocolID           uint8
	PriorityFlag         uint8
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   uint8
	ReplaceIfPresentFlag uint8
	DataCoding           uint8
	SMDefaultMsgID       uint8
	ShortMessage         []byte
	TLVs                 TLVs
}

func (p *SubmitMulti) appendBody(e *enc) {
	e.cstr("service_type", p.ServiceType, maxServiceType)
	e.addr("source_addr", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr, maxAddr)
	if len(p.Dests) == 0 || len(p.Dests) > maxDests {
		e.fail(&FieldError{Command: e.cmd, Field: "number_of_dests", Len: len(p.Dests), Max: maxDests,
			Reason: "want 1 to 254 destinations"})
		return
	}
	e.u8(uint8(len(p.Dests)))
	for _, d := range p.Dests {
		e.u8(d.Flag)
		switch d.Flag {
		case DestSME:
			e.u8(d.TON)
			e.u8(d.NPI)
			e.cstr("destination_addr", d.Addr, maxAddr)
		case DestList:
			e.cstr("dl_name", d.DLName, maxDLName)
		default:
			e.fail(&FieldError{Command: e.cmd, Field: "dest_flag", Reason: "want 1 (SME address) or 2 (distribution list)"})
			return
		}
	}
	e.u8(p.ESMClass)
	e.u8(p.ProtocolID)
	e.u8(p.PriorityFlag)
	e.time("schedule_delivery_time", p.ScheduleDeliveryTime)
	e.time("validity_period", p.ValidityPeriod)
	e.u8(p.RegisteredDelivery)
	e.u8(p.ReplaceIfPresentFlag)
	e.u8(p.DataCoding)
	e.u8(p.SMDefaultMsgID)
	e.shortMessage(p.ShortMessage)
	e.tlvs(p.TLVs)
}

func (p *SubmitMulti) decodeBody(d *dec) {
	p.ServiceType = d.cstr("service_type", maxServiceType, StatusInvSerTyp)
	p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr = d.addr("source_addr", maxAddr, StatusInvSrcAdr)
	n := int(d.u8("number_of_dests"))
	if d.err == nil && (n == 0 || n > maxDests) {
		d.fail("number_of_dests", StatusInvNumDests, "want 1 to 254 destinations")
	}
	if d.err != nil {
		return
	}
	// Each destination takes at least 2 octets: a count beyond what the body
	// can hold is rejected before allocating for it.
	if n*2 > len(d.b)-d.i {
		d.fail("number_of_dests", StatusInvNumDests, "more destinations than the body holds")
		return
	}
	p.Dests = make([]Dest, n)
	for i := range p.Dests {
		dst := &p.Dests[i]
		dst.Flag = d.u8("dest_flag")
		switch dst.Flag {
		case DestSME:
			dst.TON = d.u8("dest_addr_ton")
			dst.NPI = d.u8("dest_addr_npi")
			dst.Addr = d.cstr("destination_addr", maxAddr, StatusInvDstAdr)
		case DestList:
			dst.DLName = d.cstr("dl_name", maxDLName, StatusInvDLName)
		default:
			d.fail("dest_flag", StatusInvDestFlag, "want 1 (SME address) or 2 (distribution list)")
		}
		if d.err != nil {
			return
		}
	}
	p.ESMClass = d.u8("esm_class")
	p.ProtocolID = d.u8("protocol_id")
	p.PriorityFlag = d.u8("priority_flag")
	p.ScheduleDeliveryTime = d.time("schedule_delivery_time", StatusInvSched)
	p.ValidityPeriod = d.time("validity_period", StatusInvExpiry)
	p.RegisteredDelivery = d.u8("registered_delivery")
	p.ReplaceIfPresentFlag = d.u8("replace_if_present_flag")
	p.DataCoding = d.u8("data_coding")
	p.SMDefaultMsgID = d.u8("sm_default_msg_id")
	p.ShortMessage = d.shortMessage()
	p.TLVs = d.tlvs()
}

// UnsuccessSME is a destination of SubmitMulti that the SMSC refused, and
// why.
type UnsuccessSME struct {
	TON    uint8
	NPI    uint8
	Addr   string
	Status Status
}

// SubmitMultiResp answers SubmitMulti: the message id, and the
// destinations that failed.
type SubmitMultiResp struct {
	Header
	MessageID string
	Unsuccess []UnsuccessSME
	TLVs      TLVs
}

func (p *SubmitMultiResp) appendBody(e *enc) {
	if p.Status != StatusOK && p.MessageID == "" && len(p.Unsuccess) == 0 && len(p.TLVs.raw) == 0 {
		return
	}
	e.cstr("message_id", p.MessageID, maxMessageID)
	if len(p.Unsuccess) > 255 {
		e.fail(&FieldError{Command: e.cmd, Field: "no_unsuccess", Len: len(p.Unsuccess), Max: 255, Reason: "too many"})
		return
	}
	e.u8(uint8(len(p.Unsuccess)))
	for _, u := range p.Unsuccess {
		e.u8(u.TON)
		e.u8(u.NPI)
		e.cstr("destination_addr", u.Addr, maxAddr)
		e.u32(uint32(u.Status))
	}
	e.tlvs(p.TLVs)
}

func (p *SubmitMultiResp) decodeBody(d *dec) {
	if len(d.b) == 0 {
		return
	}
	p.MessageID = d.cstr("message_id", maxMessageID, StatusInvMsgID)
	n := int(d.u8("no_unsuccess"))
	if d.err != nil {
		return
	}
	if n*7 > len(d.b)-d.i { // ton, npi, NUL, 4-octet status at least
		d.fail("no_unsuccess", StatusInvCmdLen, "more entries than the body holds")
		return
	}
	if n > 0 {
		p.Unsuccess = make([]UnsuccessSME, n)
	}
	for i := range p.Unsuccess {
		u := &p.Unsuccess[i]
		u.TON = d.u8("dest_addr_ton")
		u.NPI = d.u8("dest_addr_npi")
		u.Addr = d.cstr("destination_addr", maxAddr, StatusInvDstAdr)
		u.Status = Status(d.u32("error_status_code"))
	}
	p.TLVs = d.tlvs()
}
