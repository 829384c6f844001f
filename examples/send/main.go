// Command send is switchboard's command-line sender.
//
// Usage:
//
//	send sms [flags] NUMBER TEXT...              submit a message to an SMSC, wait for its receipt
//	send batch [flags] FILE.csv                 load a client's batch into the gateway, show progress
//	send chat -name N -email E [-file F] [MSG]   chat as a customer (interactive without MSG)
//	send console -login L                      the operator console
//	send status [-data DIR | -db URL] NUMBER   status of the last SMS sent to NUMBER (as written: 0414..., +58...), with its replies
//	send mo [-since D] [NUMBER]                replies (MO) received
//	send mo-sim NUMBER TEXT...                 make the server's built-in simulator deliver a reply from NUMBER
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchboard-go/switchboard/examples/internal/gatewayflag"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
)

const usage = `usage: send COMMAND [flags] [args]

commands:
  sms NUMBER TEXT  submit a text message to an SMSC and wait for its receipt
  batch FILE.csv   load a client's CSV batch into the gateway and show its progress
  chat [MESSAGE]   talk to customer service as a customer (interactive on a terminal)
  console          the operator console (line mode)
  status NUMBER    status of the last SMS sent to NUMBER, and the replies to it
  mo [NUMBER]      replies (MO) received
  mo-sim NUMBER TEXT
                   make the server's built-in SMSC simulator deliver a reply from NUMBER

run "send COMMAND -h" for a command's flags
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "send:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "sms":
		return runSMS(ctx, args[1:], stdout, stderr)
	case "batch":
		return runBatch(ctx, args[1:], stdout, stderr)
	case "chat":
		return runChat(ctx, args[1:], os.Stdin, isTerminal(os.Stdin), stdout, stderr)
	case "console":
		return runConsole(ctx, args[1:], os.Stdin, stdout, stderr)
	case "status":
		return runStatus(ctx, args[1:], stdout, stderr)
	case "mo":
		return runMO(ctx, args[1:], stdout, stderr)
	case "mo-sim":
		return runMOSim(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	var nf gatewayflag.Flags
	nf.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("status: want exactly one NUMBER")
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	g, err := gateway.New(gateway.Config{Store: st, Numbering: nf.Numbering})
	if err != nil {
		return err
	}
	t, err := g.Status(ctx, fs.Arg(0))
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(stdout, "%s: no message sent\n", fs.Arg(0))
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s", t.Destination, t.State)
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"submitted", t.SubmittedAt}, {"done", t.DoneAt}} {
		if !f.t.IsZero() {
			fmt.Fprintf(stdout, " %s=%s", f.name, f.t.Format(time.RFC3339))
		}
	}
	if t.MessageID != "" {
		fmt.Fprintf(stdout, " message_id=%s", t.MessageID)
	}
	if t.ErrorCode != 0 || t.Reason != "" {
		fmt.Fprintf(stdout, " error=0x%X reason=%q", t.ErrorCode, t.Reason)
	}
	fmt.Fprintln(stdout)
	replies, err := st.MOs(ctx, store.MOFilter{TransmissionID: t.ID})
	if err != nil {
		return err
	}
	for _, m := range replies {
		fmt.Fprint(stdout, "  reply ")
		printMO(stdout, m, "")
	}
	return nil
}
