package pdu

import (
	"bytes"
	"io"
	"testing"
)

func benchRoundTrip(b *testing.B, p PDU) {
	buf := make([]byte, 0, 1024)
	into := newPDU(p.CommandID())
	b.ReportAllocs()
	for b.Loop() {
		out, err := p.Encode(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		if err := into.Decode(out); err != nil {
			b.Fatal(err)
		}
	}
}

// The submit_sm of the peers' comparison: "hello world", GSM default
// alphabet, registered delivery.
func helloSubmit() *SubmitSM {
	return &SubmitSM{Header: Header{Sequence: 1}, SourceAddrTON: 5, SourceAddr: "ACME", DestAddrTON: 1,
		DestAddrNPI: 1, DestinationAddr: "584121234567", RegisteredDelivery: 1, ShortMessage: []byte("hello world")}
}

func BenchmarkSubmitSMRoundTrip(b *testing.B)  { benchRoundTrip(b, helloSubmit()) }
func BenchmarkDeliverSMRoundTrip(b *testing.B) { benchRoundTrip(b, samples()["deliver_sm"]) }

func BenchmarkSubmitSMEncode(b *testing.B) {
	p := helloSubmit()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		p.Encode(buf[:0])
	}
}

func BenchmarkSubmitSMDecode(b *testing.B) {
	raw, _ := helloSubmit().Encode(nil)
	var p SubmitSM
	b.ReportAllocs()
	for b.Loop() {
		p.Decode(raw)
	}
}

// BenchmarkReaderWriter streams submit_sm through Writer and Reader.
func BenchmarkReaderWriter(b *testing.B) {
	var stream bytes.Buffer
	w := NewWriter(&stream)
	p := helloSubmit()
	for i := 0; i < 1000; i++ {
		w.Write(p)
	}
	w.Flush()
	data := stream.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	src := bytes.NewReader(data)
	r := NewReader(src, 0)
	for b.Loop() {
		src.Reset(data)
		r.r.Reset(src)
		for {
			if _, err := r.ReadRaw(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
