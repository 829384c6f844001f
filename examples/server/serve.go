package main

import (
	"cmp"
	"context"
	"flag"
	"io"
	"log/slog"

	"github.com/switchboard-go/switchboard/examples/internal/storeflag"
)

type schemaVersioner interface {
	SchemaVersion(ctx context.Context) (int, error)
}

// serve opens the store and runs until ctx is done.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeflag.Flags
	sf.Register(fs)
	var sim simFlags
	sim.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

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

	if sim.addr != "" {
		srv, err := sim.start()
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info("smsc simulator listening", "addr", srv.Addr, "system_id", cmp.Or(sim.systemID, "(any)"))
	}
	log.Info("running; stop with SIGINT or SIGTERM")

	<-ctx.Done()
	log.Info("shutting down", "reason", context.Cause(ctx))
	if err := st.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
