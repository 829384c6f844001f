package smpp

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// FuzzClientAgainstAPeer binds a client over a pipe to a peer that then
// sends arbitrary bytes, while a submit_sm (sequence 2) waits for its
// answer: whatever the bytes (a right or wrong answer, a deliver_sm, an
// unbind, garbage, a PDU cut short), the submit ends within its timeout,
// the handler's panics are not ours to cause, Close returns, and nothing
// panics or hangs. (TestMain checks for leaked goroutines after the seed
// corpus runs.)
func FuzzClientAgainstAPeer(f *testing.F) {
	enc := func(ps ...pdu.PDU) []byte {
		var b []byte
		for _, p := range ps {
			var err error
			b, err = p.Encode(b)
			require.NoError(f, err)
		}
		return b
	}
	seq := func(p pdu.PDU, n uint32) pdu.PDU { p.Hdr().Sequence = n; return p }
	deliver := &pdu.DeliverSM{SourceAddr: "584141234567", DestinationAddr: "ACME", ShortMessage: []byte("hola")}
	receipt := &pdu.DeliverSM{ESMClass: 0x04, ShortMessage: []byte("id:1 sub:001 dlvrd:001 submit date:2612041030 done date:2612041031 stat:DELIVRD err:000 text:x")}
	long := &pdu.DeliverSM{ESMClass: 0x40, ShortMessage: []byte("\x05\x00\x03\x07\x02\x01parte uno")}
	for _, seed := range [][]byte{
		enc(seq(&pdu.SubmitSMResp{MessageID: "1"}, 2)),
		enc(seq(&pdu.DeliverSMResp{}, 2)),
		enc(seq(&pdu.GenericNack{}, 2)),
		enc(seq(&pdu.GenericNack{Header: pdu.Header{Status: pdu.StatusInvCmdLen}}, 2)),
		enc(seq(deliver, 7), seq(receipt, 8), seq(long, 9), seq(&pdu.SubmitSMResp{MessageID: "1"}, 2)),
		enc(seq(&pdu.EnquireLink{}, 3), seq(&pdu.Unbind{}, 4)),
		enc(seq(&pdu.SubmitSMResp{MessageID: "1"}, 2))[:20],
		enc(seq(&pdu.SubmitSMResp{MessageID: "1"}, 99), seq(&pdu.SubmitSMResp{MessageID: "2"}, 2)),
		enc(seq(&pdu.Outbind{SystemID: "x"}, 5), seq(&pdu.AlertNotification{}, 6)),
		enc(seq(&pdu.DataSM{SourceAddr: "1", DestinationAddr: "2"}, 10)),
		[]byte("\x00\x00\x00\x10\x80\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x02"), // submit_sm_resp without a body
		[]byte("\xff\xff\xff\xff\x80\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x02"), // a length beyond any limit
		[]byte("\x00\x00\x00\x08"),                                                 // a length shorter than a header
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		esme, smsc := net.Pipe()
		defer smsc.Close()
		peerDone := make(chan error, 1)
		go func() { peerDone <- fuzzPeer(smsc, data) }()

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := NewClient(ctx, esme, &Options{SystemID: "esme", ResponseTimeout: 10 * time.Millisecond, EnquireLink: -1,
			Retry: RetryPolicy{Attempts: 1}})
		require.NoError(t, err, "bind")
		start := time.Now()
		_, err = c.Submit(ctx, &pdu.SubmitSM{DestinationAddr: "584141234567", ShortMessage: []byte("hola")})
		took := time.Since(start)
		require.LessOrEqual(t, took, 2*time.Second, "submit took too long: %v", err)
		require.NotErrorIs(t, err, context.DeadlineExceeded, "submit took %v", took)
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(2 * time.Second):
			require.FailNow(t, "Close hung")
		}
		smsc.Close()
		require.NoError(t, <-peerDone)
	})
}

// fuzzPeer answers the bind, reads the submit_sm (which must be sequence
// 2), writes data, and then drains what the client writes until the
// pipe closes.
func fuzzPeer(conn net.Conn, data []byte) error {
	r := pdu.NewReader(conn, 0)
	p, err := r.Read()
	if err != nil {
		return err
	}
	resp := &pdu.BindTransceiverResp{SystemID: "SMSC"}
	resp.Sequence = p.Hdr().Sequence
	b, _ := resp.Encode(nil)
	if _, err := conn.Write(b); err != nil {
		return err
	}
	if p, err = r.Read(); err != nil {
		return nil // the client may already be gone
	}
	if p.CommandID() != pdu.SubmitSMID || p.Hdr().Sequence != 2 {
		return errors.New("the harness expects the submit_sm as sequence 2")
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 4096)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	conn.Write(data) // fails once the client hangs up: fine
	<-drained
	return nil
}
