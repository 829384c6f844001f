package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/smpp/smpptest"
)

// send sms against every way an SMSC can misbehave: it exits within the
// response timeout (plus the bind), with a clear error when the message's
// fate is unknown, and never hangs or panics.
func TestSMSAgainstAHostileSMSC(t *testing.T) {
	const timeout = 500 * time.Millisecond
	for _, fault := range smpptest.Faults() {
		t.Run(fault.String(), func(t *testing.T) {
			sim := smpptest.NewServer(nil)
			defer sim.Close()
			sim.SetFault(fault)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, errOut bytes.Buffer
			start := time.Now()
			err := run(ctx, []string{"sms", "-smsc", sim.Addr, "-timeout", timeout.String(), "-wait", "0", "584141234567", "hola"}, &out, &errOut)
			took := time.Since(start)
			t.Logf("%v in %v; %s", err, took, strings.TrimSpace(out.String()))
			assert.Less(t, took, 2*timeout, "took longer than the response timeout")
			switch fault {
			case smpptest.FaultWrongResponse, smpptest.FaultGenericNackOK, smpptest.FaultMalformedResponse:
				require.Error(t, err)
				assert.Contains(t, err.Error(), "submit_sm")
				assert.Contains(t, err.Error(), "may duplicate")
				assert.Contains(t, err.Error(), map[smpptest.Fault]string{smpptest.FaultWrongResponse: "answered with deliver_sm_resp",
					smpptest.FaultGenericNackOK: "generic_nack of status 0", smpptest.FaultMalformedResponse: "reached the peer"}[fault])
			case smpptest.FaultPartialThenStall:
				require.Error(t, err)
				assert.Contains(t, err.Error(), "timeout")
				assert.Contains(t, err.Error(), "may duplicate")
			case smpptest.FaultReorder, smpptest.FaultSlowReads, smpptest.FaultDropAfterBind:
				// One message: answered in time (a drop after bind comes
				// after the answer).
				require.NoError(t, err)
				assert.Contains(t, out.String(), "submitted in 1 part(s)")
			}
		})
	}
}

// send sms over TLS to an SMSC that asks for a client certificate; a
// client certificate without its key, and TLS flags without -tls, are
// refused before connecting.
func TestSMSOverTLS(t *testing.T) {
	pki, err := smpptest.NewPKI()
	require.NoError(t, err)
	sim := smpptest.NewServer(&smpptest.Config{TLSConfig: pki.ServerConfig(true), ReceiptDelay: time.Millisecond})
	defer sim.Close()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	ca, cert, key := write("ca.pem", pki.CAPEM), write("client.pem", pki.ClientCertPEM), write("client.key", pki.ClientKeyPEM)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"sms", "-smsc", sim.Addr, "-tls", "-ca", ca, "-server-name", "localhost",
		"-cert", cert, "-key", key, "584141234567", "hola"}, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "stat=DELIVRD")
	require.Len(t, sim.Submitted(), 1)

	for args, want := range map[string]string{
		"-tls -ca " + ca + " -cert " + cert: "-cert and -key go together",
		"-ca " + ca:                         "-ca needs -tls",
		"-tls":                              "certificate", // the system's roots do not know the test CA
	} {
		err := run(ctx, append(append([]string{"sms", "-smsc", sim.Addr}, strings.Fields(args)...), "584141234567", "hola"), &out, &errOut)
		require.Error(t, err, args)
		assert.Contains(t, err.Error(), want, args)
	}
	assert.Len(t, sim.Submitted(), 1, "sent without the right TLS")
}
