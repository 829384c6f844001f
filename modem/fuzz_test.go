package modem

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParse: no PDU, however malformed, panics a parser; what parses as
// a deliver has text within the limits.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07",
		"0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9",
		"06040D91945152991136F00160124130340A0160124130940A00",
		"0011000B916407281553F80000AA0AE8329BFD4697D9EC37",
		"0041000B915448211043F50000A00500034202010A", "00", "FF", "",
	} {
		b, _ := DecodeHex(s)
		f.Add(b, len(b)-1)
	}
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if d, err := ParseDeliver(b, n); err == nil && len(d.Text) > 4*160 {
			t.Fatalf("a deliver of %d bytes of text", len(d.Text))
		}
		ParseStatusReport(b, n)
		ParseSubmit(b, n)
	})
}

// pipeConn is a modem connection whose reads come from a pipe the test
// writes, and whose writes are dropped.
type pipeConn struct {
	*io.PipeReader
}

func (pipeConn) Write(p []byte) (int, error) { return len(p), nil }

// FuzzLines: whatever a modem sends (lines, prompts, codes, garbage,
// lines over the limit, two-line codes cut short) while commands run,
// the driver neither panics nor hangs, and Close returns.
func FuzzLines(f *testing.F) {
	for _, s := range []string{
		"\r\nOK\r\n",
		"\r\n+CSQ: 20,0\r\n\r\nOK\r\n\r\n+CMTI: \"SM\",3\r\n",
		"\r\n+CDS: 24\r\n0606098121436587F9019012413064A0019012413045A000\r\n",
		"\r\n+CDS: 24\r\n",
		"> \r\n+CMGS: 7\r\n\r\nOK\r\n",
		"\r\n+CMS ERROR: 42\r\nRDY\r\n+CME ERROR: SIM busy\r\nERROR\r\n",
		"\r\n+CMT: ,27\r\n0791447758100650040DD0F334FC1CA6970100008080312170224008D4F29CDE0EA7D9\r\n",
		strings.Repeat("A", MaxLine+10) + "\r\nOK\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pr, pw := io.Pipe()
		m := New(pipeConn{pr}, Config{CommandTimeout: time.Second, SendTimeout: time.Second,
			OnMessage: func(context.Context, Message) error { return nil }})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			m.Health(ctx)
			m.Send(ctx, "584141234567", "hola", 1)
		}()
		for chunk := range slices.Chunk(data, 7) {
			pw.Write(chunk)
		}
		pw.Close() // the modem goes away: whatever waits fails
		<-done
		m.Close()
	})
}
