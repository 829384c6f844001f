package smpp

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// The operation matrix of SMPP 5.0 section 2.4 (3.4 section 2.3 with
// enquire_link also allowed before the bind): for each request, the
// states in which an SMSC takes it from an ESME, and in which an ESME
// takes it from an SMSC ("" never), and the refusal otherwise.
func TestOperationMatrix(t *testing.T) {
	const (
		O = "O" // OPEN
		T = "T" // BOUND_TX
		R = "R" // BOUND_RX
		X = "X" // BOUND_TRX
	)
	states := map[string]State{O: StateOpen, T: StateBoundTX, R: StateBoundRX, X: StateBoundTRX}
	for _, tc := range []struct {
		id              pdu.CommandID
		fromESME, toESM string
	}{
		{pdu.BindTransmitterID, O, ""},
		{pdu.BindReceiverID, O, ""},
		{pdu.BindTransceiverID, O, ""},
		{pdu.OutbindID, "", O},
		{pdu.UnbindID, T + R + X, T + R + X},
		{pdu.EnquireLinkID, O + T + R + X, O + T + R + X},
		{pdu.SubmitSMID, T + X, ""},
		{pdu.SubmitMultiID, T + X, ""},
		{pdu.DataSMID, T + X, R + X},
		{pdu.QuerySMID, T + X, ""},
		{pdu.CancelSMID, T + X, ""},
		{pdu.ReplaceSMID, T + X, ""},
		{pdu.DeliverSMID, "", R + X},
		{pdu.AlertNotificationID, "", R + X},
		{pdu.BroadcastSMID, T + X, ""},
		{pdu.QueryBroadcastSMID, T + X, ""},
		{pdu.CancelBroadcastSMID, T + X, ""},
	} {
		for name, st := range states {
			inSMSC := contains(tc.fromESME, name)
			inESME := contains(tc.toESM, name)
			assert.Equal(t, inSMSC, canSend(st, tc.id), "SMSC takes %s in %s", tc.id, st)
			assert.Equal(t, inESME, canReceive(st, tc.id), "ESME takes %s in %s", tc.id, st)
			if !inSMSC {
				want := pdu.StatusInvBndSts
				switch {
				case tc.fromESME == "":
					want = pdu.StatusInvCmdID // never an ESME's request
				case name != O && tc.fromESME == O:
					want = pdu.StatusAlyBnd // a bind on a bound session
				}
				assert.Equal(t, want, refusalStatus(st, tc.id, true), "SMSC refuses %s in %s", tc.id, st)
			}
			if !inESME {
				want := pdu.StatusInvBndSts
				if tc.toESM == "" {
					want = pdu.StatusInvCmdID
				}
				assert.Equal(t, want, refusalStatus(st, tc.id, false), "ESME refuses %s in %s", tc.id, st)
			}
		}
	}
	assert.Equal(t, pdu.StatusInvCmdID, refusalStatus(StateBoundTRX, pdu.CommandID(0x77), true))
}

func contains(set, s string) bool {
	for i := range len(set) {
		if set[i:i+1] == s {
			return true
		}
	}
	return false
}
