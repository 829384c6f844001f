// Command smppcodec measures one submit_sm built, encoded and decoded by
// switchboard's smpp/pdu next to linxGnu/gosmpp v0.3.1 and fiorix/go-smpp,
// in one process, repeated; it prints medians and ends with one line:
//
//	smpp-codec ours_ns=N ours_allocs=N gosmpp_ns=N fiorix_ns=N ours/gosmpp=R
//
// Every library builds the same PDU ("hello world", registered delivery)
// from raw message bytes (no text encoding), serializes it, and parses it
// back from the bytes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"testing"

	fpdu "github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
	gpdu "github.com/linxGnu/gosmpp/pdu"

	"github.com/switchboard-go/switchboard/bench/internal/stats"
	"github.com/switchboard-go/switchboard/bench/internal/workload"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

var (
	runs   = flag.Int("runs", 5, "repetitions of each benchmark; medians are reported")
	verify = flag.Bool("verify", true, "check that the three encodings are the same bytes first")
)

var text = workload.Text

func ours(buf []byte, into *pdu.SubmitSM) ([]byte, error) {
	sm := workload.Ours()
	sm.Sequence = 1
	out, err := sm.Encode(buf[:0])
	if err != nil {
		return nil, err
	}
	return out, into.Decode(out)
}

func gosmpp() ([]byte, error) {
	p, err := workload.Gosmpp()
	if err != nil {
		return nil, err
	}
	p.SequenceNumber = 1
	buf := gpdu.NewBuffer(make([]byte, 0, 64))
	p.Marshal(buf)
	out := buf.Bytes()
	_, err = gpdu.Parse(bytes.NewReader(out))
	return out, err
}

func fiorix() ([]byte, error) {
	p := fpdu.NewSubmitSM(nil)
	p.Header().Seq = 1
	f := p.Fields()
	for _, kv := range []struct {
		k pdufield.Name
		v any
	}{
		{pdufield.SourceAddrTON, uint8(5)}, {pdufield.SourceAddr, "ACME"}, {pdufield.DestAddrTON, uint8(1)},
		{pdufield.DestAddrNPI, uint8(1)}, {pdufield.DestinationAddr, "584121234567"},
		{pdufield.RegisteredDelivery, uint8(1)}, {pdufield.ShortMessage, pdutext.Raw(text)},
	} {
		if err := f.Set(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	if err := p.SerializeTo(&b); err != nil {
		return nil, err
	}
	out := b.Bytes()
	_, err := fpdu.Decode(bytes.NewReader(out))
	return out, err
}

type result struct{ ns, allocs, bytes []float64 }

func (r *result) add(b testing.BenchmarkResult) {
	r.ns = append(r.ns, float64(b.NsPerOp()))
	r.allocs = append(r.allocs, float64(b.AllocsPerOp()))
	r.bytes = append(r.bytes, float64(b.AllocedBytesPerOp()))
}

func main() {
	testing.Init()
	flag.Parse()
	buf := make([]byte, 0, 256)
	var into pdu.SubmitSM
	if *verify {
		a, err1 := ours(buf, &into)
		a = append([]byte(nil), a...)
		g, err2 := gosmpp()
		f, err3 := fiorix()
		if err1 != nil || err2 != nil || err3 != nil {
			fmt.Fprintln(os.Stderr, "smppcodec:", err1, err2, err3)
			os.Exit(1)
		}
		if !bytes.Equal(a, g) || !bytes.Equal(a, f) {
			fmt.Fprintf(os.Stderr, "smppcodec: encodings differ:\n ours   %x\n gosmpp %x\n fiorix %x\n", a, g, f)
			os.Exit(1)
		}
		if into.DestinationAddr != "584121234567" || string(into.ShortMessage) != "hello world" {
			fmt.Fprintln(os.Stderr, "smppcodec: decode check failed")
			os.Exit(1)
		}
	}
	var ro, rg, rf result
	for i := 0; i < *runs; i++ {
		// Interleaved, so that machine noise hits all three alike.
		ro.add(testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ours(buf, &into); err != nil {
					b.Fatal(err)
				}
			}
		}))
		rg.add(testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gosmpp(); err != nil {
					b.Fatal(err)
				}
			}
		}))
		rf.add(testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fiorix(); err != nil {
					b.Fatal(err)
				}
			}
		}))
		fmt.Fprintf(os.Stderr, "run %d/%d done\n", i+1, *runs)
	}
	fmt.Printf("submit_sm build+encode+decode, medians of %d runs\n", *runs)
	fmt.Printf("%-8s %10s %8s %8s\n", "codec", "ns/op", "B/op", "allocs")
	for _, r := range []struct {
		name string
		res  result
	}{{"ours", ro}, {"gosmpp", rg}, {"fiorix", rf}} {
		fmt.Printf("%-8s %10.0f %8.0f %8.0f\n", r.name, stats.Median(r.res.ns), stats.Median(r.res.bytes), stats.Median(r.res.allocs))
	}
	fmt.Printf("smpp-codec ours_ns=%.0f ours_allocs=%.0f gosmpp_ns=%.0f fiorix_ns=%.0f ours/gosmpp=%.2f\n",
		stats.Median(ro.ns), stats.Median(ro.allocs), stats.Median(rg.ns), stats.Median(rf.ns), stats.Median(ro.ns)/stats.Median(rg.ns))
}
