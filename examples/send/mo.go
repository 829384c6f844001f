package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/examples/internal/gatewayflag"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/pdu"
	"github.com/switchboard-go/switchboard/store"
)

// runMO lists the replies (MO) stored, newest last.
func runMO(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send mo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	var nf gatewayflag.Flags
	nf.Register(fs)
	since := fs.Duration("since", 24*time.Hour, "replies received in this last period (0: all)")
	limit := fs.Int("limit", 100, "at most this many")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return errors.New("mo: at most one NUMBER")
	}
	f := store.MOFilter{Limit: *limit}
	if *since > 0 {
		f.Since = time.Now().Add(-*since)
	}
	if fs.NArg() == 1 {
		n, err := nf.Numbering.Normalize(fs.Arg(0))
		if err != nil {
			return err
		}
		f.From = n
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ops := map[int64]string{}
	if list, err := st.Operators(ctx); err == nil {
		for _, op := range list {
			ops[op.ID] = op.Name
		}
	}
	mos, err := st.MOs(ctx, f)
	if err != nil {
		return err
	}
	for _, m := range mos {
		printMO(stdout, m, ops[m.OperatorID])
	}
	if len(mos) == 0 {
		fmt.Fprintln(stdout, "no replies")
	}
	return nil
}

func printMO(w io.Writer, m store.MO, operator string) {
	fmt.Fprintf(w, "%s %s -> %s", m.ReceivedAt.Format(time.RFC3339), m.From, m.To)
	if operator != "" {
		fmt.Fprintf(w, " (%s)", operator)
	}
	if m.TransmissionID != 0 {
		fmt.Fprintf(w, " reply to message %d", m.TransmissionID)
	}
	fmt.Fprintf(w, ": %q\n", m.Text)
}

// runMOSim makes the built-in simulator of a running server deliver a
// reply (MO) from NUMBER to the gateway, as if a phone had sent it.
func runMOSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send mo-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("smsc", "127.0.0.1:2775", "address of the server's built-in simulator (-smsc-sim)")
	to := fs.String("to", "SWITCHBRD", "the short code or sender the reply goes to")
	var nf gatewayflag.Flags
	nf.Register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: send mo-sim [flags] NUMBER TEXT...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return errors.New("mo-sim: want NUMBER and TEXT")
	}
	from, err := nf.Numbering.Normalize(fs.Arg(0))
	if err != nil {
		return err
	}
	text := strings.Join(fs.Args()[1:], " ")
	dc, _ := coding.Choose(text)
	ud, err := coding.Encode(nil, text, dc, '?')
	if err != nil {
		return err
	}
	c, err := smpp.Dial(ctx, *addr, &smpp.Options{SystemID: moInjector, Mode: smpp.Transmitter})
	if err != nil {
		return err
	}
	defer c.Close()
	sm := &pdu.SubmitSM{SourceAddr: from, SourceAddrTON: 1, SourceAddrNPI: 1, DestinationAddr: *to,
		DestAddrTON: 5 /* alphanumeric or a short code */, DataCoding: uint8(dc)}
	sm.TLVs.SetMessagePayload(ud)
	if _, err := c.Submit(ctx, sm); err != nil {
		var se *smpp.StatusError
		if errors.As(err, &se) && se.Status == pdu.StatusSysErr {
			return fmt.Errorf("mo-sim: no gateway bound to the simulator to take the reply: %w", err)
		}
		return fmt.Errorf("mo-sim: %w", err)
	}
	fmt.Fprintf(stdout, "reply from %s to %s delivered to the gateway\n", from, *to)
	return nil
}

// moInjector is the system_id the server's simulator takes replies from
// (smpptest.Config.MOInjector).
const moInjector = "mo-sim"
