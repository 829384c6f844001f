package gateway_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// A batch from CSV, through an operator (here the simulator), to its
// receipts.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gateway-example")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "sms.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	sim := smpptest.NewServer(nil)
	defer sim.Close()
	host, port, _ := net.SplitHostPort(sim.Addr)
	p, _ := strconv.Atoi(port)
	st.CreateOperator(ctx, &store.Operator{Name: "movil", Host: host, Port: p, SystemID: "acme", Password: "secret",
		BindMode: store.BindTransceiver, Prefixes: []string{"58414"}, Enabled: true})

	g, _ := gateway.New(gateway.Config{Store: st, Numbering: gateway.Numbering{CountryCode: "58", NationalPrefix: "0"}})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go g.Run(runCtx)

	rep, err := g.LoadCSV(ctx, gateway.Batch{Client: "acme", Name: "enero.csv", CSV: strings.NewReader(
		"numero,mensaje\n0414-1234567,Su pedido va en camino\n+58 414 7654321,Su pedido llegó\n02121234567,fijo\nabc,x\n")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("inserted %d, unroutable %d, rejected %d (line %d)\n", rep.Inserted, rep.Unroutable, rep.Rejected, rep.Errors[0].Line)
	sum, _ := g.WaitBatch(ctx, rep.BatchID, 10*time.Millisecond, nil)
	fmt.Println(sum.ByState[store.TxDelivered], "delivered,", sum.ByState[store.TxFailed], "failed")
	t, _ := g.Status(ctx, "04141234567")
	fmt.Println(t.Destination, t.State)
	// Output:
	// inserted 3, unroutable 1, rejected 1 (line 5)
	// 2 delivered, 1 failed
	// 584141234567 delivered
}
