package pdu

import "fmt"

// Status is a PDU's command_status: 0 in requests, the outcome in
// responses.
type Status uint32

// Command statuses of SMPP 3.4 (section 5.1.3) and SMPP 5.0 (section 4.7.6).
const (
	StatusOK                Status = 0x00000000 // ESME_ROK
	StatusInvMsgLen         Status = 0x00000001 // ESME_RINVMSGLEN
	StatusInvCmdLen         Status = 0x00000002 // ESME_RINVCMDLEN
	StatusInvCmdID          Status = 0x00000003 // ESME_RINVCMDID
	StatusInvBndSts         Status = 0x00000004 // ESME_RINVBNDSTS
	StatusAlyBnd            Status = 0x00000005 // ESME_RALYBND
	StatusInvPrtFlg         Status = 0x00000006 // ESME_RINVPRTFLG
	StatusInvRegDlvFlg      Status = 0x00000007 // ESME_RINVREGDLVFLG
	StatusSysErr            Status = 0x00000008 // ESME_RSYSERR
	StatusInvSrcAdr         Status = 0x0000000A // ESME_RINVSRCADR
	StatusInvDstAdr         Status = 0x0000000B // ESME_RINVDSTADR
	StatusInvMsgID          Status = 0x0000000C // ESME_RINVMSGID
	StatusBindFail          Status = 0x0000000D // ESME_RBINDFAIL
	StatusInvPaswd          Status = 0x0000000E // ESME_RINVPASWD
	StatusInvSysID          Status = 0x0000000F // ESME_RINVSYSID
	StatusCancelFail        Status = 0x00000011 // ESME_RCANCELFAIL
	StatusReplaceFail       Status = 0x00000013 // ESME_RREPLACEFAIL
	StatusMsgQFul           Status = 0x00000014 // ESME_RMSGQFUL
	StatusInvSerTyp         Status = 0x00000015 // ESME_RINVSERTYP
	StatusInvNumDests       Status = 0x00000033 // ESME_RINVNUMDESTS
	StatusInvDLName         Status = 0x00000034 // ESME_RINVDLNAME
	StatusInvDestFlag       Status = 0x00000040 // ESME_RINVDESTFLAG
	StatusInvSubRep         Status = 0x00000042 // ESME_RINVSUBREP
	StatusInvEsmClass       Status = 0x00000043 // ESME_RINVESMCLASS
	StatusCntSubDL          Status = 0x00000044 // ESME_RCNTSUBDL
	StatusSubmitFail        Status = 0x00000045 // ESME_RSUBMITFAIL
	StatusInvSrcTON         Status = 0x00000048 // ESME_RINVSRCTON
	StatusInvSrcNPI         Status = 0x00000049 // ESME_RINVSRCNPI
	StatusInvDstTON         Status = 0x00000050 // ESME_RINVDSTTON
	StatusInvDstNPI         Status = 0x00000051 // ESME_RINVDSTNPI
	StatusInvSysTyp         Status = 0x00000053 // ESME_RINVSYSTYP
	StatusInvRepFlag        Status = 0x00000054 // ESME_RINVREPFLAG
	StatusInvNumMsgs        Status = 0x00000055 // ESME_RINVNUMMSGS
	StatusThrottled         Status = 0x00000058 // ESME_RTHROTTLED
	StatusInvSched          Status = 0x00000061 // ESME_RINVSCHED
	StatusInvExpiry         Status = 0x00000062 // ESME_RINVEXPIRY
	StatusInvDftMsgID       Status = 0x00000063 // ESME_RINVDFTMSGID
	StatusXTAppn            Status = 0x00000064 // ESME_RX_T_APPN
	StatusXPAppn            Status = 0x00000065 // ESME_RX_P_APPN
	StatusXRAppn            Status = 0x00000066 // ESME_RX_R_APPN
	StatusQueryFail         Status = 0x00000067 // ESME_RQUERYFAIL
	StatusInvTLVStream      Status = 0x000000C0 // ESME_RINVTLVSTREAM (3.4: ESME_RINVOPTPARSTREAM)
	StatusTLVNotAllwd       Status = 0x000000C1 // ESME_RTLVNOTALLWD (3.4: ESME_ROPTPARNOTALLWD)
	StatusInvTLVLen         Status = 0x000000C2 // ESME_RINVTLVLEN (3.4: ESME_RINVPARLEN)
	StatusMissingTLV        Status = 0x000000C3 // ESME_RMISSINGTLV (3.4: ESME_RMISSINGOPTPARAM)
	StatusInvTLVVal         Status = 0x000000C4 // ESME_RINVTLVVAL (3.4: ESME_RINVOPTPARAMVAL)
	StatusDeliveryFailure   Status = 0x000000FE // ESME_RDELIVERYFAILURE
	StatusUnknownErr        Status = 0x000000FF // ESME_RUNKNOWNERR
	StatusSerTypUnauth      Status = 0x00000100 // ESME_RSERTYPUNAUTH (5.0)
	StatusProhibited        Status = 0x00000101 // ESME_RPROHIBITED (5.0)
	StatusSerTypUnavail     Status = 0x00000102 // ESME_RSERTYPUNAVAIL (5.0)
	StatusSerTypDenied      Status = 0x00000103 // ESME_RSERTYPDENIED (5.0)
	StatusInvDCS            Status = 0x00000104 // ESME_RINVDCS (5.0)
	StatusInvSrcAddrSubunit Status = 0x00000105 // ESME_RINVSRCADDRSUBUNIT (5.0)
	StatusInvDstAddrSubunit Status = 0x00000106 // ESME_RINVDSTADDRSUBUNIT (5.0)
	StatusInvBcastFreqInt   Status = 0x00000107 // ESME_RINVBCASTFREQINT (5.0)
	StatusInvBcastAliasName Status = 0x00000108 // ESME_RINVBCASTALIAS_NAME (5.0)
	StatusInvBcastAreaFmt   Status = 0x00000109 // ESME_RINVBCASTAREAFMT (5.0)
	StatusInvNumBcastAreas  Status = 0x0000010A // ESME_RINVNUMBCAST_AREAS (5.0)
	StatusInvBcastCntTyp    Status = 0x0000010B // ESME_RINVBCASTCNTTYPE (5.0)
	StatusInvBcastMsgClass  Status = 0x0000010C // ESME_RINVBCASTMSGCLASS (5.0)
	StatusBcastFail         Status = 0x0000010D // ESME_RBCASTFAIL (5.0)
	StatusBcastQueryFail    Status = 0x0000010E // ESME_RBCASTQUERYFAIL (5.0)
	StatusBcastCancelFail   Status = 0x0000010F // ESME_RBCASTCANCELFAIL (5.0)
	StatusInvBcastRep       Status = 0x00000110 // ESME_RINVBCAST_REP (5.0)
	StatusInvBcastSrvGrp    Status = 0x00000111 // ESME_RINVBCASTSRVGRP (5.0)
	StatusInvBcastChanInd   Status = 0x00000112 // ESME_RINVBCASTCHANIND (5.0)
)

type statusInfo struct{ name, meaning string }

var statusTable = map[Status]statusInfo{
	StatusOK:                {"ESME_ROK", "no error"},
	StatusInvMsgLen:         {"ESME_RINVMSGLEN", "message length is invalid"},
	StatusInvCmdLen:         {"ESME_RINVCMDLEN", "command length is invalid"},
	StatusInvCmdID:          {"ESME_RINVCMDID", "invalid command ID"},
	StatusInvBndSts:         {"ESME_RINVBNDSTS", "incorrect bind status for given command"},
	StatusAlyBnd:            {"ESME_RALYBND", "ESME already in bound state"},
	StatusInvPrtFlg:         {"ESME_RINVPRTFLG", "invalid priority flag"},
	StatusInvRegDlvFlg:      {"ESME_RINVREGDLVFLG", "invalid registered delivery flag"},
	StatusSysErr:            {"ESME_RSYSERR", "system error"},
	StatusInvSrcAdr:         {"ESME_RINVSRCADR", "invalid source address"},
	StatusInvDstAdr:         {"ESME_RINVDSTADR", "invalid destination address"},
	StatusInvMsgID:          {"ESME_RINVMSGID", "message ID is invalid"},
	StatusBindFail:          {"ESME_RBINDFAIL", "bind failed"},
	StatusInvPaswd:          {"ESME_RINVPASWD", "invalid password"},
	StatusInvSysID:          {"ESME_RINVSYSID", "invalid system ID"},
	StatusCancelFail:        {"ESME_RCANCELFAIL", "cancel_sm failed"},
	StatusReplaceFail:       {"ESME_RREPLACEFAIL", "replace_sm failed"},
	StatusMsgQFul:           {"ESME_RMSGQFUL", "message queue full"},
	StatusInvSerTyp:         {"ESME_RINVSERTYP", "invalid service type"},
	StatusInvNumDests:       {"ESME_RINVNUMDESTS", "invalid number of destinations"},
	StatusInvDLName:         {"ESME_RINVDLNAME", "invalid distribution list name"},
	StatusInvDestFlag:       {"ESME_RINVDESTFLAG", "destination flag is invalid (submit_multi)"},
	StatusInvSubRep:         {"ESME_RINVSUBREP", "invalid submit with replace request (replace_if_present_flag set)"},
	StatusInvEsmClass:       {"ESME_RINVESMCLASS", "invalid esm_class field data"},
	StatusCntSubDL:          {"ESME_RCNTSUBDL", "cannot submit to distribution list"},
	StatusSubmitFail:        {"ESME_RSUBMITFAIL", "submit_sm, data_sm or submit_multi failed"},
	StatusInvSrcTON:         {"ESME_RINVSRCTON", "invalid source address TON"},
	StatusInvSrcNPI:         {"ESME_RINVSRCNPI", "invalid source address NPI"},
	StatusInvDstTON:         {"ESME_RINVDSTTON", "invalid destination address TON"},
	StatusInvDstNPI:         {"ESME_RINVDSTNPI", "invalid destination address NPI"},
	StatusInvSysTyp:         {"ESME_RINVSYSTYP", "invalid system_type field"},
	StatusInvRepFlag:        {"ESME_RINVREPFLAG", "invalid replace_if_present flag"},
	StatusInvNumMsgs:        {"ESME_RINVNUMMSGS", "invalid number of messages"},
	StatusThrottled:         {"ESME_RTHROTTLED", "throttling error (ESME has exceeded allowed message limits)"},
	StatusInvSched:          {"ESME_RINVSCHED", "invalid scheduled delivery time"},
	StatusInvExpiry:         {"ESME_RINVEXPIRY", "invalid message validity period (expiry time)"},
	StatusInvDftMsgID:       {"ESME_RINVDFTMSGID", "predefined message invalid or not found"},
	StatusXTAppn:            {"ESME_RX_T_APPN", "ESME receiver temporary application error"},
	StatusXPAppn:            {"ESME_RX_P_APPN", "ESME receiver permanent application error"},
	StatusXRAppn:            {"ESME_RX_R_APPN", "ESME receiver reject message error"},
	StatusQueryFail:         {"ESME_RQUERYFAIL", "query_sm request failed"},
	StatusInvTLVStream:      {"ESME_RINVTLVSTREAM", "error in the optional part of the PDU body"},
	StatusTLVNotAllwd:       {"ESME_RTLVNOTALLWD", "TLV not allowed"},
	StatusInvTLVLen:         {"ESME_RINVTLVLEN", "invalid parameter length"},
	StatusMissingTLV:        {"ESME_RMISSINGTLV", "expected TLV missing"},
	StatusInvTLVVal:         {"ESME_RINVTLVVAL", "invalid TLV value"},
	StatusDeliveryFailure:   {"ESME_RDELIVERYFAILURE", "transaction delivery failure"},
	StatusUnknownErr:        {"ESME_RUNKNOWNERR", "unknown error"},
	StatusSerTypUnauth:      {"ESME_RSERTYPUNAUTH", "ESME not authorised to use specified service_type"},
	StatusProhibited:        {"ESME_RPROHIBITED", "ESME prohibited from using specified operation"},
	StatusSerTypUnavail:     {"ESME_RSERTYPUNAVAIL", "specified service_type is unavailable"},
	StatusSerTypDenied:      {"ESME_RSERTYPDENIED", "specified service_type is denied"},
	StatusInvDCS:            {"ESME_RINVDCS", "invalid data coding scheme"},
	StatusInvSrcAddrSubunit: {"ESME_RINVSRCADDRSUBUNIT", "source address sub unit is invalid"},
	StatusInvDstAddrSubunit: {"ESME_RINVDSTADDRSUBUNIT", "destination address sub unit is invalid"},
	StatusInvBcastFreqInt:   {"ESME_RINVBCASTFREQINT", "broadcast frequency interval is invalid"},
	StatusInvBcastAliasName: {"ESME_RINVBCASTALIAS_NAME", "broadcast alias name is invalid"},
	StatusInvBcastAreaFmt:   {"ESME_RINVBCASTAREAFMT", "broadcast area format is invalid"},
	StatusInvNumBcastAreas:  {"ESME_RINVNUMBCAST_AREAS", "number of broadcast areas is invalid"},
	StatusInvBcastCntTyp:    {"ESME_RINVBCASTCNTTYPE", "broadcast content type is invalid"},
	StatusInvBcastMsgClass:  {"ESME_RINVBCASTMSGCLASS", "broadcast message class is invalid"},
	StatusBcastFail:         {"ESME_RBCASTFAIL", "broadcast_sm operation failed"},
	StatusBcastQueryFail:    {"ESME_RBCASTQUERYFAIL", "query_broadcast_sm operation failed"},
	StatusBcastCancelFail:   {"ESME_RBCASTCANCELFAIL", "cancel_broadcast_sm operation failed"},
	StatusInvBcastRep:       {"ESME_RINVBCAST_REP", "number of repeated broadcasts is invalid"},
	StatusInvBcastSrvGrp:    {"ESME_RINVBCASTSRVGRP", "broadcast service group is invalid"},
	StatusInvBcastChanInd:   {"ESME_RINVBCASTCHANIND", "broadcast channel indicator is invalid"},
}

// Name is the status's name in the specification, e.g. "ESME_RTHROTTLED".
// Vendor-specific (0x400-0x4FF) and unknown values get a generic name.
func (s Status) Name() string {
	if i, ok := statusTable[s]; ok {
		return i.name
	}
	if s >= 0x400 && s <= 0x4FF {
		return fmt.Sprintf("vendor-specific 0x%08X", uint32(s))
	}
	return fmt.Sprintf("reserved 0x%08X", uint32(s))
}

// Meaning is the specification's description of the status.
func (s Status) Meaning() string {
	if i, ok := statusTable[s]; ok {
		return i.meaning
	}
	if s >= 0x400 && s <= 0x4FF {
		return "SMSC vendor-specific error"
	}
	return "reserved or unknown error"
}

func (s Status) String() string { return s.Name() }

// Temporary reports whether the status reports a condition that may clear
// by itself, so that the same request may succeed later: throttling, a full
// queue, a system error, a temporary application error at the receiver.
func (s Status) Temporary() bool {
	switch s {
	case StatusThrottled, StatusMsgQFul, StatusSysErr, StatusXTAppn, StatusDeliveryFailure, StatusSerTypUnavail:
		return true
	}
	return false
}

// Throttling reports whether the status says the peer is overloaded as a
// whole (ESME_RTHROTTLED, ESME_RMSGQFUL): every request, not only this
// one, should wait. The other temporary statuses concern one request.
func (s Status) Throttling() bool { return s == StatusThrottled || s == StatusMsgQFul }

// StatusError is a peer's refusal: a response whose command_status is not
// ESME_ROK. Test for it with errors.As.
type StatusError struct {
	Command CommandID // the request's command
	Status  Status
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("smpp: %s refused: %s (0x%08X, %s)", e.Command, e.Status.Name(), uint32(e.Status), e.Status.Meaning())
}

// Temporary reports whether retrying the same request later may succeed.
func (e *StatusError) Temporary() bool { return e.Status.Temporary() }
