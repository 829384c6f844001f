package smpp_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Bind to an SMSC (here our own Server, on 127.0.0.1) and submit.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &smpp.Server{SystemID: "SMSC"}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := smpp.Dial(ctx, ln.Addr().String(), &smpp.Options{SystemID: "acme", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	id, err := c.Submit(ctx, &pdu.SubmitSM{DestAddrTON: 1, DestAddrNPI: 1, DestinationAddr: "584121234567",
		ShortMessage: []byte("hello world")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.SMSCSystemID(), c.Mode(), c.State(), "message id", id)
	if err := c.Unbind(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: SMSC transceiver BOUND_TRX message id 1
}
