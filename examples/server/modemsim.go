package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/modem/modemtest"
	"github.com/switchboard-go/switchboard/store"
)

// modemSimOperator is the name of the operator that stands for the
// simulated modem linked at path.
func modemSimOperator(path string) string { return "modem-sim@" + path }

// modemSimFlags configure the simulated GSM modem.
type modemSimFlags struct {
	path         string
	prefixes     string
	delay        time.Duration
	receiptDelay time.Duration
	failPercent  int
}

func (f *modemSimFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "modem-sim", "", "serve a simulated GSM modem on a pseudo-terminal linked at this path, and run it as a modem operator")
	fs.StringVar(&f.prefixes, "modem-sim-prefixes", "", "destination prefixes routed to the simulated modem when its operator is created, e.g. 58414")
	fs.DurationVar(&f.delay, "modem-sim-delay", 200*time.Millisecond, "time the simulated network takes to accept a message")
	fs.DurationVar(&f.receiptDelay, "modem-sim-receipt-delay", time.Second, "time from acceptance to the status report")
	fs.IntVar(&f.failPercent, "modem-sim-fail-percent", 0, "percentage of messages whose status report says undeliverable")
}

// start serves the simulated modem on a pty and links f.path (made
// absolute) to it: a link to a pty left by an earlier run is replaced,
// anything else there is an error. stop ends it and removes the link if
// it is still ours.
func (f *modemSimFlags) start() (sim *modemtest.Modem, stop func(), err error) {
	if f.failPercent < 0 || f.failPercent > 100 {
		return nil, nil, fmt.Errorf("-modem-sim-fail-percent %d: want 0..100", f.failPercent)
	}
	// Absolute: the operator's device is opened by whichever process
	// runs it, from wherever it was started.
	if f.path, err = filepath.Abs(f.path); err != nil {
		return nil, nil, fmt.Errorf("-modem-sim: %w", err)
	}
	// Only a link to a pty (left by a run that did not end cleanly) is
	// replaced: anything else at PATH is someone's.
	if fi, err := os.Lstat(f.path); err == nil {
		target, _ := os.Readlink(f.path)
		if fi.Mode()&os.ModeSymlink == 0 || !strings.HasPrefix(target, "/dev/pts/") {
			return nil, nil, fmt.Errorf("-modem-sim %s: exists and is not a link to a pseudo-terminal", f.path)
		}
		if err := os.Remove(f.path); err != nil {
			return nil, nil, fmt.Errorf("-modem-sim: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("-modem-sim: %w", err)
	}
	sim = modemtest.New(&modemtest.Config{Delay: f.delay, ReportDelay: f.receiptDelay,
		Outcomes: modemtest.Outcomes{Delivered: 100 - f.failPercent, Undeliverable: f.failPercent}})
	tty, stopPTY, err := sim.ServePTY()
	if err != nil {
		sim.Close()
		return nil, nil, fmt.Errorf("modem simulator: %w", err)
	}
	if err := os.Symlink(tty, f.path); err != nil {
		stopPTY()
		sim.Close()
		return nil, nil, fmt.Errorf("modem simulator: %w", err)
	}
	return sim, func() {
		stopPTY()
		sim.Close()
		if target, err := os.Readlink(f.path); err == nil && target == tty {
			os.Remove(f.path) // ours still, not a link someone put there meanwhile
		}
	}, nil
}

// operator creates the simulated modem's operator (with -modem-sim-
// prefixes), or points the existing one at the link again.
func (f *modemSimFlags) operator(ctx context.Context, st store.Store) error {
	ops, err := st.Operators(ctx)
	if err != nil {
		return err
	}
	name := modemSimOperator(f.path)
	for _, op := range ops {
		if op.Name == name {
			if op.Kind == store.KindModem && op.Modem.Device == f.path {
				return nil
			}
			op.Kind, op.Modem = store.KindModem, store.ModemSettings{Device: f.path}
			return st.UpdateOperator(ctx, &op)
		}
	}
	op := store.Operator{Name: name, Kind: store.KindModem, Modem: store.ModemSettings{Device: f.path}, Enabled: true,
		Prefixes: splitList(f.prefixes)}
	return st.CreateOperator(ctx, &op)
}
