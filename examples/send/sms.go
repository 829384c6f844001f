package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-go/switchboard/examples/internal/gatewayflag"
	"github.com/switchboard-go/switchboard/modem"
	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/smpp/pdu"
)

var bindModes = map[string]smpp.BindMode{"trx": smpp.Transceiver, "tx": smpp.Transmitter, "rx": smpp.Receiver,
	"tx+rx": smpp.TransmitterReceiver}

// runSMS submits straight to an SMSC: one message (NUMBER TEXT...), or
// every row of -batch FILE.csv (destination,text[,source]) with a
// progress bar and a summary; then, unless -wait 0, it waits for the
// delivery receipts (one per part).
func runSMS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send sms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("smsc", "127.0.0.1:2775", "SMSC address (host:port)")
	systemID := fs.String("system-id", "switchboard", "system_id to bind with")
	password := fs.String("password", "", "password to bind with")
	mode := fs.String("mode", "trx", "bind mode: trx, tx+rx (transmitter and receiver), or tx (no receipts)")
	from := fs.String("from", "SWITCHBRD", "source address (short code or alphanumeric)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the delivery receipts (0: do not wait)")
	batch := fs.String("batch", "", "send every row of this CSV file (destination,text[,source]) instead of one message")
	window := fs.Int("window", 100, "submits outstanding at once (batch)")
	receiptID := fs.String("receipt-id", "same", "how the SMSC writes message ids: same, hex-dec (hex in responses, decimal in receipts) or dec-hex")
	timeout := fs.Duration("timeout", 10*time.Second, "how long each request waits for the SMSC's answer")
	var tf tlsFlags
	tf.register(fs)
	tf.registerClientCert(fs)
	var nf gatewayflag.Flags
	nf.Register(fs)
	var mf modemFlags
	mf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: send sms [flags] NUMBER TEXT...\n       send sms [flags] -batch FILE.csv\n       send sms -modem DEVICE [flags] NUMBER TEXT...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	bm, ok := bindModes[*mode]
	if !ok {
		return fmt.Errorf("sms: -mode %q: want trx, tx+rx or tx", *mode)
	}
	if bm == smpp.Transmitter {
		*wait = 0 // a transmitter gets no receipts
	}
	var rows []smsRow
	if *batch != "" {
		var err error
		if rows, err = readSMSBatch(*batch, *from); err != nil {
			return err
		}
	} else {
		if fs.NArg() < 2 {
			fs.Usage()
			return errors.New("sms: want NUMBER and TEXT, or -batch FILE.csv")
		}
		rows = []smsRow{{to: fs.Arg(0), text: strings.Join(fs.Args()[1:], " "), from: *from}}
	}
	if err := checkRows(rows, nf.Numbering); err != nil {
		return err
	}

	if mf.device != "" {
		receipts := newReceiptTracker(coding.IDText, coding.IDText)
		s, err := mf.open(ctx, receipts, *wait > 0, stdout)
		if err != nil {
			return err
		}
		defer s.m.Close()
		if *batch == "" {
			return sendOne(ctx, s, rows[0], receipts, *wait, stdout)
		}
		return sendBatch(ctx, s, rows, receipts, *wait, 1, stdout, stderr) // one at a time: a modem sends so
	}
	submitFmt, receiptFmt, err := idFormats(*receiptID)
	if err != nil {
		return err
	}
	tlsConfig, err := tf.config(*addr)
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	receipts := newReceiptTracker(submitFmt, receiptFmt)
	c, err := smpp.Dial(ctx, *addr, &smpp.Options{SystemID: *systemID, Password: *password, Mode: bm, WindowSize: *window,
		TLSConfig: tlsConfig, ResponseTimeout: *timeout,
		Handler: smpp.HandlerFunc(func(ctx context.Context, m *smpp.Message) pdu.Status {
			if m.Kind == smpp.KindReceipt {
				receipts.add(*m.Receipt)
			}
			return pdu.StatusOK
		})})
	if err != nil {
		return err
	}
	defer c.Close()

	if *batch == "" {
		return sendOne(ctx, smppSender{c}, rows[0], receipts, *wait, stdout)
	}
	return sendBatch(ctx, smppSender{c}, rows, receipts, *wait, *window, stdout, stderr)
}

// explainSubmit says, for an error that leaves the message's fate open,
// that sending it again may duplicate it.
func explainSubmit(err error) error {
	switch {
	case smpp.MayHaveReached(err):
		return fmt.Errorf("%w (the SMSC may have received the message: sending it again may duplicate it)", err)
	case modem.Uncertain(err):
		return fmt.Errorf("%w (sending it again may duplicate it)", err)
	}
	return err
}

type smsRow struct {
	to, text, from string
	line           int
}

func submitTemplate(r smsRow, receipts bool) *pdu.SubmitSM {
	sm := &pdu.SubmitSM{SourceAddr: r.from, SourceAddrTON: gateway.SourceTON(r.from), DestinationAddr: r.to, DestAddrTON: 1, DestAddrNPI: 1}
	if receipts {
		sm.RegisteredDelivery = 1
	}
	return sm
}

// sender is where send sms sends: an SMSC (smppSender) or a modem
// (modemSender).
type sender interface {
	// send sends one message and returns its parts' message ids, which
	// its receipts carry.
	send(ctx context.Context, r smsRow, receipts bool) ([]string, error)
	// done ends the session (an SMSC's unbind).
	done(ctx context.Context) error
}

// smppSender sends through an SMPP session.
type smppSender struct{ c *smpp.Client }

func (s smppSender) send(ctx context.Context, r smsRow, receipts bool) ([]string, error) {
	return s.c.SubmitText(ctx, submitTemplate(r, receipts), r.text, coding.SplitOptions{})
}

func (s smppSender) done(ctx context.Context) error { return s.c.Unbind(ctx) }

func sendOne(ctx context.Context, c sender, r smsRow, receipts *receiptTracker, wait time.Duration, stdout io.Writer) error {
	ids, err := c.send(ctx, r, wait > 0)
	if err != nil {
		return explainSubmit(err)
	}
	fmt.Fprintf(stdout, "%s: submitted in %d part(s), message_id=%s\n", r.to, len(ids), strings.Join(ids, ","))
	if wait <= 0 {
		return c.done(ctx)
	}
	receipts.expect(ids)
	if err := receipts.wait(ctx, wait, nil); err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	for _, id := range ids {
		rc := receipts.of(id)
		fmt.Fprintf(stdout, "%s: receipt message_id=%s stat=%s err=%s done=%s\n",
			r.to, rc.ID, rc.Stat, rc.Err, rc.DoneDate.Format(time.RFC3339))
	}
	return c.done(ctx)
}

// sendBatch submits rows with up to window of them in flight, draws a
// progress bar, waits for receipts, and prints a summary.
func sendBatch(ctx context.Context, c sender, rows []smsRow, receipts *receiptTracker, wait time.Duration, window int,
	stdout, stderr io.Writer) error {
	start := time.Now()
	var sent, failed, done atomic.Int64
	var failMu sync.Mutex
	var failures []string
	bar := progressBar{w: stderr}
	draw := func() {
		bar.draw(int(done.Load()), len(rows), fmt.Sprintf("sent=%d failed=%d", sent.Load(), failed.Load()))
	}
	jobs := make(chan smsRow)
	var wg sync.WaitGroup
	for range max(window, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				ids, err := c.send(ctx, r, wait > 0)
				if len(ids) > 0 {
					receipts.expect(ids)
				}
				if err != nil {
					failed.Add(1)
					failMu.Lock()
					failures = append(failures, fmt.Sprintf("line %d (%s): %v", r.line, r.to, explainSubmit(err)))
					failMu.Unlock()
				} else {
					sent.Add(1)
				}
				done.Add(1)
			}
		}()
	}
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
feed:
	for _, r := range rows {
		for {
			select {
			case jobs <- r:
				continue feed
			case <-ticker.C:
				draw()
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	draw()
	bar.done()
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "sent %d, failed %d of %d in %s (%.0f msgs/s)\n", sent.Load(), failed.Load(), len(rows),
		elapsed.Round(time.Millisecond), float64(sent.Load())/elapsed.Seconds())
	for i, f := range failures {
		if i == 20 {
			fmt.Fprintf(stdout, "  ... and %d more\n", len(failures)-20)
			break
		}
		fmt.Fprintln(stdout, "  "+f)
	}
	if wait > 0 && sent.Load() > 0 {
		err := receipts.wait(ctx, wait, func(got, want int) { bar.draw(got, want, "receipts") })
		bar.done()
		fmt.Fprintf(stdout, "receipts: %s\n", receipts.summary())
		if err != nil {
			fmt.Fprintf(stdout, "  %v\n", err)
		}
	}
	if err := c.done(ctx); err != nil {
		return err
	}
	if failed.Load() > 0 {
		return fmt.Errorf("sms: %d of %d messages not accepted", failed.Load(), len(rows))
	}
	return nil
}

// checkRows checks every row as the gateway checks a batch's rows and
// normalizes its number; with any bad row, nothing is sent.
func checkRows(rows []smsRow, n gateway.Numbering) error {
	var bad []string
	for i := range rows {
		dest, err := gateway.CheckMessage(n, rows[i].to, rows[i].text, rows[i].from, 0)
		if err != nil {
			where := rows[i].to
			if rows[i].line > 0 {
				where = fmt.Sprintf("line %d", rows[i].line)
			}
			bad = append(bad, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		rows[i].to = dest
	}
	switch {
	case len(bad) == 0:
		return nil
	case len(bad) > 20:
		bad = append(bad[:20], fmt.Sprintf("... and %d more", len(bad)-20))
	}
	return fmt.Errorf("sms: nothing sent, %d bad message(s):\n  %s", len(bad), strings.Join(bad, "\n  "))
}

// headerNames are the first columns of a header row.
var headerNames = map[string]bool{"destination": true, "destino": true, "number": true, "numero": true, "número": true, "phone": true}

// readSMSBatch reads destination,text[,source] rows; a first row naming
// the columns is skipped. A row without a source uses def.
func readSMSBatch(path, def string) ([]smsRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var rows []smsRow
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("sms: %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if first && len(rec) > 0 && headerNames[strings.ToLower(strings.TrimSpace(rec[0]))] {
			continue
		}
		row := smsRow{to: strings.TrimSpace(rec[0]), from: def, line: line} // checkRows says what is wrong
		if len(rec) > 1 {
			row.text = rec[1]
		}
		if len(rec) > 2 && strings.TrimSpace(rec[2]) != "" {
			row.from = strings.TrimSpace(rec[2])
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("sms: %s has no rows", path)
	}
	return rows, nil
}

// receiptTracker matches receipts to submitted message ids, both brought
// to one form by the formats the SMSC uses (-receipt-id). Receipts may
// arrive before their id is known.
type receiptTracker struct {
	mu                   sync.Mutex
	submitFmt, receiptFm coding.IDFormat
	received             map[string]coding.Receipt // by the receipt's normalized id
	ids                  []string                  // submitted, in order
	changed              chan struct{}
}

// idFormats reads -receipt-id: "same", "hex-dec" (hex in responses,
// decimal in receipts) or "dec-hex".
func idFormats(s string) (submit, receipt coding.IDFormat, err error) {
	switch s {
	case "same":
		return coding.IDText, coding.IDText, nil
	case "hex-dec":
		return coding.IDHex, coding.IDDecimal, nil
	case "dec-hex":
		return coding.IDDecimal, coding.IDHex, nil
	}
	return 0, 0, fmt.Errorf("-receipt-id %q: want same, hex-dec or dec-hex", s)
}

func newReceiptTracker(submit, receipt coding.IDFormat) *receiptTracker {
	return &receiptTracker{submitFmt: submit, receiptFm: receipt, received: map[string]coding.Receipt{}, changed: make(chan struct{}, 1)}
}

func (t *receiptTracker) add(r coding.Receipt) {
	id, _ := coding.NormalizeID(r.ID, t.receiptFm)
	t.mu.Lock()
	t.received[id] = r
	t.mu.Unlock()
	t.signal()
}

func (t *receiptTracker) expect(ids []string) {
	t.mu.Lock()
	t.ids = append(t.ids, ids...)
	t.mu.Unlock()
	t.signal()
}

func (t *receiptTracker) signal() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// matchLocked returns the receipt of each submitted id that has one.
func (t *receiptTracker) matchLocked() map[string]coding.Receipt {
	got := make(map[string]coding.Receipt, len(t.ids))
	for _, id := range t.ids {
		n, _ := coding.NormalizeID(id, t.submitFmt)
		if r, ok := t.received[n]; ok {
			got[id] = r
		}
	}
	return got
}

func (t *receiptTracker) of(id string) coding.Receipt {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.matchLocked()[id]
}

// wait waits until every submitted id has its receipt, or d passes. It
// matches at most every 100ms, so large batches stay linear.
func (t *receiptTracker) wait(ctx context.Context, d time.Duration, progress func(got, want int)) error {
	timeout := time.After(d)
	for {
		t.mu.Lock()
		got, want := len(t.matchLocked()), len(t.ids)
		t.mu.Unlock()
		if progress != nil {
			progress(got, want)
		}
		if got >= want {
			return nil
		}
		select {
		case <-t.changed:
		case <-timeout:
			return fmt.Errorf("%d of %d receipts within %s", got, want, d)
		case <-ctx.Done():
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// summary counts receipts by state, e.g. "DELIVRD=98 UNDELIV=2".
func (t *receiptTracker) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	by := map[string]int{}
	for _, r := range t.matchLocked() {
		by[r.Stat]++
	}
	var parts []string
	for st, n := range by {
		parts = append(parts, fmt.Sprintf("%s=%d", st, n))
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
