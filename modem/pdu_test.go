package modem

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/store"
)

func split(t *testing.T, text string) (coding.DataCoding, []coding.Segment) {
	t.Helper()
	dc, segs, err := coding.Split(text, coding.SplitOptions{Ref: 0x42})
	require.NoError(t, err)
	return dc, segs
}

// The SMS-SUBMIT of the classic PDU-mode tutorials ("hellohello" to
// +46708251358, validity 4 days), octet for octet.
func TestEncodeSubmitKnownVector(t *testing.T) {
	dc, segs := split(t, "hellohello")
	subs, err := EncodeSubmit("46708251358", dc, segs, SubmitOptions{Validity: 4 * 24 * time.Hour})
	require.NoError(t, err)
	require.Len(t, subs, 1)
	assert.Equal(t, "0011000B916407281553F80000AA0AE8329BFD4697D9EC37", subs[0].Hex)
	assert.Equal(t, 23, subs[0].Length, "the TPDU without the SMSC address")
}

// What we send reads back as sent: long GSM texts in parts with their
// header and fill bits, UCS-2 with emoji, the status report bit, an
// SMSC number.
func TestSubmitRoundTrip(t *testing.T) {
	for _, text := range []string{
		"hola",
		strings.Repeat("Su cita es mañana a las 9:00 {confirme} ", 12),
		"Привет, как дела? 😀 " + strings.Repeat("ü", 80),
		strings.Repeat("x", 160),
		strings.Repeat("€", 80), // escapes: two septets each
	} {
		dc, segs := split(t, text)
		subs, err := EncodeSubmit("584141234567", dc, segs, SubmitOptions{StatusReport: true, SMSC: "+584140000001"})
		require.NoError(t, err, text)
		require.Len(t, subs, len(segs))
		var got strings.Builder
		for i, s := range subs {
			b, err := DecodeHex(s.Hex)
			require.NoError(t, err)
			require.Equal(t, len(b)-1-int(b[0]), s.Length)
			first := b[1+int(b[0])]
			assert.Equal(t, byte(0x01), first&0x03, "SMS-SUBMIT")
			assert.NotZero(t, first&0x20, "status report requested")
			assert.Equal(t, len(segs) > 1, first&0x40 != 0, "UDHI on parts only")
			// Read it back as a deliver: same layout after the address but
			// for TP-MR and the time stamp; rebuild one.
			d := submitAsDeliver(t, b)
			if len(segs) > 1 {
				assert.Equal(t, uint8(i+1), d.Concat.Seq)
				assert.Equal(t, uint8(len(segs)), d.Concat.Total)
				assert.Equal(t, uint16(0x42), d.Concat.Ref)
			}
			got.WriteString(d.Text)
		}
		assert.Equal(t, text, got.String())
	}
}

// submitAsDeliver turns our SMS-SUBMIT into the SMS-DELIVER a handset
// would get (same user data), to read it back with ParseDeliver.
func submitAsDeliver(t *testing.T, sub []byte) Deliver {
	t.Helper()
	r := &reader{b: sub}
	r.skipSCA(0)
	first := r.byte("first")
	r.byte("mr")
	digits := int(r.byte("len"))
	r.byte("toa")
	addr := r.bytes((digits+1)/2, "addr")
	pid, dcs := r.byte("pid"), r.byte("dcs")
	if first&0x18 == 0x10 {
		r.byte("vp")
	}
	require.NoError(t, r.err)
	d := []byte{0x00, first&0x40 | 0x04, byte(digits), 0x91}
	d = append(d, addr...)
	d = append(d, pid, dcs, 0x62, 0x21, 0x70, 0x01, 0x00, 0x00, 0x00)
	d = append(d, r.b...)
	out, err := ParseDeliver(d, len(d)-1)
	require.NoError(t, err)
	return out
}

// An SMS-DELIVER as modems print it (SMSC address first), from the same
// tutorials: "hellohello" from 27838890001.
func TestParseDeliverKnownVector(t *testing.T) {
	b, err := DecodeHex("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
	require.NoError(t, err)
	d, err := ParseDeliver(b, len(b)-8)
	require.NoError(t, err)
	assert.Equal(t, "27838890001", d.From)
	assert.Equal(t, "hellohello", d.Text)
	assert.Equal(t, time.Date(1999, 3, 29, 15, 16, 59, 0, time.FixedZone("", 2*3600)).Unix(), d.SCTS.Unix())
	_, off := d.SCTS.Zone()
	assert.Equal(t, 2*3600, off)
}

// Received PDUs of oFono's unit tests (unit/test-sms.c): a deliver with
// its SMSC address, one from an alphanumeric sender, and status reports
// without the address (as +CDS gives them on many modems), one to an
// international and one to a national number.
func TestParseOFonoVectors(t *testing.T) {
	b, err := DecodeHex("07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07")
	require.NoError(t, err)
	d, err := ParseDeliver(b, 30)
	require.NoError(t, err)
	assert.Equal(t, "+31641600986", d.From)
	assert.Equal(t, "How are you?", d.Text)
	assert.Equal(t, "2002-08-26T19:37:41-01:00", d.SCTS.Format(time.RFC3339))

	b, err = DecodeHex("0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9")
	require.NoError(t, err)
	d, err = ParseDeliver(b, 27)
	require.NoError(t, err)
	assert.Equal(t, "sipgate", d.From)
	assert.Equal(t, "Testmail", d.Text)
	assert.Equal(t, "2008-08-13T12:07:22+01:00", d.SCTS.Format(time.RFC3339))

	b, err = DecodeHex("06040D91945152991136F00160124130340A0160124130940A00")
	require.NoError(t, err)
	s, err := ParseStatusReport(b, 26)
	require.NoError(t, err)
	assert.Equal(t, byte(4), s.Ref)
	assert.Equal(t, "+4915259911630", s.Recipient)
	assert.Equal(t, store.TxDelivered, s.State())
	assert.Equal(t, "2010-06-21T14:03:43-05:00", s.SCTS.Format(time.RFC3339))
	b, err = DecodeHex("0606098121436587F9019012413064A0019012413045A000")
	require.NoError(t, err)
	s, err = ParseStatusReport(b, 24)
	require.NoError(t, err)
	assert.Equal(t, byte(6), s.Ref)
	assert.Equal(t, "123456789", s.Recipient)
	_, err = ParseDeliver(b, 24)
	assert.ErrorIs(t, err, ErrBadPDU, "a status report is no deliver")
}

func TestStatusStates(t *testing.T) {
	for st, want := range map[byte]store.TransmissionState{0x00: store.TxDelivered, 0x01: store.TxDelivered,
		0x20: "", 0x30: "", 0x41: store.TxUndeliverable, 0x46: store.TxExpired, 0x48: store.TxRejected,
		0x60: store.TxUndeliverable, 0x65: store.TxUndeliverable} {
		s := StatusReport{Status: st}
		assert.Equal(t, want, s.State(), "status %#x", st)
		assert.Equal(t, want != "", s.Final(), "status %#x", st)
	}
}

func TestRelativeValidity(t *testing.T) {
	for d, want := range map[time.Duration]byte{5 * time.Minute: 0, time.Hour: 11, 12 * time.Hour: 143,
		24 * time.Hour: 167, 4 * 24 * time.Hour: 170, 30 * 24 * time.Hour: 196, 5 * 7 * 24 * time.Hour: 197} {
		assert.Equal(t, want, relativeVP(d), "%v", d)
	}
}

// A long UCS-2 message from another sender may split an emoji's
// surrogate pair between two parts: the parts' payloads are joined
// before they are decoded.
func TestJoinPartsSplitSurrogate(t *testing.T) {
	// "a😀b" in UTF-16BE: 0061 D83D DE00 0062, cut inside the pair.
	p1 := Deliver{DCS: 0x08, Data: []byte{0x00, 0x61, 0xD8, 0x3D}}
	p2 := Deliver{DCS: 0x08, Data: []byte{0xDE, 0x00, 0x00, 0x62}}
	assert.Equal(t, "a😀b", joinParts([]Deliver{p1, p2}))
	// A GSM escape (€ is ESC 0x65) cut between parts.
	g1 := Deliver{DCS: 0x00, Data: []byte{'x', 0x1B}}
	g2 := Deliver{DCS: 0x00, Data: []byte{0x65, 'y'}}
	assert.Equal(t, "x€y", joinParts([]Deliver{g1, g2}))
}
