package pdu

// BindTransmitter binds an ESME that sends messages.
type BindTransmitter struct {
	Header
	SystemID         string // max 15 characters
	Password         string // max 8 characters
	SystemType       string // max 12 characters
	InterfaceVersion uint8  // Version34 or Version50
	AddrTON          uint8
	AddrNPI          uint8
	AddressRange     string // max 40 characters
}

// BindReceiver binds an ESME that receives messages (deliver_sm).
type BindReceiver BindTransmitter

// BindTransceiver binds an ESME that both sends and receives.
type BindTransceiver BindTransmitter

// BindTransmitterResp answers BindTransmitter with the SMSC's system_id
// and, optionally, the sc_interface_version TLV.
type BindTransmitterResp struct {
	Header
	SystemID string
	TLVs     TLVs
}

// BindReceiverResp answers BindReceiver.
type BindReceiverResp BindTransmitterResp

// BindTransceiverResp answers BindTransceiver.
type BindTransceiverResp BindTransmitterResp

func (p *BindTransmitter) appendBody(e *enc) {
	e.cstr("system_id", p.SystemID, maxSystemID)
	e.cstr("password", p.Password, maxPassword)
	e.cstr("system_type", p.SystemType, maxSystemType)
	e.u8(p.InterfaceVersion)
	e.u8(p.AddrTON)
	e.u8(p.AddrNPI)
	e.cstr("address_range", p.AddressRange, maxAddressRange)
}

func (p *BindTransmitter) decodeBody(d *dec) {
	p.SystemID = d.cstr("system_id", maxSystemID, StatusInvSysID)
	p.Password = d.cstr("password", maxPassword, StatusInvPaswd)
	p.SystemType = d.cstr("system_type", maxSystemType, StatusInvSysTyp)
	p.InterfaceVersion = d.u8("interface_version")
	p.AddrTON = d.u8("addr_ton")
	p.AddrNPI = d.u8("addr_npi")
	p.AddressRange = d.cstr("address_range", maxAddressRange, StatusBindFail)
	d.end()
}

func (p *BindReceiver) appendBody(e *enc)    { (*BindTransmitter)(p).appendBody(e) }
func (p *BindReceiver) decodeBody(d *dec)    { (*BindTransmitter)(p).decodeBody(d) }
func (p *BindTransceiver) appendBody(e *enc) { (*BindTransmitter)(p).appendBody(e) }
func (p *BindTransceiver) decodeBody(d *dec) { (*BindTransmitter)(p).decodeBody(d) }

func (p *BindTransmitterResp) appendBody(e *enc) {
	if p.Status != StatusOK && p.SystemID == "" && len(p.TLVs.raw) == 0 {
		return // no body with an error status
	}
	e.cstr("system_id", p.SystemID, maxSystemID)
	e.tlvs(p.TLVs)
}

func (p *BindTransmitterResp) decodeBody(d *dec) {
	if len(d.b) == 0 {
		return
	}
	p.SystemID = d.cstr("system_id", maxSystemID, StatusInvSysID)
	p.TLVs = d.tlvs()
}

func (p *BindReceiverResp) appendBody(e *enc)    { (*BindTransmitterResp)(p).appendBody(e) }
func (p *BindReceiverResp) decodeBody(d *dec)    { (*BindTransmitterResp)(p).decodeBody(d) }
func (p *BindTransceiverResp) appendBody(e *enc) { (*BindTransmitterResp)(p).appendBody(e) }
func (p *BindTransceiverResp) decodeBody(d *dec) { (*BindTransmitterResp)(p).decodeBody(d) }

// Outbind asks an ESME to bind as a receiver (sent by the SMSC).
type Outbind struct {
	Header
	SystemID string
	Password string
}

func (p *Outbind) appendBody(e *enc) {
	e.cstr("system_id", p.SystemID, maxSystemID)
	e.cstr("password", p.Password, maxPassword)
}

func (p *Outbind) decodeBody(d *dec) {
	p.SystemID = d.cstr("system_id", maxSystemID, StatusInvSysID)
	p.Password = d.cstr("password", maxPassword, StatusInvPaswd)
	d.end()
}
