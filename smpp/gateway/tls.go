package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-go/switchboard/smpp/coding"
)

// applyTLS sets one of an operator's TLS parameters: the name to verify
// the SMSC's certificate against (tls_server_name; default the host),
// the CA that signed it (tls_ca, PEM; default the system's roots), and
// the client certificate and key to present (tls_cert, tls_key, PEM).
// The PEM is kept in the store with the operator, like its password, so
// every gateway process sharing the store connects alike.
func (p *profile) applyTLS(name, value string) error {
	switch name {
	case "tls_server_name":
		p.opts.TLSConfig.ServerName = value
	case "tls_ca":
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(value)) {
			return errors.New("no PEM certificate")
		}
		p.opts.TLSConfig.RootCAs = pool
	case "tls_cert":
		p.certPEM = value
	case "tls_key":
		p.keyPEM = value
	}
	return nil
}

// finishTLS pairs the client certificate with its key.
func (p *profile) finishTLS() error {
	if p.certPEM == "" && p.keyPEM == "" {
		return nil
	}
	if p.certPEM == "" || p.keyPEM == "" {
		return errors.New("gateway.tls_cert and gateway.tls_key go together")
	}
	cert, err := tls.X509KeyPair([]byte(p.certPEM), []byte(p.keyPEM))
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	p.opts.TLSConfig.Certificates = []tls.Certificate{cert}
	return nil
}

// parseLanguages reads gateway.languages: national language tables the
// operator's SMSC passes through, by name or ISO 639-1 code, comma
// separated ("es,pt" or "Spanish, Portuguese").
func parseLanguages(v string) ([]coding.Language, error) {
	var langs []coding.Language
	for _, f := range strings.Split(v, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		l, ok := languageByName[f]
		if !ok {
			return nil, fmt.Errorf("unknown language %q (want e.g. tr, es, pt, hi)", f)
		}
		langs = append(langs, l)
	}
	return langs, nil
}

var languageByName = func() map[string]coding.Language {
	m := map[string]coding.Language{}
	codes := []string{"", "tr", "es", "pt", "bn", "gu", "hi", "kn", "ml", "or", "pa", "ta", "te", "ur"}
	for l := coding.Turkish; l <= coding.Urdu; l++ {
		m[strings.ToLower(l.String())] = l
		m[codes[l]] = l
	}
	return m
}()
