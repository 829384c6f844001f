package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
)

// tlsFlags choose TLS for a chat connection.
type tlsFlags struct {
	on         bool
	ca         string
	serverName string
}

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "tls", false, "connect with TLS (operators must, except on this machine)")
	fs.StringVar(&f.ca, "ca", "", "PEM file of the CA that signed the server's certificate (default: the system's roots)")
	fs.StringVar(&f.serverName, "server-name", "", "name to verify the server's certificate against (default: the host of -addr)")
}

// config is the TLS configuration for addr, or nil without -tls.
func (f *tlsFlags) config(addr string) (*tls.Config, error) {
	if !f.on {
		if f.ca != "" || f.serverName != "" {
			return nil, fmt.Errorf("-ca and -server-name need -tls")
		}
		return nil, nil
	}
	cfg := &tls.Config{ServerName: f.serverName, MinVersion: tls.VersionTLS12}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		cfg.ServerName = host
	}
	if f.ca != "" {
		pem, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", f.ca)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
