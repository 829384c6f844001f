package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// simOperator is the name of the operator that stands for the simulator
// started with -smsc-sim addr: each address its own, so that processes
// sharing a store never rewrite one another's simulator operator.
func simOperator(addr string) string { return "simulator@" + addr }

// simFlags configure the built-in SMSC simulator.
type simFlags struct {
	addr               string
	systemID, password string
	receiptDelay       time.Duration
	failPercent        int
	tls                bool
	caPEM              []byte // the CA of the simulator's certificate, with -smsc-sim-tls
}

func (f *simFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "smsc-sim", "127.0.0.1:2775", `start the built-in SMSC simulator on this address ("" disables)`)
	fs.StringVar(&f.systemID, "smsc-sim-system-id", "", "the only system_id the simulator accepts (default: any)")
	fs.StringVar(&f.password, "smsc-sim-password", "", "the password that goes with -smsc-sim-system-id")
	fs.DurationVar(&f.receiptDelay, "smsc-sim-receipt-delay", time.Second, "time from submit to delivery receipt")
	fs.IntVar(&f.failPercent, "smsc-sim-fail-percent", 0, "percentage of messages that end undeliverable")
	fs.BoolVar(&f.tls, "smsc-sim-tls", false, "the simulator listens with TLS, with a certificate of its own (its CA is written beside the database, and the simulator operator trusts it)")
}

// start starts the simulator; with -smsc-sim-tls it writes the CA of its
// certificate to caFile.
func (f *simFlags) start(caFile string) (*smpptest.Server, error) {
	if f.failPercent < 0 || f.failPercent > 100 {
		return nil, fmt.Errorf("-smsc-sim-fail-percent %d: want 0..100", f.failPercent)
	}
	cfg := &smpptest.Config{
		SystemID: f.systemID, Password: f.password, ReceiptDelay: f.receiptDelay,
		Outcomes:   smpptest.Outcomes{Delivered: 100 - f.failPercent, Undeliverable: f.failPercent},
		MOInjector: "mo-sim", // send mo-sim: replies for demos
	}
	if f.tls {
		pki, err := smpptest.NewPKI()
		if err != nil {
			return nil, fmt.Errorf("smsc simulator: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(caFile), 0o750); err != nil {
			return nil, fmt.Errorf("smsc simulator: %w", err)
		}
		if err := os.WriteFile(caFile, pki.CAPEM, 0o644); err != nil {
			return nil, fmt.Errorf("smsc simulator: %w", err)
		}
		cfg.TLSConfig, f.caPEM = pki.ServerConfig(false), pki.CAPEM
	}
	srv, err := smpptest.Start(f.addr, cfg)
	if err != nil {
		return nil, fmt.Errorf("smsc simulator: %w", err)
	}
	return srv, nil
}

// simTLS sets the simulator operator's TLS to what the simulator speaks.
func (f *simFlags) simTLS(op *store.Operator) {
	op.TLS = f.tls
	op.Params = slices.DeleteFunc(op.Params, func(p store.OperatorParam) bool {
		return p.Command == "gateway" && strings.HasPrefix(p.Name, "tls_")
	})
	if f.tls {
		op.Params = append(op.Params, store.OperatorParam{Command: "gateway", Name: "tls_ca", Value: string(f.caPEM)},
			store.OperatorParam{Command: "gateway", Name: "tls_server_name", Value: "localhost"})
	}
}

// defaultOperator makes the simulator the default operator of a store
// that has none, so that a fresh installation sends end to end. The
// operator is named after the -smsc-sim address (simOperator); the
// process updates that operator only (the address it listens on, which
// differs for port 0, and its TLS), never another process's.
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
	name := simOperator(f.addr)
	for _, op := range ops {
		if op.Name == name {
			op.Host, op.Port = host, p
			f.simTLS(&op)
			return st.UpdateOperator(ctx, &op)
		}
	}
	if len(ops) > 0 {
		return nil
	}
	op := store.Operator{Name: name, Host: host, Port: p, SystemID: f.systemID, Password: f.password,
		BindMode: store.BindTransceiver, Default: true, Enabled: true, Sources: []string{"SWITCHBRD"}}
	if op.SystemID == "" {
		op.SystemID = "switchboard"
	}
	f.simTLS(&op)
	return st.CreateOperator(ctx, &op)
}
