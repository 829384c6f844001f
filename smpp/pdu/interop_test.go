package pdu_test

// Byte-for-byte cross-checks against github.com/fiorix/go-smpp's encoder
// and decoder for the PDUs it supports. fiorix is unmaintained and is used
// here only, in tests; it is not a dependency of the package.

import (
	"bytes"
	"testing"

	fpdu "github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

type kv struct {
	k pdufield.Name
	v any
}

func fiorix(t *testing.T, body fpdu.Body, seq uint32, status uint32, fields ...kv) []byte {
	t.Helper()
	body.Header().Seq = seq
	body.Header().Status = fpdu.Status(status)
	for _, f := range fields {
		require.NoError(t, body.Fields().Set(f.k, f.v))
	}
	var b bytes.Buffer
	require.NoError(t, body.SerializeTo(&b))
	return b.Bytes()
}

func TestFiorixInterop(t *testing.T) {
	msg := []byte("hola, ¿qué tal?")
	// fiorixBugs: PDUs for which fiorix's encoder is wrong; only its
	// decoder is checked against our bytes.
	fiorixBugs := map[string]string{
		"deliver_sm": "its deliver_sm always writes a UDH length octet (0x00) after sm_length, even without UDHI",
	}
	cases := []struct {
		name   string
		ours   pdu.PDU
		theirs func(t *testing.T) []byte
	}{
		{"bind_transmitter", &pdu.BindTransmitter{Header: pdu.Header{Sequence: 1}, SystemID: "acme", Password: "secret",
			SystemType: "VMA", InterfaceVersion: pdu.Version34, AddrTON: 1, AddrNPI: 1, AddressRange: "^584"},
			func(t *testing.T) []byte {
				return fiorix(t, fpdu.NewBindTransmitter(), 1, 0, kv{pdufield.SystemID, "acme"}, kv{pdufield.Password, "secret"},
					kv{pdufield.SystemType, "VMA"}, kv{pdufield.InterfaceVersion, uint8(0x34)}, kv{pdufield.AddrTON, uint8(1)},
					kv{pdufield.AddrNPI, uint8(1)}, kv{pdufield.AddressRange, "^584"})
			}},
		{"bind_receiver", (*pdu.BindReceiver)(&pdu.BindTransmitter{Header: pdu.Header{Sequence: 2}, SystemID: "acme",
			Password: "pw", InterfaceVersion: pdu.Version34}),
			func(t *testing.T) []byte {
				return fiorix(t, fpdu.NewBindReceiver(), 2, 0, kv{pdufield.SystemID, "acme"}, kv{pdufield.Password, "pw"},
					kv{pdufield.InterfaceVersion, uint8(0x34)})
			}},
		{"bind_transceiver", (*pdu.BindTransceiver)(&pdu.BindTransmitter{Header: pdu.Header{Sequence: 3}, SystemID: "acme",
			Password: "pw", InterfaceVersion: pdu.Version34}),
			func(t *testing.T) []byte {
				return fiorix(t, fpdu.NewBindTransceiver(), 3, 0, kv{pdufield.SystemID, "acme"}, kv{pdufield.Password, "pw"},
					kv{pdufield.InterfaceVersion, uint8(0x34)})
			}},
		{"bind_transmitter_resp", &pdu.BindTransmitterResp{Header: pdu.Header{Sequence: 1}, SystemID: "SMSC"},
			func(t *testing.T) []byte {
				return fiorix(t, fpdu.NewBindTransmitterResp(), 1, 0, kv{pdufield.SystemID, "SMSC"})
			}},
		{"submit_sm", &pdu.SubmitSM{Header: pdu.Header{Sequence: 7}, ServiceType: "CMT", SourceAddrTON: 5,
			SourceAddr: "ACME", DestAddrTON: 1, DestAddrNPI: 1, DestinationAddr: "584121234567", ProtocolID: 0,
			PriorityFlag: 1, ValidityPeriod: "000001000000000R", RegisteredDelivery: 1, ShortMessage: msg},
			func(t *testing.T) []byte {
				return fiorix(t, fpdu.NewSubmitSM(nil), 7, 0, kv{pdufield.ServiceType, "CMT"},
					kv{pdufield.SourceAddrTON, uint8(5)}, kv{pdufield.SourceAddr, "ACME"}, kv{pdufield.DestAddrTON, uint8(1)},
					kv{pdufield.DestAddrNPI, uint8(1)}, kv{pdufield.DestinationAddr, "584121234567"},
					kv{pdufield.PriorityFlag, uint8(1)}, kv{pdufield.ValidityPeriod, "000001000000000R"},
					kv{pdufield.RegisteredDelivery, uint8(1)}, kv{pdufield.ShortMessage, pdutext.Raw(msg)})
			}},
		{"submit_sm_resp", &pdu.SubmitSMResp{Header: pdu.Header{Sequence: 7}, MessageID: "0A1B2C"},
			func(t *testing.T) []byte {
				return fiorix(t, fpdu.NewSubmitSMResp(), 7, 0, kv{pdufield.MessageID, "0A1B2C"})
			}},
		{"deliver_sm", &pdu.DeliverSM{Header: pdu.Header{Sequence: 9}, SourceAddrTON: 1, SourceAddrNPI: 1,
			SourceAddr: "584121234567", DestinationAddr: "1234", ESMClass: 4, ShortMessage: msg},
			func(t *testing.T) []byte {
				return fiorix(t, fpdu.NewDeliverSM(), 9, 0, kv{pdufield.SourceAddrTON, uint8(1)},
					kv{pdufield.SourceAddrNPI, uint8(1)}, kv{pdufield.SourceAddr, "584121234567"},
					kv{pdufield.DestinationAddr, "1234"}, kv{pdufield.ESMClass, uint8(4)},
					kv{pdufield.ShortMessage, pdutext.Raw(msg)})
			}},
		{"deliver_sm_resp", &pdu.DeliverSMResp{Header: pdu.Header{Sequence: 9}},
			func(t *testing.T) []byte { return fiorix(t, fpdu.NewDeliverSMResp(), 9, 0) }},
		{"query_sm", &pdu.QuerySM{Header: pdu.Header{Sequence: 12}, MessageID: "0A1B2C", SourceAddrTON: 5, SourceAddr: "ACME"},
			func(t *testing.T) []byte {
				return fiorix(t, fpdu.NewQuerySM(), 12, 0, kv{pdufield.MessageID, "0A1B2C"},
					kv{pdufield.SourceAddrTON, uint8(5)}, kv{pdufield.SourceAddr, "ACME"})
			}},
		{"query_sm_resp", &pdu.QuerySMResp{Header: pdu.Header{Sequence: 12}, MessageID: "0A1B2C",
			FinalDate: "261122103100000+", MessageState: pdu.StateDelivered},
			func(t *testing.T) []byte {
				return fiorix(t, fpdu.NewQuerySMResp(), 12, 0, kv{pdufield.MessageID, "0A1B2C"},
					kv{pdufield.FinalDate, "261122103100000+"}, kv{pdufield.MessageState, uint8(2)})
			}},
		{"unbind", &pdu.Unbind{Header: pdu.Header{Sequence: 4}},
			func(t *testing.T) []byte { return fiorix(t, fpdu.NewUnbind(), 4, 0) }},
		{"unbind_resp", &pdu.UnbindResp{Header: pdu.Header{Sequence: 4}},
			func(t *testing.T) []byte { return fiorix(t, fpdu.NewUnbindResp(), 4, 0) }},
		{"enquire_link", &pdu.EnquireLink{Header: pdu.Header{Sequence: 5}},
			func(t *testing.T) []byte { return fiorix(t, fpdu.NewEnquireLink(), 5, 0) }},
		{"enquire_link_resp", &pdu.EnquireLinkResp{Header: pdu.Header{Sequence: 5}},
			func(t *testing.T) []byte { return fiorix(t, fpdu.NewEnquireLinkResp(), 5, 0) }},
		{"generic_nack", &pdu.GenericNack{Header: pdu.Header{Status: pdu.StatusInvCmdID, Sequence: 6}},
			func(t *testing.T) []byte { return fiorix(t, fpdu.NewGenericNACK(), 6, 3) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ours, err := c.ours.Encode(nil)
			require.NoError(t, err)
			fb, err := fpdu.Decode(bytes.NewReader(ours))
			require.NoError(t, err, "fiorix cannot decode ours")
			require.Equal(t, uint32(c.ours.CommandID()), uint32(fb.Header().ID), "fiorix read %v", fb.Header())
			require.Equal(t, c.ours.Hdr().Sequence, fb.Header().Seq, "fiorix read %v", fb.Header())
			if sm, ok := c.ours.(*pdu.DeliverSM); ok {
				got := fb.Fields()[pdufield.ShortMessage].Bytes()
				require.True(t, bytes.Equal(got, sm.ShortMessage), "fiorix read short_message %q", got)
			}
			theirs := c.theirs(t)
			if bug := fiorixBugs[c.name]; bug != "" {
				assert.False(t, bytes.Equal(ours, theirs), "fiorix no longer has the bug %q: compare the bytes again", bug)
				return
			}
			require.True(t, bytes.Equal(ours, theirs), "encodings differ:\n ours   %x\n fiorix %x", ours, theirs)
			// Each decoder reads the other's bytes.
			p, err := pdu.Decode(theirs)
			require.NoError(t, err, "decoding fiorix's bytes")
			again, _ := p.Encode(nil)
			assert.True(t, bytes.Equal(again, theirs), "fiorix's bytes decode to something else: %x", again)
		})
	}
}
