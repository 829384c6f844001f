package smpp

import (
	"context"
	"testing"
)

// BenchmarkSubmitPipelined keeps a window of 1000 full against an
// in-process SMSC on 127.0.0.1 that answers every submit_sm at once.
func BenchmarkSubmitPipelined(b *testing.B) {
	f := newFakeSMSC(b, nil)
	c, err := Dial(context.Background(), f.ln.Addr().String(), &Options{SystemID: "b", WindowSize: 1000, EnquireLink: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	calls := make(chan *Call, 2000)
	done := make(chan error, 1)
	go func() {
		var first error
		for call := range calls {
			if _, err := call.Wait(ctx); err != nil && first == nil {
				first = err
			}
		}
		done <- first
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		call, err := c.SubmitAsync(ctx, hello())
		if err != nil {
			b.Fatal(err)
		}
		calls <- call
	}
	close(calls)
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
