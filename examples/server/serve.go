package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/examples/internal/gatewayflag"
	"github.com/switchboard-go/switchboard/examples/internal/metrics"
	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/webhook"
)

type schemaVersioner interface {
	SchemaVersion(ctx context.Context) (int, error)
}

// serve opens the store and runs until ctx is done.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	var sim simFlags
	sim.register(fs)
	var msim modemSimFlags
	msim.register(fs)
	var nf gatewayflag.Flags
	nf.Register(fs)
	dropDirPath := fs.String("sms-dropdir", "", "watch DIR/CLIENT/*.csv: load each complete file as CLIENT's batch, move it to DIR/CLIENT/done/ with a report, and a results CSV once its messages are final")
	hookBackoff := fs.Duration("webhook-min-backoff", 5*time.Second, "the wait before a failed webhook delivery's second try; it doubles at each try, up to an hour")
	claimLease := fs.Duration("sms-claim-lease", 30*time.Second, "how long an SMS claim of a process lives without its heartbeat: another process takes over a dead one's messages after it")
	var cf chatFlags
	cf.register(fs)
	var mf mailFlags
	mf.register(fs)
	var hf httpFlags
	hf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *hookBackoff <= 0 {
		return errors.New("-webhook-min-backoff must be positive")
	}
	if mf.once && !mf.enabled() {
		return errors.New("-once needs a mail source (-imap, -pop3 or -maildir)")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	files, err := raiseFileLimit()
	if err != nil {
		log.Warn("cannot raise the open-file limit", "err", err)
	}

	st, err := sf.Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	attrs := []any{"backend", sf.Backend()}
	if sf.DB == "" {
		attrs = append(attrs, "data", sf.Data)
	}
	if v, ok := st.(schemaVersioner); ok {
		if n, err := v.SchemaVersion(ctx); err == nil {
			attrs = append(attrs, "schema", n)
		}
	}
	log.Info("store ready", attrs...)
	met := metrics.New()
	st = met.Store(st) // every call timed, for /metrics

	if mf.once {
		pl, err := mf.poller(st, sf.Data, nil, log.With("channel", "mail"))
		if err != nil {
			return err
		}
		return runMailOnce(ctx, pl, stdout)
	}

	if sim.addr != "" {
		caFile := filepath.Join(sf.Data, "smsc-sim-ca.pem")
		srv, err := sim.start(caFile)
		if err != nil {
			return err
		}
		defer srv.Close()
		attrs := []any{"addr", srv.Addr, "system_id", cmp.Or(sim.systemID, "(any)")}
		if sim.tls {
			attrs = append(attrs, "tls", true, "ca", caFile)
		}
		log.Info("smsc simulator listening", attrs...)
		if err := sim.defaultOperator(ctx, st, srv.Addr); err != nil {
			return err
		}
	}

	if msim.path != "" {
		_, stop, err := msim.start()
		if err != nil {
			return err
		}
		defer stop()
		log.Info("modem simulator ready", "device", msim.path, "operator", modemSimOperator(msim.path))
		if err := msim.operator(ctx, st); err != nil {
			return err
		}
	}

	gw, err := gateway.New(gateway.Config{Store: st, Numbering: nf.Numbering, StaleAfter: *claimLease,
		Logger: log.With("channel", "sms")})
	if err != nil {
		return err
	}
	met.AddGateway(gw)
	hooks := &webhook.Dispatcher{Store: st, MinBackoff: *hookBackoff, Logger: log.With("channel", "webhooks")}
	met.AddWebhooks(hooks)
	stopHooks := runWebhooks(ctx, hooks)
	defer stopHooks()
	gwCtx, stopGateway := context.WithCancel(context.WithoutCancel(ctx))
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(gwCtx) }()
	log.Info("sms gateway running")
	dropDone := make(chan error, 1)
	if *dropDirPath != "" {
		dd := newDropDir(*dropDirPath, gw, st, log.With("channel", "sms"))
		go func() { dropDone <- dd.run(gwCtx) }()
		log.Info("sms drop folder watched", "dir", *dropDirPath)
	} else {
		dropDone <- nil
	}

	stopChat := func(context.Context) error { return nil }
	var chatSrv *chat.Server
	if cf.addr != "" {
		var addr string
		var tickets *mailticket.Processor
		if cf.leaveMessages {
			if tickets, err = mf.processor(st, sf.Data, gw, log.With("channel", "mail")); err != nil {
				stopGateway()
				<-gwDone
				return err
			}
		}
		var mailer func(context.Context, store.Transcript, string) error
		if mf.smtp != "" && err == nil {
			var sender mailticket.Sender
			if sender, err = mailticket.ParseSMTPURL(mf.smtp); err == nil {
				mailer = transcriptMailer(sender, mf.address)
			}
		}
		if err == nil {
			addr, chatSrv, stopChat, err = cf.start(st, sf.Data, files, tickets, mailer, log.With("channel", "chat"))
		}
		if err != nil {
			stopGateway()
			<-gwDone
			return err
		}
		met.AddChat(chatSrv)
		log.Info("chat listening", "addr", addr)
	}
	mailDone := make(chan error, 1)
	mailCtx, stopMail := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMail()
	if mf.enabled() {
		pl, err := mf.poller(st, sf.Data, gw, log.With("channel", "mail"))
		if err != nil {
			stopGateway()
			<-gwDone
			return err
		}
		logResult := pl.OnResult
		pl.OnResult = func(src mailticket.Source, r mailticket.Result) {
			logResult(src, r)
			met.MailResult(src, r)
		}
		go func() {
			defer closeSources(pl)
			mailDone <- pl.Run(mailCtx)
		}()
		log.Info("mail poller running", "sources", len(pl.Sources), "replies", pl.Sender != nil)
	} else {
		mailDone <- nil
	}
	stopHTTP := func(context.Context) error { return nil }
	if hf.addr != "" {
		var url string
		var tickets *mailticket.Processor
		var sender mailticket.Sender
		if mf.smtp != "" {
			if tickets, err = mf.processor(st, sf.Data, gw, log.With("channel", "mail")); err == nil {
				sender, err = mailticket.ParseSMTPURL(mf.smtp)
			}
		}
		if err == nil {
			url, stopHTTP, err = hf.start(ctx, st, gw, nf.Numbering, tickets, sender, met, hooks, chatSrv, log.With("channel", "http"))
		}
		if err != nil {
			stopMail()
			<-mailDone
			stopGateway()
			<-gwDone
			return err
		}
		log.Info("http api listening", "url", url)
		log.Info("web console", "url", strings.TrimSuffix(url, "api/v1/")+"console/")
		if chatSrv != nil {
			log.Info("chat widget", "url", strings.TrimSuffix(url, "api/v1/")+"chat/")
		}
	}
	log.Info("running; stop with SIGINT or SIGTERM")

	<-ctx.Done()
	log.Info("shutting down", "reason", context.Cause(ctx))
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stopHTTP(sctx); err != nil {
		log.Error("http api shutdown", "err", err)
	}
	if err := stopChat(sctx); err != nil {
		log.Error("chat shutdown", "err", err)
	}
	stopMail()
	<-mailDone
	stopGateway()
	if err := <-gwDone; err != nil {
		log.Error("sms gateway", "err", err)
	}
	if err := <-dropDone; err != nil {
		log.Error("sms drop folder", "err", err)
	}
	stopHooks()
	if err := st.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// runWebhooks runs d until the returned stop is called (or ctx ends and
// stop is called); stop waits for the requests in flight and may be
// called more than once.
func runWebhooks(ctx context.Context, d *webhook.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
