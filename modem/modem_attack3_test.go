package modem_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/modem"
	"github.com/switchboard-go/switchboard/smpp/coding"
)

// stalledConn's writes never go through (a modem that stopped reading:
// a full USB buffer, flow control held) until it is closed.
type stalledConn struct {
	net.Conn
	closed chan struct{}
}

func (s stalledConn) Write([]byte) (int, error) { <-s.closed; return 0, net.ErrClosed }
func (s stalledConn) Close() error {
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	return s.Conn.Close()
}

// A command's context bounds it even when the modem does not take what
// is written: Send with a 1 s deadline returns by then.
func TestAttack3WriteBlockedIgnoresContext(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	conn := stalledConn{a, make(chan struct{})}
	m := modem.New(conn, modem.Config{CommandTimeout: time.Second, SendTimeout: time.Second})
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := m.Send(ctx, "584141234567", "hola", 1); done <- err }()
	select {
	case err := <-done:
		assert.Error(t, err)
	case <-time.After(5 * time.Second):
		conn.Close() // release it for the test's end
		<-done
		t.Fatal("Send with a 1 s context still blocked after 5 s: the write to the modem is not bounded by ctx nor the command timeout")
	}
}

// tpDCS reads TP-DCS out of an SMS-SUBMIT PDU written for AT+CMGS.
func tpDCS(t *testing.T, hexPDU string) byte {
	b, err := modem.DecodeHex(hexPDU)
	require.NoError(t, err)
	i := 1 + int(b[0]) // SMSC address
	i += 2             // first octet, TP-MR
	digits := int(b[i])
	i += 2 + (digits+1)/2 // TP-DA: length, type, BCD digits
	i++                   // TP-PID
	return b[i]
}

// A modem operator's submit_sm.data_coding (a parameter the gateway
// takes for modems) is an SMPP data_coding; TP-DCS (3GPP TS 23.040 /
// 23.038) is another code. SMPP 3 (Latin-1) written as TP-DCS 0x03 says
// "GSM 7-bit" while the user data are Latin-1 octets: the handset shows
// garbage. SMPP's binary codings go as 8-bit data; those TP-DCS cannot
// say (IA5, Latin-1) are refused, not garbled.
func TestAttack3SMPPDataCodingWrittenAsTPDCS(t *testing.T) {
	for _, dc := range []coding.DataCoding{coding.IA5, coding.Latin1, 0x02} {
		text := "cafe ole"
		if dc == coding.Latin1 {
			text = "café olé"
		}
		dcs, segs, err := coding.Split(text, coding.SplitOptions{Coding: dc, Fixed: true})
		require.NoError(t, err)
		subs, err := modem.EncodeSubmit("584141234567", dcs, segs, modem.SubmitOptions{})
		if dc != 0x02 {
			assert.ErrorContains(t, err, "has no TP-DCS", "SMPP data_coding %#x", byte(dc))
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, byte(0x04), tpDCS(t, subs[0].Hex), "SMPP binary as 8-bit data")
	}
}
