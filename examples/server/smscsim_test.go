package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp"
	"github.com/switchboard-go/switchboard/smpp/gateway"
	"github.com/switchboard-go/switchboard/smpp/smpptest"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// With -smsc-sim-tls the simulator speaks only TLS, its CA is written
// beside the database, and the gateway reaches it through the simulator
// operator, which trusts that CA: a message loaded into the store is
// delivered over TLS end to end.
func TestSimulatorOverTLS(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuffer
	ctx, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "127.0.0.1:0", "-smsc-sim-tls",
		"-smsc-sim-receipt-delay", "10ms", "-chat-addr", ""}, &logs)
	defer stop()
	waitFor(t, &logs, "sms gateway running")
	m := regexp.MustCompile(`msg="smsc simulator listening" addr=(\S+) .*tls=true ca=(\S+)`).FindStringSubmatch(logs.String())
	require.NotNil(t, m, "logs:\n%s", logs.String())
	addr, caFile := m[1], m[2]
	assert.Equal(t, filepath.Join(dir, "smsc-sim-ca.pem"), caFile)

	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := smpp.Dial(short, addr, &smpp.Options{SystemID: "plain", ResponseTimeout: time.Second})
	assert.Error(t, err, "bound in clear to a TLS simulator")
	pem, err := os.ReadFile(caFile)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem))
	c, err := smpp.Dial(ctx, addr, &smpp.Options{SystemID: "tls", TLSConfig: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}})
	require.NoError(t, err)
	c.Close()

	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	g, err := gateway.New(gateway.Config{Store: st})
	require.NoError(t, err)
	rep, err := g.LoadCSV(ctx, gateway.Batch{Client: "acme", Name: "tls", CSV: strings.NewReader("+584141234567,hola por TLS,a\n")})
	require.NoError(t, err)
	require.Equal(t, 1, rep.Inserted)
	require.Eventually(t, func() bool {
		tr, err := st.LastTransmissionTo(ctx, "584141234567")
		return err == nil && tr.State == store.TxDelivered
	}, 20*time.Second, 20*time.Millisecond, "not delivered over TLS")
}

// operator -tls-ca/-tls-cert/-tls-key keep the files' contents with the
// operator; a CA that is not PEM, or a certificate without its key, is
// refused before anything is saved.
func TestOperatorTLSFlags(t *testing.T) {
	dir := t.TempDir()
	pki, err := smpptest.NewPKI()
	require.NoError(t, err)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	ca, cert, key := write("ca.pem", pki.CAPEM), write("c.pem", pki.ClientCertPEM), write("c.key", pki.ClientKeyPEM)
	bad := write("bad.pem", []byte("not a certificate"))
	ctx := context.Background()
	var out, errOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"operator", "-data", dir, "-name", "secure", "-host", "smsc.example", "-tls",
		"-tls-ca", ca, "-tls-cert", cert, "-tls-key", key, "-tls-server-name", "smsc.internal"}, &out, &errOut), errOut.String())
	for _, args := range [][]string{
		{"-tls", "-tls-ca", bad},
		{"-tls", "-tls-cert", cert},
		{"-tls-ca", ca}, // without -tls
		{"-tls", "-tls-ca", filepath.Join(dir, "missing.pem")},
	} {
		err := run(ctx, append([]string{"operator", "-data", dir, "-name", "broken"}, args...), &out, &errOut)
		assert.Error(t, err, "%v", args)
	}

	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	ops, err := st.Operators(ctx)
	require.NoError(t, err)
	require.Len(t, ops, 1, "a broken operator was saved")
	got := map[string]string{}
	for _, p := range ops[0].Params {
		got[p.Name] = p.Value
	}
	assert.Equal(t, string(pki.CAPEM), got["tls_ca"])
	assert.Equal(t, string(pki.ClientKeyPEM), got["tls_key"])
	assert.Equal(t, "smsc.internal", got["tls_server_name"])
	assert.True(t, ops[0].TLS)
}

// Two servers on one store, each with its own simulator: the second does
// not rewrite the first's simulator operator (which the gateways of both
// use), and a restart updates only its own.
func TestSimulatorOperatorBelongsToItsProcess(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "shared.db"), nil)
	require.NoError(t, err)
	defer st.Close()
	a := &simFlags{addr: "127.0.0.1:2775"}
	b := &simFlags{addr: "127.0.0.1:2776"}
	require.NoError(t, a.defaultOperator(ctx, st, "127.0.0.1:2775"))
	require.NoError(t, b.defaultOperator(ctx, st, "127.0.0.1:2776"))
	require.NoError(t, a.defaultOperator(ctx, st, "127.0.0.1:2775"))
	ops, err := st.Operators(ctx)
	require.NoError(t, err)
	require.Len(t, ops, 1)
	assert.Equal(t, "simulator@127.0.0.1:2775", ops[0].Name)
	assert.Equal(t, 2775, ops[0].Port)
	assert.True(t, ops[0].Default)
	before := ops[0].UpdatedAt
	require.NoError(t, b.defaultOperator(ctx, st, "127.0.0.1:2776"))
	op, err := st.Operator(ctx, ops[0].ID)
	require.NoError(t, err)
	assert.Equal(t, before, op.UpdatedAt, "the other process's operator was rewritten")

	// A simulator on port 0 keeps its operator across restarts.
	c := &simFlags{addr: "127.0.0.1:0"}
	st2, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "own.db"), nil)
	require.NoError(t, err)
	defer st2.Close()
	require.NoError(t, c.defaultOperator(ctx, st2, "127.0.0.1:40001"))
	require.NoError(t, c.defaultOperator(ctx, st2, "127.0.0.1:40002"))
	ops, err = st2.Operators(ctx)
	require.NoError(t, err)
	require.Len(t, ops, 1)
	assert.Equal(t, 40002, ops[0].Port)
}
