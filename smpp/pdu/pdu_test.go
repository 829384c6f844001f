package pdu

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the encoder")

func sortedNames(m map[string]PDU) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestRoundTrip: every PDU encodes, decodes to an equal value, and encodes
// again to the same bytes.
func TestRoundTrip(t *testing.T) {
	all := samples()
	seen := map[CommandID]bool{}
	for _, name := range sortedNames(all) {
		p := all[name]
		t.Run(name, func(t *testing.T) {
			b, err := p.Encode(nil)
			require.NoError(t, err)
			q, err := Decode(b)
			require.NoError(t, err)
			require.Equal(t, p.CommandID(), q.CommandID(), "decoded command")
			require.True(t, reflect.DeepEqual(normalize(p), normalize(q)), "round trip differs:\n got %#v\nwant %#v", q, p)
			b2, err := q.Encode(nil)
			require.NoError(t, err)
			require.True(t, bytes.Equal(b, b2), "re-encoding differs:\n%x\n%x", b, b2)
			// Appending to a non-empty buffer keeps what was there.
			prefix := []byte("xyz")
			b3, err := p.Encode(prefix)
			require.NoError(t, err, "Encode(prefix)")
			assert.True(t, bytes.Equal(b3[:3], []byte("xyz")), "Encode(prefix) = %x: prefix lost", b3)
			assert.True(t, bytes.Equal(b3[3:], b), "Encode(prefix) = %x: body differs", b3)
		})
		seen[p.CommandID()] = true
	}
	for id := range commandNames {
		assert.True(t, seen[id], "no sample of %s", id)
	}
}

// normalize makes nil and empty slices compare equal.
func normalize(p PDU) any {
	v := reflect.ValueOf(p).Elem()
	out := reflect.New(v.Type()).Elem()
	out.Set(v)
	for i := 0; i < out.NumField(); i++ {
		f := out.Field(i)
		if f.Kind() == reflect.Slice && f.Len() == 0 && f.CanSet() {
			f.Set(reflect.Zero(f.Type()))
		}
		if f.Type() == reflect.TypeOf(TLVs{}) && f.FieldByName("raw").Len() == 0 {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return out.Interface()
}

// TestGolden compares every sample's encoding with testdata/golden. The
// files for submit_sm, deliver_sm, bind_transmitter, submit_sm_resp and
// enquire_link were written by hand from the specification's layouts (see
// TestGoldenByHand); the others pin the encoding against regressions.
func TestGolden(t *testing.T) {
	all := samples()
	for _, name := range sortedNames(all) {
		b, err := all[name].Encode(nil)
		require.NoError(t, err, name)
		path := filepath.Join("testdata", "golden", name+".hex")
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			require.NoError(t, os.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o644))
			continue
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "%s (run go test -update)", name)
		assert.Equal(t, strings.TrimSpace(string(want)), hex.EncodeToString(b), name)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

// TestGoldenByHand checks encodings assembled field by field from the
// specification's tables, independently of the encoder.
func TestGoldenByHand(t *testing.T) {
	cases := []struct {
		name string
		p    PDU
		hex  string
	}{
		{"enquire_link", &EnquireLink{Header: Header{Sequence: 1}},
			"00000010 00000015 00000000 00000001"},
		{"submit_sm_resp", &SubmitSMResp{Header: Header{Sequence: 2}, MessageID: "abc"},
			"00000014 80000004 00000000 00000002 61626300"},
		{"submit_sm_resp error without body", &SubmitSMResp{Header: Header{Status: StatusThrottled, Sequence: 2}},
			"00000010 80000004 00000058 00000002"},
		{"bind_transmitter", &BindTransmitter{Header: Header{Sequence: 1}, SystemID: "acme", Password: "pw",
			InterfaceVersion: Version34},
			"0000001d 00000002 00000000 00000001" + // header; 29 octets in all
				"61636d6500" + "707700" + "00" + // system_id, password, system_type
				"34" + "00" + "00" + "00"}, // interface_version, addr_ton, addr_npi, address_range
		{"submit_sm", &SubmitSM{Header: Header{Sequence: 5}, SourceAddrTON: 5, SourceAddr: "AB", DestAddrTON: 1,
			DestAddrNPI: 1, DestinationAddr: "5841", RegisteredDelivery: 1, ShortMessage: []byte("hi")},
			"00000029 00000004 00000000 00000005" +
				"00" + "05" + "00" + "414200" + // service_type, source ton, npi, addr
				"01" + "01" + "3538343100" + // dest ton, npi, addr
				"00" + "00" + "00" + "00" + "00" + // esm_class, protocol_id, priority, schedule, validity
				"01" + "00" + "00" + "00" + // registered_delivery, replace, data_coding, default_msg_id
				"02" + "6869"}, // sm_length, short_message
		{"deliver_sm with TLV", &DeliverSM{Header: Header{Sequence: 6}, ESMClass: 4, TLVs: func() TLVs {
			var t TLVs
			t.SetMessageState(StateDelivered)
			return t
		}()},
			"00000026 00000005 00000000 00000006" +
				"00" + "00" + "00" + "00" + "00" + "00" + "00" +
				"04" + "00" + "00" + "00" + "00" + "00" + "00" + "00" + "00" + "00" +
				"0427 0001 02"}, // message_state = DELIVERED
	}
	for _, c := range cases {
		b, err := c.p.Encode(nil)
		require.NoError(t, err, c.name)
		want := unhex(t, c.hex)
		assert.True(t, bytes.Equal(b, want), "%s:\n got %x\nwant %x", c.name, b, want)
		q, err := Decode(b)
		require.NoError(t, err, c.name)
		assert.True(t, reflect.DeepEqual(normalize(q), normalize(c.p)), "%s: decode = %#v", c.name, q)
	}
}

func decodeErr(t *testing.T, b []byte) *DecodeError {
	t.Helper()
	_, err := Decode(b)
	var de *DecodeError
	require.ErrorAs(t, err, &de, "Decode(%x)", b)
	return de
}

// TestMalformed: each kind of bad input gives the status the session must
// answer with, and says whether the stream can go on.
func TestMalformed(t *testing.T) {
	good, _ := samples()["submit_sm"].Encode(nil)
	patch := func(b []byte, at int, v ...byte) []byte {
		c := append([]byte(nil), b...)
		copy(c[at:], v)
		return c
	}
	withLen := func(b []byte) []byte {
		c := append([]byte(nil), b...)
		n := len(c)
		c[0], c[1], c[2], c[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return c
	}
	hdr := func(id CommandID, body ...byte) []byte {
		b := []byte{0, 0, 0, 0, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id), 0, 0, 0, 0, 0, 0, 0, 9}
		return withLen(append(b, body...))
	}
	long := bytes.Repeat([]byte("1"), 30)
	cases := []struct {
		name        string
		in          []byte
		status      Status
		nack, fatal bool
		field       string
	}{
		{"short header", good[:10], StatusInvCmdLen, true, true, ""},
		{"length below 16", patch(good, 0, 0, 0, 0, 8), StatusInvCmdLen, true, true, ""},
		{"length beyond data", patch(good, 0, 0, 0, 1, 0), StatusInvCmdLen, true, true, ""},
		{"length short of data", patch(good, 0, 0, 0, 0, 20), StatusInvCmdLen, true, false, ""},
		{"unknown command", hdr(0x00000077), StatusInvCmdID, true, false, ""},
		{"body ends in a field", hdr(SubmitSMID, 0, 1, 1), StatusInvCmdLen, false, false, "source_addr"},
		{"source_addr too long", hdr(SubmitSMID, append(append([]byte{0, 1, 1}, long...), 0)...), StatusInvSrcAdr, false, false, "source_addr"},
		{"system_id too long", hdr(BindTransmitterID, append(long, 0)...), StatusInvSysID, false, false, "system_id"},
		{"bad schedule time", withLen(append(append(append([]byte(nil), good[:16+3+5+3+13+3]...), []byte("2611221030000000X\x00")...), good[16+3+5+3+13+3+17:]...)), StatusInvSched, false, false, "schedule_delivery_time"},
		{"sm_length beyond body", withLen(append(append([]byte(nil), good[:len(good)-len(samples()["submit_sm"].(*SubmitSM).TLVs.raw)-9]...), 200, 1, 2)), StatusInvMsgLen, false, false, "short_message"},
		{"truncated TLV", withLen(append(append([]byte(nil), good...), 0x02, 0x04, 0x00)), StatusInvTLVStream, false, false, "TLVs"},
		{"TLV past the end", withLen(append(append([]byte(nil), good...), 0x02, 0x04, 0x00, 0x09, 1)), StatusInvTLVStream, false, false, "TLVs"},
		{"TLV wrong length", withLen(append(append([]byte(nil), good...), 0x02, 0x0C, 0x00, 0x01, 1)), StatusInvTLVLen, false, false, "TLVs"},
		{"trailing octets", hdr(EnquireLinkID, 1), StatusInvCmdLen, false, false, ""},
		{"too many dests", hdr(SubmitMultiID, 0, 0, 0, 0, 255), StatusInvNumDests, false, false, "number_of_dests"},
		{"dests beyond body", hdr(SubmitMultiID, 0, 0, 0, 0, 200, 1, 1, 1, 0), StatusInvNumDests, false, false, "number_of_dests"},
		{"bad dest flag", hdr(SubmitMultiID, 0, 0, 0, 0, 1, 7, 0, 0), StatusInvDestFlag, false, false, "dest_flag"},
		{"broadcast without area", hdr(BroadcastSMID, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), StatusMissingTLV, false, false, "broadcast_area_identifier"},
		{"outbind has no response: nack", hdr(OutbindID, 1, 2, 3), StatusInvCmdLen, true, false, "system_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			de := decodeErr(t, c.in)
			assert.Equal(t, c.status, de.Status, "status %s, want %s (%v)", de.Status.Name(), c.status.Name(), de)
			assert.Equal(t, c.nack, de.Nack, "nack (%v)", de)
			assert.Equal(t, c.fatal, de.Fatal, "fatal (%v)", de)
			assert.Equal(t, c.field, de.Field, "field (%v)", de)
		})
	}
}

func TestEncodeFieldRules(t *testing.T) {
	cases := []struct {
		name  string
		p     PDU
		field string
	}{
		{"system_id 16", &BindTransmitter{SystemID: strings.Repeat("x", 16)}, "system_id"},
		{"password 9", &BindTransmitter{Password: "123456789"}, "password"},
		{"service_type 6", &SubmitSM{ServiceType: "ABCDEF"}, "service_type"},
		{"source_addr 21", &SubmitSM{SourceAddr: strings.Repeat("1", 21)}, "source_addr"},
		{"data_sm addr 65", &DataSM{DestinationAddr: strings.Repeat("1", 65)}, "destination_addr"},
		{"message_id 65", &QuerySM{MessageID: strings.Repeat("a", 65)}, "message_id"},
		{"NUL inside", &SubmitSM{SourceAddr: "a\x00b"}, "source_addr"},
		{"short_message 255", &SubmitSM{ShortMessage: make([]byte, 255)}, "short_message"},
		{"bad validity", &SubmitSM{ValidityPeriod: "tomorrow"}, "validity_period"},
		{"absolute out of range", &SubmitSM{ScheduleDeliveryTime: "261322103000000+"}, "schedule_delivery_time"},
		{"no dests", &SubmitMulti{}, "number_of_dests"},
		{"bad TLV value length", &SubmitSM{TLVs: func() TLVs { var t TLVs; t.Set(TagSARMsgRefNum, []byte{1}); return t }()}, "TLVs"},
		{"broadcast mandatory", &BroadcastSM{}, "broadcast_area_identifier"},
	}
	for _, c := range cases {
		out, err := c.p.Encode([]byte("keep"))
		var fe *FieldError
		if !assert.ErrorAs(t, err, &fe, "%s: want a FieldError on %s", c.name, c.field) ||
			!assert.Equal(t, c.field, fe.Field, "%s: FieldError on the wrong field (%v)", c.name, err) {
			continue
		}
		assert.Equal(t, "keep", string(out), "%s: dst changed on error", c.name)
	}
	// The limits themselves are accepted.
	ok := []PDU{
		&BindTransmitter{SystemID: strings.Repeat("x", 15), Password: "12345678", SystemType: strings.Repeat("t", 12)},
		&SubmitSM{ServiceType: "ABCDE", SourceAddr: strings.Repeat("1", 20), ShortMessage: make([]byte, 254)},
		&DataSM{DestinationAddr: strings.Repeat("1", 64)},
	}
	for _, p := range ok {
		_, err := p.Encode(nil)
		assert.NoError(t, err, "%T at the limits", p)
	}
}

func TestAllocations(t *testing.T) {
	s := samples()["submit_sm"]
	d := samples()["deliver_sm"]
	buf := make([]byte, 0, 512)
	for _, p := range []PDU{s, d} {
		n := testing.AllocsPerRun(100, func() { p.Encode(buf[:0]) })
		assert.Equal(t, float64(0), n, "%s Encode: allocations", p.CommandID())
		b, _ := p.Encode(nil)
		into := newPDU(p.CommandID())
		n = testing.AllocsPerRun(100, func() { into.Decode(b) })
		assert.LessOrEqual(t, n, float64(1), "%s Decode: allocations", p.CommandID())
	}
}

// TestDecodeOwnsItsData: the caller's buffer can be reused after Decode.
func TestDecodeOwnsItsData(t *testing.T) {
	b, _ := samples()["submit_sm"].Encode(nil)
	var p SubmitSM
	require.NoError(t, p.Decode(b))
	for i := range b {
		b[i] = 0xFF
	}
	require.Equal(t, "584121234567", p.DestinationAddr, "decoded PDU changed with the input buffer")
	require.Equal(t, byte(0x05), p.ShortMessage[0], "decoded PDU changed with the input buffer")
	// Appending to ShortMessage must not overwrite the fields after it.
	before, _ := p.TLVs.SARMsgRefNum()
	_ = append(p.ShortMessage, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE)
	after, _ := p.TLVs.SARMsgRefNum()
	assert.Equal(t, before, after, "append to ShortMessage overwrote the TLVs")
}
