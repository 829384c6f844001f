package pdu

// samples returns one filled PDU of every type, for round-trip, golden and
// fuzz-seed tests.
func samples() map[string]PDU {
	var rcpt TLVs
	rcpt.SetReceiptedMessageID("0A1B2C")
	rcpt.SetMessageState(StateDelivered)
	rcpt.SetNetworkErrorCode(3, 0x0102)
	var sar TLVs
	sar.SetSARMsgRefNum(0x1234)
	sar.SetSARTotalSegments(2)
	sar.SetSARSegmentSeqnum(1)
	sar.Add(0x1401, []byte("vendor")) // unknown vendor tag, kept
	var payload TLVs
	payload.SetMessagePayload([]byte("a longer message carried in message_payload"))
	var version TLVs
	version.SetSCInterfaceVersion(Version34)
	var bcast TLVs
	bcast.SetBroadcastAreaIdentifier([]byte{0x00, 'A', 'r', 'e', 'a', '1'})
	bcast.Add(TagBroadcastAreaIdentifier, []byte{0x00, 'A', 'r', 'e', 'a', '2'}) // repeated tag
	bcast.SetBroadcastContentType([]byte{0x01, 0x00, 0x01})
	bcast.SetBroadcastRepNum(3)
	bcast.SetBroadcastFrequencyInterval([]byte{0x08, 0x00, 0x05})
	bcast.SetMessagePayload([]byte("storm warning"))
	var qbr TLVs
	qbr.SetMessageState(StateEnroute)
	qbr.SetBroadcastAreaIdentifier([]byte{0x00, 'A'})
	qbr.SetBroadcastAreaSuccess(80)
	var umr TLVs
	umr.SetUserMessageReference(77)
	var avail TLVs
	avail.SetMSAvailabilityStatus(0)
	var errInfo TLVs
	errInfo.SetAdditionalStatusInfoText("queue full, retry later")

	bind := BindTransmitter{Header: Header{Sequence: 1}, SystemID: "acme", Password: "secret", SystemType: "VMA",
		InterfaceVersion: Version34, AddrTON: 1, AddrNPI: 1, AddressRange: "^58412"}
	submit := SubmitSM{Header: Header{Sequence: 7}, ServiceType: "CMT", SourceAddrTON: 5, SourceAddr: "ACME",
		DestAddrTON: 1, DestAddrNPI: 1, DestinationAddr: "584121234567", ESMClass: 0x40, PriorityFlag: 1,
		ScheduleDeliveryTime: "261122103000000+", ValidityPeriod: "000001000000000R", RegisteredDelivery: 1,
		DataCoding: 0x08, ShortMessage: []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x00, 0x48}, TLVs: sar}
	deliver := DeliverSM{Header: Header{Sequence: 9}, SourceAddrTON: 1, SourceAddrNPI: 1, SourceAddr: "584121234567",
		DestinationAddr: "1234", ESMClass: 0x04,
		ShortMessage: []byte("id:0A1B2C sub:001 dlvrd:001 submit date:2611221030 done date:2611221031 stat:DELIVRD err:000 text:hello"),
		TLVs:         rcpt}
	return map[string]PDU{
		"generic_nack":             &GenericNack{Header: Header{Status: StatusInvCmdID, Sequence: 3}},
		"bind_transmitter":         &bind,
		"bind_receiver":            (*BindReceiver)(&BindTransmitter{Header: Header{Sequence: 2}, SystemID: "acme", Password: "pw", InterfaceVersion: Version50}),
		"bind_transceiver":         (*BindTransceiver)(&BindTransmitter{Header: Header{Sequence: 3}, SystemID: "acme", Password: "pw", InterfaceVersion: Version34}),
		"bind_transmitter_resp":    &BindTransmitterResp{Header: Header{Sequence: 1}, SystemID: "SMSC", TLVs: version},
		"bind_receiver_resp":       &BindReceiverResp{Header: Header{Sequence: 2}, SystemID: "SMSC"},
		"bind_transceiver_resp":    &BindTransceiverResp{Header: Header{Status: StatusBindFail, Sequence: 3}},
		"outbind":                  &Outbind{Header: Header{Sequence: 1}, SystemID: "SMSC", Password: "pw"},
		"unbind":                   &Unbind{Header: Header{Sequence: 4}},
		"unbind_resp":              &UnbindResp{Header: Header{Sequence: 4}},
		"enquire_link":             &EnquireLink{Header: Header{Sequence: 0x7FFFFFFF}},
		"enquire_link_resp":        &EnquireLinkResp{Header: Header{Sequence: 0x7FFFFFFF}},
		"submit_sm":                &submit,
		"submit_sm_resp":           &SubmitSMResp{Header: Header{Sequence: 7}, MessageID: "0A1B2C"},
		"submit_sm_resp_error":     &SubmitSMResp{Header: Header{Status: StatusThrottled, Sequence: 8}},
		"submit_sm_resp_error_tlv": &SubmitSMResp{Header: Header{Status: StatusMsgQFul, Sequence: 8}, TLVs: errInfo},
		"deliver_sm":               &deliver,
		"deliver_sm_resp":          &DeliverSMResp{Header: Header{Sequence: 9}},
		"data_sm": &DataSM{Header: Header{Sequence: 10}, SourceAddr: "ACME", DestAddrTON: 1, DestAddrNPI: 1,
			DestinationAddr: "584121234567", RegisteredDelivery: 1, TLVs: payload},
		"data_sm_resp": &DataSMResp{Header: Header{Sequence: 10}, MessageID: "77"},
		"submit_multi": &SubmitMulti{Header: Header{Sequence: 11}, SourceAddr: "ACME",
			Dests:        []Dest{{Flag: DestSME, TON: 1, NPI: 1, Addr: "584121234567"}, {Flag: DestList, DLName: "clients"}},
			ShortMessage: []byte("hola")},
		"submit_multi_resp": &SubmitMultiResp{Header: Header{Sequence: 11}, MessageID: "88",
			Unsuccess: []UnsuccessSME{{TON: 1, NPI: 1, Addr: "584120000000", Status: StatusInvDstAdr}}},
		"query_sm":      &QuerySM{Header: Header{Sequence: 12}, MessageID: "0A1B2C", SourceAddr: "ACME"},
		"query_sm_resp": &QuerySMResp{Header: Header{Sequence: 12}, MessageID: "0A1B2C", FinalDate: "261122103100000+", MessageState: StateDelivered},
		"cancel_sm": &CancelSM{Header: Header{Sequence: 13}, MessageID: "0A1B2C", SourceAddr: "ACME",
			DestinationAddr: "584121234567"},
		"cancel_sm_resp": &CancelSMResp{Header: Header{Sequence: 13}},
		"replace_sm": &ReplaceSM{Header: Header{Sequence: 14}, MessageID: "0A1B2C", SourceAddr: "ACME",
			ValidityPeriod: "000002000000000R", ShortMessage: []byte("corrected")},
		"replace_sm_resp": &ReplaceSMResp{Header: Header{Sequence: 14}},
		"alert_notification": &AlertNotification{Header: Header{Sequence: 15}, SourceAddrTON: 1, SourceAddr: "584121234567",
			ESMEAddr: "ACME", TLVs: avail},
		"broadcast_sm": &BroadcastSM{Header: Header{Sequence: 16}, SourceAddr: "ACME", PriorityFlag: 1,
			ValidityPeriod: "000000010000000R", TLVs: bcast},
		"broadcast_sm_resp":        &BroadcastSMResp{Header: Header{Sequence: 16}, MessageID: "B1"},
		"query_broadcast_sm":       &QueryBroadcastSM{Header: Header{Sequence: 17}, MessageID: "B1", SourceAddr: "ACME", TLVs: umr},
		"query_broadcast_sm_resp":  &QueryBroadcastSMResp{Header: Header{Sequence: 17}, MessageID: "B1", TLVs: qbr},
		"cancel_broadcast_sm":      &CancelBroadcastSM{Header: Header{Sequence: 18}, MessageID: "B1", SourceAddr: "ACME"},
		"cancel_broadcast_sm_resp": &CancelBroadcastSMResp{Header: Header{Sequence: 18}},
	}
}
