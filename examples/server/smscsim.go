package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
)

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
