package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
)

// runOperators lists the SMS operators with their counts since -since.
func runOperators(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server operators", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	period := fs.Duration("since", 24*time.Hour, "count transmissions created in this last period")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := sf.OpenExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	g, err := gateway.New(gateway.Config{Store: st})
	if err != nil {
		return err
	}
	now := time.Now()
	status, err := g.Operators(ctx, now.Add(-*period))
	if err != nil {
		return err
	}
	ops, err := st.Operators(ctx)
	if err != nil {
		return err
	}
	byID := map[int64]store.Operator{}
	for _, op := range ops {
		byID[op.ID] = op
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tADDRESS\tMODE\tENABLED\tDEFAULT\tPREFIXES\tPRIORITY\tWEIGHT\tBOUND\tREPORTED\tSUBMITTED\tMSG/S\tQUEUED\tSENT\tDELIVERED\tFAILED\tLAST ERROR")
	for _, s := range status {
		op := byID[s.ID]
		by := s.Store.ByState
		failed := by[store.TxFailed] + by[store.TxUndeliverable] + by[store.TxExpired] + by[store.TxRejected] + by[store.TxUnknown]
		// Throughput over the period, from the store (all gateway
		// processes); a running gateway also keeps a 10 s figure.
		bound, age, lastErr := health(s.Reports, now)
		addr, mode := net.JoinHostPort(op.Host, strconv.Itoa(op.Port)), string(op.BindMode)
		if op.Kind == store.KindModem {
			addr, mode = op.Modem.Device, "modem"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\t%t\t%s\t%d\t%d\t%s\t%s\t%d\t%.2f\t%d\t%d\t%d\t%d\t%s\n", op.ID, op.Name, addr, mode,
			op.Enabled, op.Default, strings.Join(op.Prefixes, ","), op.Priority, max(op.Weight, 1), bound, age, s.Store.Submitted,
			float64(s.Store.Submitted)/period.Seconds(),
			by[store.TxQueued]+by[store.TxSubmitting], by[store.TxSent], by[store.TxDelivered], failed, lastErr)
	}
	return tw.Flush()
}

// health sums what the running gateways report about an operator:
// sessions bound of those configured ("-" when no process runs it,
// "stopped" when the processes that ran it stopped it), how long ago the
// newest report was made, and the last session error of one that has
// none bound, with since when.
func health(reports []store.OperatorHealth, now time.Time) (bound, age, lastErr string) {
	if len(reports) == 0 {
		return "-", "-", ""
	}
	n, of, running := 0, 0, 0
	var newest time.Time
	for _, h := range reports {
		if h.ReportedAt.After(newest) {
			newest = h.ReportedAt
		}
		if h.Stopped {
			continue
		}
		running++
		n, of = n+h.Bound, of+h.Binds
		if h.Bound == 0 && h.LastError != "" {
			lastErr = cutText(h.LastError, 60)
			if !h.UnboundSince.IsZero() {
				lastErr += fmt.Sprintf(" (unbound %s)", now.Sub(h.UnboundSince).Round(time.Second))
			}
		}
	}
	age = max(now.Sub(newest), 0).Round(time.Second).String() + " ago"
	if running == 0 {
		return "stopped", age, ""
	}
	bound = fmt.Sprintf("%d/%d", n, of)
	if running > 1 {
		bound += fmt.Sprintf(" in %d processes", running)
	}
	return bound, age, lastErr
}

// cutText cuts s to at most n bytes at a rune boundary, marking the cut.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// paramFlag collects -param COMMAND.NAME=VALUE.
type paramFlag []store.OperatorParam

func (p *paramFlag) String() string { return "" }
func (p *paramFlag) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	cmd, name, ok2 := strings.Cut(key, ".")
	if !ok || !ok2 {
		return errors.New("want COMMAND.NAME=VALUE, e.g. submit_sm.service_type=CMT")
	}
	*p = append(*p, store.OperatorParam{Command: cmd, Name: name, Value: value})
	return nil
}

// runOperator adds, changes or deletes an SMS operator by name. A running
// server picks the change up within its reload interval.
func runOperator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	var o store.Operator
	var prefixes, sources, mode, kind string
	var params paramFlag
	var disable, del bool
	fs.StringVar(&o.Name, "name", "", "operator name (required)")
	fs.StringVar(&kind, "kind", "smpp", "smpp (an SMSC) or modem (a GSM modem on a serial port: -device, -baud, -pin, -modem-smsc)")
	fs.StringVar(&o.Modem.Device, "device", "", "the modem's serial device, e.g. /dev/ttyUSB0 (-kind modem)")
	fs.IntVar(&o.Modem.Baud, "baud", 115200, "the modem's baud rate (-kind modem)")
	fs.StringVar(&o.Modem.PIN, "pin", "", "the SIM's PIN, when it asks for one (-kind modem)")
	fs.StringVar(&o.Modem.SMSC, "modem-smsc", "", "the service centre number (-kind modem; default: the SIM's)")
	fs.StringVar(&o.Host, "host", "127.0.0.1", "SMSC host")
	fs.IntVar(&o.Port, "port", 2775, "SMSC port")
	fs.StringVar(&o.SystemID, "system-id", "", "system_id")
	fs.StringVar(&o.Password, "password", "", "password")
	fs.StringVar(&o.SystemType, "system-type", "", "system_type")
	fs.StringVar(&mode, "mode", "trx", "bind mode: tx, rx, trx or tx+rx")
	fs.BoolVar(&o.TLS, "tls", false, "connect with TLS")
	var tlsCA, tlsCert, tlsKey, tlsServerName string
	fs.StringVar(&tlsCA, "tls-ca", "", "PEM file of the CA that signed the SMSC's certificate (default: the system's roots)")
	fs.StringVar(&tlsCert, "tls-cert", "", "PEM file of a client certificate to present, with -tls-key")
	fs.StringVar(&tlsKey, "tls-key", "", "PEM file of the key of -tls-cert")
	fs.StringVar(&tlsServerName, "tls-server-name", "", "name to verify the SMSC's certificate against (default: -host)")
	fs.IntVar(&o.WindowSize, "window", 0, "outstanding requests per bind (0: library default)")
	fs.IntVar(&o.TPS, "tps", 0, "submits per second over all binds (0: no limit)")
	fs.IntVar(&o.Binds, "binds", 1, "parallel binds")
	fs.DurationVar(&o.EnquireLink, "enquire-link", 0, "keepalive interval (0: library default)")
	fs.StringVar(&prefixes, "prefixes", "", "comma-separated destination prefixes, e.g. 58412,58416")
	fs.StringVar(&sources, "sources", "", "comma-separated source addresses; the first is the default")
	fs.BoolVar(&o.Default, "default", false, "route numbers no prefix matches to this operator")
	fs.IntVar(&o.Priority, "priority", 0, "among operators sharing a prefix, the lowest healthy priority sends; an unbound one's queued messages fail over to the next")
	fs.IntVar(&o.Weight, "weight", 1, "share of a prefix's messages among healthy operators of equal priority")
	fs.Var(&params, "param", "PDU parameter override COMMAND.NAME=VALUE (repeatable)")
	fs.BoolVar(&disable, "disable", false, "keep the operator but do not connect to it")
	fs.BoolVar(&del, "delete", false, "delete the operator")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.Name == "" {
		return errors.New("operator: -name is required")
	}
	st, err := sf.Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ops, err := st.Operators(ctx)
	if err != nil {
		return err
	}
	var existing *store.Operator
	for i := range ops {
		if ops[i].Name == o.Name {
			existing = &ops[i]
		}
	}
	if del {
		if existing == nil {
			return fmt.Errorf("operator %q: %w", o.Name, store.ErrNotFound)
		}
		g, err := gateway.New(gateway.Config{Store: st})
		if err != nil {
			return err
		}
		res, err := g.DeleteOperator(ctx, existing.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "operator %s deleted; its queued messages: %d moved to other operators, %d failed (no other operator takes their numbers); %d sent ended unknown (no receipt can come)\n",
			o.Name, res.Moved, res.Failed, res.Ended)
		return nil
	}
	o.BindMode, o.Enabled, o.Params, o.Kind = store.BindMode(mode), !disable, params, store.OperatorKind(kind)
	switch o.Kind {
	case store.KindSMPP:
		o.Modem = store.ModemSettings{}
	case store.KindModem:
		if o.Modem.Device == "" {
			return errors.New("operator: -kind modem needs -device")
		}
		o.Host, o.Port, o.BindMode = "", 0, ""
	default:
		return fmt.Errorf("operator: -kind %q: want smpp or modem", kind)
	}
	// The files' contents are kept with the operator, so that every
	// server process on the store connects alike.
	for _, f := range []struct{ name, value string }{{"tls_ca", tlsCA}, {"tls_cert", tlsCert}, {"tls_key", tlsKey}} {
		if f.value == "" {
			continue
		}
		pem, err := os.ReadFile(f.value)
		if err != nil {
			return fmt.Errorf("operator: %w", err)
		}
		o.Params = append(o.Params, store.OperatorParam{Command: "gateway", Name: f.name, Value: string(pem)})
	}
	if tlsServerName != "" {
		o.Params = append(o.Params, store.OperatorParam{Command: "gateway", Name: "tls_server_name", Value: tlsServerName})
	}
	o.Prefixes, o.Sources = splitList(prefixes), splitList(sources)
	if err := gateway.CheckOperator(o); err != nil {
		return err
	}
	if existing == nil {
		err = st.CreateOperator(ctx, &o)
	} else {
		o.ID = existing.ID
		err = st.UpdateOperator(ctx, &o)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator %s (id %d) saved\n", o.Name, o.ID)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
