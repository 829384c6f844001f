package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
)

// tlsFlags choose TLS for a connection.
type tlsFlags struct {
	on              bool
	ca              string
	serverName      string
	certFile, keyFN string // a client certificate (registerClientCert)
}

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "tls", false, "connect with TLS (operators must, except on this machine)")
	fs.StringVar(&f.ca, "ca", "", "PEM file of the CA that signed the server's certificate (default: the system's roots)")
	fs.StringVar(&f.serverName, "server-name", "", "name to verify the server's certificate against (default: the host of the address)")
}

// registerClientCert adds -cert and -key, for servers that ask for a
// client certificate.
func (f *tlsFlags) registerClientCert(fs *flag.FlagSet) {
	fs.StringVar(&f.certFile, "cert", "", "PEM file of a client certificate to present, with -key")
	fs.StringVar(&f.keyFN, "key", "", "PEM file of the key of -cert")
}

// config is the TLS configuration for addr, or nil without -tls.
func (f *tlsFlags) config(addr string) (*tls.Config, error) {
	if !f.on {
		for name, v := range map[string]string{"-ca": f.ca, "-server-name": f.serverName, "-cert": f.certFile, "-key": f.keyFN} {
			if v != "" {
				return nil, fmt.Errorf("%s needs -tls", name)
			}
		}
		return nil, nil
	}
	if (f.certFile == "") != (f.keyFN == "") {
		return nil, fmt.Errorf("-cert and -key go together")
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
	if f.certFile != "" {
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFN)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
