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

// canSend reports whether an ESME in state s may send request id.
func canSend(s State, id pdu.CommandID) bool {
	switch id {
	case pdu.BindTransmitterID, pdu.BindReceiverID, pdu.BindTransceiverID:
		return s == StateOpen
	case pdu.EnquireLinkID, pdu.UnbindID:
		return s == StateBoundTX || s == StateBoundRX || s == StateBoundTRX
	}
	// submit_sm, submit_multi, data_sm, query_sm, cancel_sm, replace_sm,
	// and the broadcast operations need a transmitting bind.
	return s == StateBoundTX || s == StateBoundTRX
}

// canReceive reports whether an ESME in state s may receive request id
// from the SMSC; otherwise it answers ESME_RINVBNDSTS.
func canReceive(s State, id pdu.CommandID) bool {
	switch id {
	case pdu.EnquireLinkID, pdu.UnbindID:
		return s == StateBoundTX || s == StateBoundRX || s == StateBoundTRX
	case pdu.DeliverSMID, pdu.DataSMID, pdu.AlertNotificationID:
		return s == StateBoundRX || s == StateBoundTRX
	case pdu.OutbindID:
		return s == StateOpen
	}
	return false
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
