package gateway

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
)

// An operator reached over TLS with its own CA, a server name of its
// own and a client certificate, and one whose SMSC passes national
// language tables through: messages are delivered, the Spanish text in
// GSM 7-bit parts. An operator whose SMSC is signed by a CA it does not
// trust is never bound, and its messages wait: nothing is sent in clear.
func TestOperatorTLSAndLanguages(t *testing.T) {
	pki, err := smpptest.NewPKI()
	require.NoError(t, err)
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := testCtx(t, 60*time.Second)
		secure := smpptest.NewServer(&smpptest.Config{TLSConfig: pki.ServerConfig(true), ReceiptDelay: time.Millisecond})
		defer secure.Close()
		other, err := smpptest.NewPKI()
		require.NoError(t, err)
		untrusted := smpptest.NewServer(&smpptest.Config{TLSConfig: other.ServerConfig(false)})
		defer untrusted.Close()

		gw := func(name, value string) store.OperatorParam {
			return store.OperatorParam{Command: "gateway", Name: name, Value: value}
		}
		addOperator(t, st, "secure", secure, func(o *store.Operator) {
			o.TLS, o.Prefixes = true, []string{"58414"}
			o.Params = append(o.Params, gw("tls_ca", string(pki.CAPEM)), gw("tls_server_name", "localhost"),
				gw("tls_cert", string(pki.ClientCertPEM)), gw("tls_key", string(pki.ClientKeyPEM)), gw("languages", "es,pt"))
		})
		addOperator(t, st, "untrusted", untrusted, func(o *store.Operator) {
			o.TLS, o.Prefixes = true, []string{"58412"}
			o.Params = append(o.Params, gw("tls_ca", string(pki.CAPEM)))
		})
		g := startGateway(t, st)

		spanish := strings.Repeat("Envío recibido: ¿Cuándo llegará? Información útil. ", 4) // 204 characters with accents
		var b strings.Builder
		for i := range 5 {
			fmt.Fprintf(&b, "0414%07d,%s,s%d\n", i, spanish, i)
		}
		b.WriteString("04121234567,hola,u\n")
		rep, err := g.LoadCSV(ctx, Batch{Client: "acme", Name: "tls", CSV: strings.NewReader(b.String())})
		require.NoError(t, err)
		require.Equal(t, 6, rep.Inserted)

		require.Eventually(t, func() bool {
			tr, err := st.LastTransmissionTo(ctx, "584140000004")
			return err == nil && tr.State == store.TxDelivered
		}, 30*time.Second, 20*time.Millisecond)
		subs := secure.Submitted()
		require.NotEmpty(t, subs)
		parts := map[string][]smpptest.Submission{}
		for _, s := range subs {
			parts[s.Dest] = append(parts[s.Dest], s)
		}
		for dest, ps := range parts {
			assert.Len(t, ps, 2, "%s: GSM 7-bit with the Spanish table takes 2 parts (UCS-2: 4)", dest)
			slices.SortFunc(ps, func(a, b smpptest.Submission) int { return int(a.Concat.Seq) - int(b.Concat.Seq) })
			var text string
			for _, p := range ps {
				assert.Equal(t, coding.GSM7, coding.DataCoding(p.DataCoding).Alphabet())
				text += p.Text
			}
			assert.Equal(t, strings.TrimSpace(spanish), text)
		}

		time.Sleep(300 * time.Millisecond) // several dial attempts at the gateway's backoff
		status, err := g.Operators(ctx, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		for _, s := range status {
			if s.Name == "untrusted" {
				assert.Zero(t, s.Bound, "bound to an SMSC signed by an unknown CA")
			}
		}
		assert.Empty(t, untrusted.Submitted())
		tr, err := st.LastTransmissionTo(ctx, "584121234567")
		require.NoError(t, err)
		assert.False(t, tr.State.Final(), "the message to the untrusted operator gave up: %+v", tr)
	})
}

// The TLS and language parameters are checked when the operator is saved:
// a CA that is not PEM, half a client key pair, a TLS parameter of an
// operator without TLS, an unknown language.
func TestTLSAndLanguageParams(t *testing.T) {
	pki, err := smpptest.NewPKI()
	require.NoError(t, err)
	gw := func(name, value string) store.OperatorParam {
		return store.OperatorParam{Command: "gateway", Name: name, Value: value}
	}
	op := store.Operator{Name: "x", Host: "smsc.example", Port: 3550, TLS: true, Params: []store.OperatorParam{
		gw("tls_ca", string(pki.CAPEM)), gw("tls_cert", string(pki.ClientCertPEM)), gw("tls_key", string(pki.ClientKeyPEM)),
		gw("languages", "Spanish, pt ,tr"), gw("inbound_packed", "true")}}
	p, err := newProfile(op)
	require.NoError(t, err)
	assert.Equal(t, "smsc.example", p.opts.TLSConfig.ServerName)
	assert.NotNil(t, p.opts.TLSConfig.RootCAs)
	assert.Len(t, p.opts.TLSConfig.Certificates, 1)
	assert.Equal(t, []coding.Language{coding.Spanish, coding.Portuguese, coding.Turkish}, p.split.Languages)
	assert.True(t, p.opts.InboundPackedGSM)

	for _, c := range []struct {
		tls    bool
		params []store.OperatorParam
		want   string
	}{
		{true, []store.OperatorParam{gw("tls_ca", "not a certificate")}, "no PEM certificate"},
		{true, []store.OperatorParam{gw("tls_cert", string(pki.ClientCertPEM))}, "go together"},
		{true, []store.OperatorParam{gw("tls_cert", string(pki.ClientCertPEM)), gw("tls_key", string(pki.CAPEM))}, "client certificate"},
		{false, []store.OperatorParam{gw("tls_server_name", "smsc")}, "does not use TLS"},
		{true, []store.OperatorParam{gw("languages", "es,klingon")}, "unknown language"},
		{true, []store.OperatorParam{gw("inbound_packed", "sometimes")}, "true or false"},
	} {
		op := store.Operator{Name: "x", Host: "smsc.example", Port: 3550, TLS: c.tls, Params: c.params}
		_, err := newProfile(op)
		require.Error(t, err, "%+v", c.params)
		assert.Contains(t, err.Error(), c.want)
		assert.NotContains(t, err.Error(), "PRIVATE KEY", "a key in an error message")
	}
}
