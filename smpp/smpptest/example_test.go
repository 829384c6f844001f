package smpptest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
)

// A test binds to the simulator, submits, and gets the receipt.
func Example() {
	sim := smpptest.NewServer(&smpptest.Config{ReceiptDelay: 10 * time.Millisecond})
	defer sim.Close()

	type receipt struct{ id, stat string }
	receipts := make(chan receipt, 1)
	ctx := context.Background()
	c, err := smpp.Dial(ctx, sim.Addr, &smpp.Options{SystemID: "test", Password: "pw",
		Handler: smpp.HandlerFunc(func(ctx context.Context, m *smpp.Message) pdu.Status {
			if m.Kind == smpp.KindReceipt {
				receipts <- receipt{m.Receipt.ID, m.Receipt.Stat}
			}
			return pdu.StatusOK
		})})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	id, err := c.Submit(ctx, &pdu.SubmitSM{DestinationAddr: "584141234567", RegisteredDelivery: 1,
		ShortMessage: []byte("hello")})
	fmt.Println(err)
	r := <-receipts
	fmt.Println(r.id == id, r.stat)
	fmt.Println(sim.Submitted()[0].Text)
	// Output:
	// <nil>
	// true DELIVRD
	// hello
}
