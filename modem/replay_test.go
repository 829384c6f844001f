package modem

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replayer answers commands from recorded answers, and records the
// commands it got.
type replayer struct {
	mu      sync.Mutex
	answers map[string]string
	got     []string
}

func (r *replayer) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\r')
		if err != nil {
			return
		}
		cmd := strings.TrimSpace(line)
		r.mu.Lock()
		r.got = append(r.got, cmd)
		ans, ok := r.answers[cmd]
		r.mu.Unlock()
		if !ok {
			ans = "OK"
			if strings.HasPrefix(cmd, "AT+CPIN?") {
				ans = "+CPIN: READY\r\n\r\nOK"
			}
		}
		if _, err := io.WriteString(c, "\r\n"+ans+"\r\n"); err != nil {
			return
		}
	}
}

// A real modem's AT+CMGL=4 answer (see testdata/README.md) replayed:
// the three whole messages are handed over with their senders, times and
// texts, and deleted; the lone first part of a long message is kept on
// the SIM until its second part comes.
func TestReplayStoredMessages(t *testing.T) {
	raw, err := os.ReadFile("testdata/cmgl-python-gsmmodem.txt")
	require.NoError(t, err)
	r := &replayer{answers: map[string]string{"AT+CMGL=4": strings.ReplaceAll(strings.TrimSpace(string(raw)), "\n", "\r\n")}}
	a, b := net.Pipe()
	go r.serve(b)
	var mu sync.Mutex
	var got []Message
	m := New(a, Config{OnMessage: func(_ context.Context, msg Message) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, msg)
		return nil
	}})
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, m.Init(ctx))
	require.Eventually(t, func() bool { // handed over on the worker
		r.mu.Lock()
		defer r.mu.Unlock()
		return slices.Contains(r.got, "AT+CMGD=2")
	}, 5*time.Second, 5*time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 3)
	want := []struct{ from, when, text string }{
		{"+27748577604", "2013-01-28T14:51:42+02:00", "Hello raspberry pi"},
		{"+2784000153099999", "2013-02-07T01:31:44+02:00", "New and here to stay! Don't just recharge SUPACHARGE and get your recharged airtime+FREE CellC to CellC mins & SMSs+Free data to use anytime. T&C apply. Cell C"},
		{"+27840001463", "2013-02-07T06:24:02+02:00", "Standard Bank: Your accounts are no longer FICA compliant. Please bring ID & proof of residence to any branch to reactivate your accounts. Queries? 0860003422."},
	}
	for i, w := range want {
		assert.Equal(t, w.from, got[i].From)
		assert.Equal(t, w.when, got[i].SCTS.Format(time.RFC3339))
		assert.Equal(t, w.text, got[i].Text)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	assert.Contains(t, r.got, "AT+CMGD=0")
	assert.Contains(t, r.got, "AT+CMGD=1")
	assert.Contains(t, r.got, "AT+CMGD=2")
	assert.NotContains(t, r.got, "AT+CMGD=3", "part 1 of 2 waits on the SIM for part 2")

	// Its text, read alone, is the sender's (5433, alphanumeric) start.
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	pdu, err := DecodeHex(lines[7])
	require.NoError(t, err)
	d, err := ParseDeliver(pdu, 159)
	require.NoError(t, err)
	assert.Equal(t, "5433", d.From)
	assert.Equal(t, uint8(2), d.Concat.Total)
	assert.Equal(t, "Balans 15.00hrn, bonus 0.00hrn.\n***\nBezlimit na life:) 100 hv po 15 kop. 40.0 MB Internet po taryfu. 34 SMS po Ukraini. Paket poslug splacheno do 17.04.1", d.Text)
	assert.Equal(t, "2015-04-01T19:37:31+03:00", d.SCTS.Format(time.RFC3339))
}
