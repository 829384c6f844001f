package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/switchboard-go/switchboard/modem"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/store"
)

// modemFlags choose a GSM modem to send through instead of an SMSC.
type modemFlags struct {
	device, pin, smsc string
	baud              int
}

func (f *modemFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.device, "modem", "", "send through the GSM modem on this serial device (e.g. /dev/ttyUSB0) instead of an SMSC")
	fs.IntVar(&f.baud, "baud", 115200, "the modem's baud rate")
	fs.StringVar(&f.pin, "pin", "", "the SIM's PIN, when it asks for one")
	fs.StringVar(&f.smsc, "modem-smsc", "", "the service centre number (default: the SIM's)")
}

// modemSender sends through a modem; its status reports are the
// receipts, by message id "destination/reference".
type modemSender struct{ m *modem.Modem }

// open opens the modem, sets it up and says how it is registered.
func (f *modemFlags) open(ctx context.Context, receipts *receiptTracker, wantReports bool, stdout io.Writer) (*modemSender, error) {
	rw, err := modem.OpenSerial(f.device, f.baud)
	if err != nil {
		return nil, fmt.Errorf("sms: %w", err)
	}
	m := modem.New(rw, modem.Config{PIN: f.pin, Submit: modem.SubmitOptions{SMSC: f.smsc, StatusReport: wantReports},
		OnReport: func(s modem.StatusReport) {
			if s.Final() {
				receipts.add(coding.Receipt{ID: modemID(s.Recipient, s.Ref), Stat: receiptStat(s.State()),
					Err: fmt.Sprintf("%03d", s.Status), DoneDate: s.Done, SubmitDate: s.SCTS})
			}
		}})
	if err := m.Init(ctx); err != nil {
		m.Close()
		return nil, fmt.Errorf("sms: setting the modem up: %w", err)
	}
	if h, err := m.Health(ctx); err == nil {
		fmt.Fprintf(stdout, "modem %s: %s, signal %d dBm, network %q\n", f.device, h.Registration, h.SignalDBm, h.Operator)
	}
	return &modemSender{m}, nil
}

func (s *modemSender) send(ctx context.Context, r smsRow, _ bool) ([]string, error) {
	sent, err := s.m.Send(ctx, r.to, r.text, uint16(rand.IntN(0xFFFF)+1))
	ids := make([]string, len(sent))
	for i, p := range sent {
		ids[i] = modemID(r.to, p.Ref)
	}
	return ids, err
}

func (s *modemSender) done(context.Context) error { return s.m.Close() }

func modemID(number string, ref byte) string {
	return fmt.Sprintf("%s/%d", strings.TrimPrefix(number, "+"), ref)
}

// receiptStat writes a status report's outcome as an SMPP receipt's stat.
func receiptStat(s store.TransmissionState) string {
	switch s {
	case store.TxDelivered:
		return "DELIVRD"
	case store.TxExpired:
		return "EXPIRED"
	case store.TxUndeliverable:
		return "UNDELIV"
	case store.TxRejected:
		return "REJECTD"
	}
	return "UNKNOWN"
}
