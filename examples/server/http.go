package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chatws"
	"github.com/switchboard-go/switchboard/examples/internal/api"
	"github.com/switchboard-go/switchboard/examples/internal/console"
	"github.com/switchboard-go/switchboard/examples/internal/metrics"
	"github.com/switchboard-go/switchboard/examples/internal/widget"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/webhook"
)

// httpFlags configure the HTTP API.
type httpFlags struct {
	addr, certFile, keyFile string
	proxyHeader             string
	publicURL               string
}

func (h *httpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.addr, "http", "127.0.0.1:8080", `serve the HTTP API on ADDR ("" disables it)`)
	fs.StringVar(&h.certFile, "tls-cert", "", "serve the HTTP API over TLS with this certificate (PEM; with -tls-key)")
	fs.StringVar(&h.keyFile, "tls-key", "", "the private key of -tls-cert (PEM)")
	fs.StringVar(&h.publicURL, "http-public-url", "", "behind a reverse proxy that ends TLS: the site's origin as browsers see it (e.g. https://support.example.com), which the console's forms come from")
	fs.StringVar(&h.proxyHeader, "http-client-header", "", "behind a reverse proxy: the header (X-Real-IP, or X-Forwarded-For's last address) that gives the widget customers' addresses for the chat's per-address limits; only for requests from loopback, the proxy's")
}

// clientAddr reads the customer's address from the proxy's header, for
// requests that come from loopback (the proxy on this machine); a request
// from elsewhere, or without the header, is counted by its own address.
func (h *httpFlags) clientAddr(r *http.Request) string {
	if h.proxyHeader == "" {
		return ""
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return ""
	}
	v := r.Header.Values(h.proxyHeader)
	if len(v) == 0 {
		return ""
	}
	last := v[len(v)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 { // X-Forwarded-For: the address the proxy added
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}

// start serves the API until stop is called; url is where it listens.
// tickets and sender answer tickets (nil without -smtp).
func (h *httpFlags) start(ctx context.Context, st store.Store, gw *gateway.Gateway, n gateway.Numbering,
	tickets *mailticket.Processor, sender mailticket.Sender, met *metrics.Metrics, hooks *webhook.Dispatcher, chatSrv *chat.Server,
	log *slog.Logger) (url string, stop func(context.Context) error, err error) {
	if (h.certFile == "") != (h.keyFile == "") {
		return "", nil, errors.New("-tls-cert and -tls-key go together")
	}
	if h.publicURL != "" {
		u, err := neturl.Parse(h.publicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			return "", nil, fmt.Errorf("-http-public-url %q: want the site's origin, such as https://support.example.com", h.publicURL)
		}
	}
	a := &api.Server{Store: st, Gateway: gw, Numbering: n, Tickets: tickets, Mail: sender, Metrics: met.Handler(), Webhooks: hooks, Logger: log}
	con := &console.Server{Store: st, Prefix: "/console", Webhooks: hooks, Chat: chatSrv, Gateway: gw, Tickets: tickets, Mail: sender, PublicOrigin: strings.TrimSuffix(h.publicURL, "/"), Logger: log}
	consoleHandler, err := con.Handler()
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", a.Handler())
	mux.Handle("/console/", http.StripPrefix("/console", consoleHandler))
	if chatSrv != nil { // the customers' chat widget and its WebSocket
		mux.Handle("/chat/", http.StripPrefix("/chat", widget.Handler(chatSrv, chatws.Handler{ClientAddr: h.clientAddr})))
	}
	srv := &http.Server{Handler: met.Instrument(mux), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if h.certFile != "" {
		cert, err := tls.LoadX509KeyPair(h.certFile, h.keyFile)
		if err != nil {
			return "", nil, fmt.Errorf("-tls-cert/-tls-key: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	l, err := net.Listen("tcp", h.addr)
	if err != nil {
		return "", nil, fmt.Errorf("-http: %w", err)
	}
	go func() {
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(l, "", "")
		} else {
			err = srv.Serve(l)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http api stopped", "err", err)
		}
	}()
	if ts, err := st.APITokens(ctx); err == nil && len(ts) == 0 {
		log.Info("no API token yet: make one with `server api-token -name NAME` (add -client C to limit it to a client)")
	}
	return scheme + "://" + l.Addr().String() + "/api/v1/", srv.Shutdown, nil
}
