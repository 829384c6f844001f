// Package workload is what the SMPP benchmarks send: the same submit_sm
// "hello world" (registered delivery) built with each library, and a
// pipelined submit loop for switchboard's client.
package workload

import (
	"context"

	"github.com/linxGnu/gosmpp/data"
	gpdu "github.com/linxGnu/gosmpp/pdu"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Text is the message.
var Text = []byte("hello world")

// Ours is the submit_sm built with smpp/pdu.
func Ours() *pdu.SubmitSM {
	return &pdu.SubmitSM{SourceAddrTON: 5, SourceAddr: "ACME", DestAddrTON: 1, DestAddrNPI: 1,
		DestinationAddr: "584121234567", RegisteredDelivery: 1, ShortMessage: Text}
}

// Gosmpp is the same submit_sm built with linxGnu/gosmpp.
func Gosmpp() (*gpdu.SubmitSM, error) {
	p := gpdu.NewSubmitSM().(*gpdu.SubmitSM)
	p.SourceAddr.SetTon(5)
	if err := p.SourceAddr.SetAddress("ACME"); err != nil {
		return nil, err
	}
	p.DestAddr.SetTon(1)
	p.DestAddr.SetNpi(1)
	if err := p.DestAddr.SetAddress("584121234567"); err != nil {
		return nil, err
	}
	p.RegisteredDelivery = 1
	if err := p.Message.SetMessageDataWithEncoding(Text, data.GSM7BIT); err != nil {
		return nil, err
	}
	return p, nil
}

// SubmitPipelined submits next(0) .. next(n-1) with SubmitAsync from the
// calling goroutine, keeping the client's window full, while another
// goroutine waits for the calls in order. It returns the first error.
func SubmitPipelined(ctx context.Context, c *smpp.Client, n, window int, next func(i int) *pdu.SubmitSM) error {
	calls := make(chan *smpp.Call, window)
	errc := make(chan error, 1)
	go func() {
		var first error
		for call := range calls {
			if _, err := call.Result(); err != nil && first == nil {
				first = err
			}
		}
		errc <- first
	}()
	for i := range n {
		call, err := c.SubmitAsync(ctx, next(i))
		if err != nil {
			close(calls)
			<-errc
			return err
		}
		calls <- call
	}
	close(calls)
	return <-errc
}
