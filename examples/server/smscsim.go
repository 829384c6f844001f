package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// simOperator is the name of the operator that stands for the simulator.
const simOperator = "simulator"

// simFlags configure the built-in SMSC simulator.
type simFlags struct {
	addr               string
	systemID, password string
	receiptDelay       time.Duration
	failPercent        int
}

func (f *simFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "smsc-sim", "127.0.0.1:2775", `start the built-in SMSC simulator on this address ("" disables)`)
	fs.StringVar(&f.systemID, "smsc-sim-system-id", "", "the only system_id the simulator accepts (default: any)")
	fs.StringVar(&f.password, "smsc-sim-password", "", "the password that goes with -smsc-sim-system-id")
	fs.DurationVar(&f.receiptDelay, "smsc-sim-receipt-delay", time.Second, "time from submit to delivery receipt")
	fs.IntVar(&f.failPercent, "smsc-sim-fail-percent", 0, "percentage of messages that end undeliverable")
}

func (f *simFlags) start() (*smpptest.Server, error) {
	if f.failPercent < 0 || f.failPercent > 100 {
		return nil, fmt.Errorf("-smsc-sim-fail-percent %d: want 0..100", f.failPercent)
	}
	srv, err := smpptest.Start(f.addr, &smpptest.Config{
		SystemID: f.systemID, Password: f.password, ReceiptDelay: f.receiptDelay,
		Outcomes: smpptest.Outcomes{Delivered: 100 - f.failPercent, Undeliverable: f.failPercent},
	})
	if err != nil {
		return nil, fmt.Errorf("smsc simulator: %w", err)
	}
	return srv, nil
}

// defaultOperator makes the simulator the default operator of a store
// that has none, so that a fresh installation sends end to end; an
// operator named "simulator" follows the simulator's address.
func (f *simFlags) defaultOperator(ctx context.Context, st store.Store, addr string) error {
	ops, err := st.Operators(ctx)
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	p, _ := strconv.Atoi(port)
	for _, op := range ops {
		if op.Name == simOperator && (op.Host != host || op.Port != p) {
			op.Host, op.Port = host, p
			return st.UpdateOperator(ctx, &op)
		}
	}
	if len(ops) > 0 {
		return nil
	}
	op := store.Operator{Name: simOperator, Host: host, Port: p, SystemID: f.systemID, Password: f.password,
		BindMode: store.BindTransceiver, Default: true, Enabled: true, Sources: []string{"SWITCHBRD"}}
	if op.SystemID == "" {
		op.SystemID = "switchboard"
	}
	return st.CreateOperator(ctx, &op)
}
