package pdu

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStreamRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	all := samples()
	names := sortedNames(all)
	for _, n := range names {
		require.NoError(t, w.Write(all[n]), n)
	}
	require.Equal(t, 0, buf.Len(), "Writer wrote before Flush")
	require.NotEqual(t, 0, w.Buffered(), "nothing buffered")
	require.NoError(t, w.Flush())
	r := NewReader(&buf, 0)
	for _, n := range names {
		p, err := r.Read()
		require.NoError(t, err, n)
		require.Equal(t, all[n].CommandID(), p.CommandID(), n)
		require.Equal(t, all[n].Hdr().Sequence, p.Hdr().Sequence, n)
	}
	_, err := r.Read()
	assert.Same(t, io.EOF, err, "after the last PDU: %v, want io.EOF", err)
}

func TestStreamErrors(t *testing.T) {
	good, _ := (&EnquireLink{Header: Header{Sequence: 1}}).Encode(nil)
	unknown := []byte{0, 0, 0, 16, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 2}

	// An unknown command is answered and the stream goes on.
	r := NewReader(bytes.NewReader(append(append(append([]byte{}, good...), unknown...), good...)), 0)
	_, err := r.Read()
	require.NoError(t, err)
	_, err = r.Read()
	var de *DecodeError
	require.ErrorAs(t, err, &de, "unknown command")
	assert.False(t, de.Fatal, "unknown command: %v", err)
	assert.True(t, de.Nack, "unknown command: %v", err)
	assert.Equal(t, StatusInvCmdID, de.Status, "unknown command: %v", err)
	assert.Equal(t, uint32(2), de.Sequence, "unknown command: %v", err)
	_, err = r.Read()
	require.NoError(t, err, "after an unknown command")

	// A huge command_length is refused before anything is allocated for it.
	huge := []byte{0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 5}
	r = NewReader(bytes.NewReader(huge), 1024)
	_, err = r.Read()
	require.ErrorAs(t, err, &de, "huge length")
	assert.True(t, de.Fatal, "huge length: %v", err)
	assert.Equal(t, StatusInvCmdLen, de.Status, "huge length: %v", err)
	assert.Equal(t, SubmitSMID, de.Command, "huge length: %v", err)
	assert.Equal(t, uint32(5), de.Sequence, "huge length: %v", err)
	assert.LessOrEqual(t, cap(r.buf), 1024, "octets allocated for a refused PDU")

	// command_length below the header size.
	r = NewReader(bytes.NewReader([]byte{0, 0, 0, 3, 1, 2, 3}), 0)
	_, err = r.Read()
	require.ErrorAs(t, err, &de, "length 3")
	assert.True(t, de.Fatal, "length 3: %v", err)

	// End of stream inside a PDU.
	r = NewReader(bytes.NewReader(good[:10]), 0)
	_, err = r.Read()
	assert.Same(t, io.ErrUnexpectedEOF, err, "truncated PDU: %v", err)
	r = NewReader(bytes.NewReader(good[:2]), 0)
	_, err = r.Read()
	assert.Same(t, io.ErrUnexpectedEOF, err, "truncated length: %v", err)

	// An encoding error writes nothing.
	var buf bytes.Buffer
	w := NewWriter(&buf)
	assert.Error(t, w.Write(&SubmitSM{SourceAddr: string(make([]byte, 30))}), "bad PDU written")
	assert.Equal(t, 0, w.Buffered(), "a failed Write left octets in the buffer")
}

func TestStatusAndCommandNames(t *testing.T) {
	assert.Equal(t, "ESME_RTHROTTLED", StatusThrottled.Name())
	assert.True(t, StatusThrottled.Temporary(), "throttled not temporary")
	assert.False(t, StatusInvDstAdr.Temporary(), "invalid destination temporary")
	assert.Equal(t, "vendor-specific 0x00000400", Status(0x400).Name())
	err := error(&StatusError{Command: SubmitSMID, Status: StatusMsgQFul})
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.True(t, se.Temporary(), "StatusError not temporary")
	assert.NotEqual(t, "", se.Error(), "StatusError without text")
	assert.Equal(t, SubmitSMRespID, SubmitSMID.Response())
	assert.True(t, SubmitSMRespID.IsResponse(), "submit_sm_resp not a response")
	assert.False(t, OutbindID.HasResponse(), "outbind has a response")
	assert.True(t, SubmitSMID.HasResponse(), "submit_sm without a response")
	assert.False(t, CommandID(0x77).Known(), "0x77 known")
	assert.Equal(t, "data_sm", DataSMID.String())
	assert.Equal(t, "message_payload", TagMessagePayload.String())
	assert.Equal(t, "vendor TLV 0x1400", Tag(0x1400).String())
}

// PDUs larger than the reader's buffer are read whole too, between small
// ones read in place.
func TestReaderLargePDU(t *testing.T) {
	small := &EnquireLink{Header: Header{Sequence: 1}}
	big := &DataSM{Header: Header{Sequence: 2}, SourceAddr: "1", DestinationAddr: "2"}
	big.TLVs.SetMessagePayload(bytes.Repeat([]byte{'x'}, 65535))
	var stream []byte
	for _, p := range []PDU{small, big, small, big, small} {
		var err error
		stream, err = p.Encode(stream)
		require.NoError(t, err)
	}
	r := NewReader(bytes.NewReader(stream), 0)
	for i, want := range []CommandID{EnquireLinkID, DataSMID, EnquireLinkID, DataSMID, EnquireLinkID} {
		p, err := r.Read()
		require.NoError(t, err, "PDU %d", i)
		require.Equal(t, want, p.CommandID(), "PDU %d", i)
		if d, ok := p.(*DataSM); ok {
			pl, _ := d.TLVs.MessagePayload()
			require.Equal(t, 65535, len(pl), "payload octets")
		}
	}
	_, err := r.Read()
	assert.Same(t, io.EOF, err, "at the end: %v", err)
}
