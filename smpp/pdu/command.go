package pdu

import "fmt"

// CommandID identifies an SMPP operation. Responses have bit 31 set.
type CommandID uint32

// Command ids of SMPP 3.4 and 5.0.
const (
	GenericNackID           CommandID = 0x80000000
	BindReceiverID          CommandID = 0x00000001
	BindReceiverRespID      CommandID = 0x80000001
	BindTransmitterID       CommandID = 0x00000002
	BindTransmitterRespID   CommandID = 0x80000002
	QuerySMID               CommandID = 0x00000003
	QuerySMRespID           CommandID = 0x80000003
	SubmitSMID              CommandID = 0x00000004
	SubmitSMRespID          CommandID = 0x80000004
	DeliverSMID             CommandID = 0x00000005
	DeliverSMRespID         CommandID = 0x80000005
	UnbindID                CommandID = 0x00000006
	UnbindRespID            CommandID = 0x80000006
	ReplaceSMID             CommandID = 0x00000007
	ReplaceSMRespID         CommandID = 0x80000007
	CancelSMID              CommandID = 0x00000008
	CancelSMRespID          CommandID = 0x80000008
	BindTransceiverID       CommandID = 0x00000009
	BindTransceiverRespID   CommandID = 0x80000009
	OutbindID               CommandID = 0x0000000B
	EnquireLinkID           CommandID = 0x00000015
	EnquireLinkRespID       CommandID = 0x80000015
	SubmitMultiID           CommandID = 0x00000021
	SubmitMultiRespID       CommandID = 0x80000021
	AlertNotificationID     CommandID = 0x00000102
	DataSMID                CommandID = 0x00000103
	DataSMRespID            CommandID = 0x80000103
	BroadcastSMID           CommandID = 0x00000111 // SMPP 5.0
	BroadcastSMRespID       CommandID = 0x80000111 // SMPP 5.0
	QueryBroadcastSMID      CommandID = 0x00000112 // SMPP 5.0
	QueryBroadcastSMRespID  CommandID = 0x80000112 // SMPP 5.0
	CancelBroadcastSMID     CommandID = 0x00000113 // SMPP 5.0
	CancelBroadcastSMRespID CommandID = 0x80000113 // SMPP 5.0
)

var commandNames = map[CommandID]string{
	GenericNackID: "generic_nack", BindReceiverID: "bind_receiver", BindReceiverRespID: "bind_receiver_resp",
	BindTransmitterID: "bind_transmitter", BindTransmitterRespID: "bind_transmitter_resp", QuerySMID: "query_sm",
	QuerySMRespID: "query_sm_resp", SubmitSMID: "submit_sm", SubmitSMRespID: "submit_sm_resp",
	DeliverSMID: "deliver_sm", DeliverSMRespID: "deliver_sm_resp", UnbindID: "unbind", UnbindRespID: "unbind_resp",
	ReplaceSMID: "replace_sm", ReplaceSMRespID: "replace_sm_resp", CancelSMID: "cancel_sm",
	CancelSMRespID: "cancel_sm_resp", BindTransceiverID: "bind_transceiver",
	BindTransceiverRespID: "bind_transceiver_resp", OutbindID: "outbind", EnquireLinkID: "enquire_link",
	EnquireLinkRespID: "enquire_link_resp", SubmitMultiID: "submit_multi", SubmitMultiRespID: "submit_multi_resp",
	AlertNotificationID: "alert_notification", DataSMID: "data_sm", DataSMRespID: "data_sm_resp",
	BroadcastSMID: "broadcast_sm", BroadcastSMRespID: "broadcast_sm_resp", QueryBroadcastSMID: "query_broadcast_sm",
	QueryBroadcastSMRespID: "query_broadcast_sm_resp", CancelBroadcastSMID: "cancel_broadcast_sm",
	CancelBroadcastSMRespID: "cancel_broadcast_sm_resp",
}

// String is the operation's name in the specification, e.g. "submit_sm".
func (c CommandID) String() string {
	if n, ok := commandNames[c]; ok {
		return n
	}
	return fmt.Sprintf("command 0x%08X", uint32(c))
}

// Known reports whether c is an operation of SMPP 3.4 or 5.0.
func (c CommandID) Known() bool {
	_, ok := commandNames[c]
	return ok
}

// IsResponse reports whether c is a response (generic_nack included).
func (c CommandID) IsResponse() bool { return c&0x80000000 != 0 }

// Response is the id of the response to request c. outbind and
// alert_notification have no response; for them, and for responses, the
// result is not a known command.
func (c CommandID) Response() CommandID { return c | 0x80000000 }

// HasResponse reports whether request c is answered by c.Response().
func (c CommandID) HasResponse() bool {
	return !c.IsResponse() && c != OutbindID && c != AlertNotificationID && c.Known()
}
