package smpp

import (
	"errors"
	"fmt"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// State is where a session is in SMPP's bind state machine (SMPP 3.4
// section 2.3).
type State int

// Session states.
const (
	StateOpen     State = iota // connected, not bound
	StateBoundTX               // bound as a transmitter
	StateBoundRX               // bound as a receiver
	StateBoundTRX              // bound as a transceiver
	StateUnbound               // unbind sent or received
	StateClosed                // connection closed
)

func (s State) String() string {
	return [...]string{"OPEN", "BOUND_TX", "BOUND_RX", "BOUND_TRX", "UNBOUND", "CLOSED"}[s]
}

// ErrState is returned (wrapped) for a request the session's state does
// not allow; nothing is sent.
var ErrState = errors.New("smpp: request not allowed in this bind state")

// The operation matrix of SMPP 3.4 (2.3) and 5.0 (2.4): which requests
// each side may send in which state.

func bound(s State) bool     { return s == StateBoundTX || s == StateBoundRX || s == StateBoundTRX }
func transmits(s State) bool { return s == StateBoundTX || s == StateBoundTRX }
func receives(s State) bool  { return s == StateBoundRX || s == StateBoundTRX }

// canSend reports whether an ESME in state s may send request id (and an
// SMSC take it).
func canSend(s State, id pdu.CommandID) bool {
	switch id {
	case pdu.BindTransmitterID, pdu.BindReceiverID, pdu.BindTransceiverID:
		return s == StateOpen
	case pdu.EnquireLinkID: // 5.0: also before the bind
		return s == StateOpen || bound(s)
	case pdu.UnbindID:
		return bound(s)
	case pdu.SubmitSMID, pdu.SubmitMultiID, pdu.DataSMID, pdu.QuerySMID, pdu.CancelSMID, pdu.ReplaceSMID,
		pdu.BroadcastSMID, pdu.QueryBroadcastSMID, pdu.CancelBroadcastSMID:
		return transmits(s)
	}
	return false // deliver_sm, outbind, alert_notification: the SMSC's; and unknown commands
}

// canReceive reports whether an ESME in state s may take request id from
// the SMSC.
func canReceive(s State, id pdu.CommandID) bool {
	switch id {
	case pdu.EnquireLinkID:
		return s == StateOpen || bound(s)
	case pdu.UnbindID:
		return bound(s)
	case pdu.DeliverSMID, pdu.DataSMID, pdu.AlertNotificationID:
		return receives(s)
	case pdu.OutbindID:
		return s == StateOpen
	}
	return false
}

// refusalStatus is the status that refuses request id, which the
// receiving side does not take in state s (fromESME: the receiver is an
// SMSC): ESME_RINVCMDID for a command unknown or never sent that way
// (an ESME's deliver_sm), ESME_RALYBND for a bind on a bound session,
// ESME_RINVBNDSTS for a command of the wrong state.
func refusalStatus(s State, id pdu.CommandID, fromESME bool) pdu.Status {
	switch {
	case !id.Known():
		return pdu.StatusInvCmdID
	case (id == pdu.BindTransmitterID || id == pdu.BindReceiverID || id == pdu.BindTransceiverID) && fromESME && bound(s):
		return pdu.StatusAlyBnd
	}
	for _, st := range []State{StateOpen, StateBoundTX, StateBoundRX, StateBoundTRX} {
		if fromESME && canSend(st, id) || !fromESME && canReceive(st, id) {
			return pdu.StatusInvBndSts // a command of this side, in the wrong state
		}
	}
	return pdu.StatusInvCmdID
}

func stateError(s State, id pdu.CommandID) error {
	return fmt.Errorf("%w: %s in %s", ErrState, id, s)
}

func boundState(m BindMode) State {
	switch m {
	case Transmitter:
		return StateBoundTX
	case Receiver:
		return StateBoundRX
	}
	return StateBoundTRX
}
