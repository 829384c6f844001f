package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// runSMS submits one text message straight to an SMSC and, unless
// -no-wait, waits for its delivery receipts (one per part).
func runSMS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send sms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("smsc", "127.0.0.1:2775", "SMSC address (host:port)")
	systemID := fs.String("system-id", "switchboard", "system_id to bind with")
	password := fs.String("password", "", "password to bind with")
	from := fs.String("from", "SWITCHBRD", "source address (short code or alphanumeric)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the delivery receipt (0: do not wait)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: send sms [flags] NUMBER TEXT...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return errors.New("sms: want NUMBER and TEXT")
	}
	to, text := fs.Arg(0), strings.Join(fs.Args()[1:], " ")

	receipts := make(chan coding.Receipt, 16)
	var once sync.Once
	done := make(chan struct{})
	handler := smpp.HandlerFunc(func(ctx context.Context, m *smpp.Message) pdu.Status {
		if m.Kind == smpp.KindReceipt {
			select {
			case receipts <- *m.Receipt:
			case <-done:
			}
		}
		return pdu.StatusOK
	})
	defer once.Do(func() { close(done) })

	c, err := smpp.Dial(ctx, *addr, &smpp.Options{SystemID: *systemID, Password: *password, Handler: handler})
	if err != nil {
		return err
	}
	defer c.Close()
	tmpl := &pdu.SubmitSM{SourceAddr: *from, SourceAddrTON: sourceTON(*from), DestinationAddr: to, DestAddrTON: 1, DestAddrNPI: 1}
	if *wait > 0 {
		tmpl.RegisteredDelivery = 1
	}
	ids, err := c.SubmitText(ctx, tmpl, text, coding.SplitOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: submitted in %d part(s), message_id=%s\n", to, len(ids), strings.Join(ids, ","))
	if *wait <= 0 {
		return c.Unbind(ctx)
	}

	want := map[string]bool{}
	for _, id := range ids {
		for _, form := range coding.IDForms(id) {
			want[form] = true
		}
	}
	timeout := time.After(*wait)
	for got := 0; got < len(ids); {
		select {
		case r := <-receipts:
			if !want[r.ID] {
				continue // an older message's receipt
			}
			got++
			fmt.Fprintf(stdout, "%s: receipt message_id=%s stat=%s err=%s done=%s\n",
				to, r.ID, r.Stat, r.Err, r.DoneDate.Format(time.RFC3339))
		case <-timeout:
			return fmt.Errorf("sms: no receipt within %s", *wait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	once.Do(func() { close(done) })
	return c.Unbind(ctx)
}

// sourceTON is alphanumeric (5) for a sender name, else international.
func sourceTON(s string) uint8 {
	for _, r := range s {
		if (r < '0' || r > '9') && r != '+' {
			return 5
		}
	}
	return 1
}
