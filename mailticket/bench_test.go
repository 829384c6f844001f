package mailticket

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-go/switchboard/store/sqlite"
)

// benchMail is a 10 KB customer mail: quoted-printable text and an HTML
// alternative, as bench/mail delivers.
func benchMail(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Customer %d <customer%d@company%d.example>\r\nTo: Support <support@example.net>\r\n", i, i%300, i%40)
	fmt.Fprintf(&b, "Subject: =?UTF-8?Q?Incidencia_n=C2=BA_%d?=\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n", i)
	fmt.Fprintf(&b, "Message-ID: <bench-%d@company.example>\r\nMIME-Version: 1.0\r\n", i)
	b.WriteString("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n")
	b.WriteString("--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	for j := 0; j < 75; j++ {
		b.WriteString("El sistema de facturaci=C3=B3n no responde desde esta ma=C3=B1ana y los =\r\n")
	}
	b.WriteString("\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>")
	b.WriteString(strings.Repeat("El sistema de facturaci&oacute;n no responde. ", 70))
	b.WriteString("</p></body></html>\r\n--alt--\r\n")
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	raw := benchMail(1)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessBatch stores batches of 100 new mails in SQLite (one
// transaction per batch), replies queued.
func BenchmarkProcessBatch(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "b.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := &Processor{Store: st, Domain: "support.example.net", Secret: []byte("0123456789abcdef0123"),
		Addresses: []string{"support@example.net"}}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		ds := make([]Delivery, 100)
		for i := range ds {
			n++
			ds[i] = Delivery{SourceKey: fmt.Sprint(n), Raw: benchMail(n)}
		}
		if _, err := p.ProcessBatch(ctx, ds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "mails/s")
}
