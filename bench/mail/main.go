// Command mail measures mail-to-ticket ingestion from a real Dovecot over
// IMAP into SQLite (fetch, parse, thread, store with the receipt, queue the
// automatic reply, flag \Seen) next to a raw UID FETCH BODY.PEEK[] of the
// same mails with the same IMAP client library, and prints the medians of
// repeated runs, the CPU time this process spends a mail on either side,
// and one summary line:
//
//	mail-ingest ours=N/s raw=N/s floor=N/s ours/floor=R
//
// floor is the cheapest write of the rows and bytes the same number of
// new-ticket mails leave in SQLite (internal/mailfloor: one multi-row
// INSERT per table for 100 mails, no reads, one commit), measured in the
// same run: no ingestion can be faster, so ours/floor says how much of
// the store's ceiling the pipeline reaches.
//
// The program starts its own Dovecot (the Debian packages dovecot-imapd
// and dovecot-pop3d must be installed) on loopback, delivers -n mails of
// about -size bytes as Maildir files, and, before each run of ours, clears
// the \Seen flags and starts from an empty database.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/switchboard-go/switchboard/bench/internal/profile"
	"github.com/switchboard-go/switchboard/bench/internal/stats"
	"github.com/switchboard-go/switchboard/internal/dovetest"
	"github.com/switchboard-go/switchboard/internal/mailfloor"
	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

var (
	runs       = flag.Int("runs", 5, "repetitions; medians are reported")
	n          = flag.Int("n", 2000, "mails in the mailbox")
	size       = flag.Int("size", 10<<10, "approximate size of each mail in bytes")
	batch      = flag.Int("batch", 100, "mails per UID FETCH")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the runs of ours to this file")
	replies    = flag.Bool("replies", true, "queue the default automatic reply to new tickets, as the example server does with -smtp")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mail-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	dv, err := dovetest.StartServer(map[string]string{"bench": "bench"})
	if err != nil {
		return err
	}
	defer dv.Stop()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < *n; i++ {
		if err := dv.DeliverRaw("bench", makeMail(rng, i, *size)); err != nil {
			return err
		}
	}
	fmt.Printf("%d mails of ~%d bytes in Dovecot %s; %d runs; automatic replies queued: %v\n", *n, *size, dv.IMAP, *runs, *replies)
	stopProfile, err := profile.CPU(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()

	var ours, raw []float64
	// One warm-up of each (Dovecot builds its index on first access).
	if _, err := rawFetch(dv); err != nil {
		return err
	}
	if _, err := ingest(ctx, dv); err != nil {
		return err
	}
	// CPU time of this process per mail: on a machine with few cores the
	// throughput of either side is bounded by the CPU it needs (Dovecot's
	// share is not counted).
	var oursCPU, rawCPU, floor []float64
	for r := 0; r < *runs; r++ {
		f, err := measureFloor(ctx)
		if err != nil {
			return err
		}
		floor = append(floor, f)
		c0 := processCPU()
		rr, err := rawFetch(dv)
		if err != nil {
			return err
		}
		c1 := processCPU()
		o, err := ingest(ctx, dv)
		if err != nil {
			return err
		}
		c2 := processCPU()
		raw, ours = append(raw, rr), append(ours, o)
		rawCPU, oursCPU = append(rawCPU, perMail(c1-c0)), append(oursCPU, perMail(c2-c1))
		fmt.Printf("run %d: ours %.0f mails/s (%.0f us CPU a mail), raw %.0f mails/s (%.0f us CPU a mail), floor %.0f mails/s\n",
			r+1, o, oursCPU[r], rr, rawCPU[r], f)
	}
	fmt.Printf("CPU of this process a mail: ours=%.0fus raw=%.0fus\n", stats.Median(oursCPU), stats.Median(rawCPU))
	mo, mr, mf := stats.Median(ours), stats.Median(raw), stats.Median(floor)
	fmt.Printf("mail-ingest ours=%.0f/s raw=%.0f/s floor=%.0f/s ours/floor=%.2f\n", mo, mr, mf, mo/mf)
	return nil
}

// measureFloor writes the floor of -n mails into a new database.
func measureFloor(ctx context.Context) (float64, error) {
	dir, err := os.MkdirTemp("", "mail-floor-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	return mailfloor.Measure(ctx, dir, max(mailfloor.Batch, *n/mailfloor.Batch*mailfloor.Batch))
}

// makeMail is a customer mail shaped like real ones: a dozen header
// fields, a quoted-printable text part and an HTML alternative, senders
// from a few hundred addresses, some replies to earlier mails.
func makeMail(rng *rand.Rand, i, size int) []byte {
	var b strings.Builder
	from := fmt.Sprintf("customer%d@company%d.example", rng.IntN(300), rng.IntN(40))
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", from)
	fmt.Fprintf(&b, "Received: from mx.example by mail.example.net with ESMTPS id %x; Sun, 22 Nov 2026 08:%02d:00 +0000\r\n", rng.Uint64(), i%60)
	fmt.Fprintf(&b, "From: Customer %d <%s>\r\n", i, from)
	b.WriteString("To: Support <support@example.net>\r\n")
	fmt.Fprintf(&b, "Subject: =?UTF-8?Q?Incidencia_n=C2=BA_%d?=\r\n", i)
	fmt.Fprintf(&b, "Date: Sun, 22 Nov 2026 08:%02d:%02d +0000\r\n", i/60%60, i%60)
	fmt.Fprintf(&b, "Message-ID: <bench-%d-%x@company.example>\r\n", i, rng.Uint32())
	if i > 10 && rng.IntN(4) == 0 {
		fmt.Fprintf(&b, "In-Reply-To: <bench-%d-0@company.example>\r\n", rng.IntN(i))
	}
	b.WriteString("MIME-Version: 1.0\r\nX-Mailer: Bench 1.0\r\n")
	b.WriteString("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n")
	text := strings.Repeat("El sistema de facturación no responde desde esta mañana y los clientes no pueden pagar. ", 1+size/2/90)
	b.WriteString("--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	for len(text) > 0 {
		line := text[:min(70, len(text))]
		text = text[len(line):]
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(line, "ó", "=C3=B3"), "ñ", "=C3=B1") + "=\r\n")
	}
	b.WriteString("\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>")
	b.WriteString(strings.Repeat("El sistema de facturaci&oacute;n no responde. ", 1+size/3/50))
	b.WriteString("</p></body></html>\r\n--alt--\r\n")
	return []byte(b.String())
}

func login(dv *dovetest.Server) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(dv.IMAP, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login("bench", "bench").Wait(); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// rawFetch reads every mail with UID SEARCH and UID FETCH BODY.PEEK[] in
// batches, streaming the literals into a buffer: the floor of any IMAP
// ingestion with this client.
func rawFetch(dv *dovetest.Server) (float64, error) {
	c, err := login(dv)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	found, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		return 0, err
	}
	uids := found.AllUIDs()
	got := 0
	buf := make([]byte, 0, 64<<10)
	for len(uids) > 0 {
		k := min(*batch, len(uids))
		cmd := c.Fetch(imap.UIDSetNum(uids[:k]...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				if body, ok := item.(imapclient.FetchItemDataBodySection); ok {
					buf = buf[:0]
					w := bytesWriter{&buf}
					if _, err := io.Copy(w, body.Literal); err != nil {
						return 0, err
					}
					got++
				}
			}
		}
		if err := cmd.Close(); err != nil {
			return 0, err
		}
		uids = uids[k:]
	}
	el := time.Since(start)
	if got != *n {
		return 0, fmt.Errorf("raw fetch read %d mails, want %d", got, *n)
	}
	return float64(got) / el.Seconds(), nil
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perMail is d per mail of the mailbox, in microseconds.
func perMail(d time.Duration) float64 { return float64(d.Microseconds()) / float64(*n) }

type bytesWriter struct{ b *[]byte }

func (w bytesWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

// ingest clears the \Seen flags, then runs the pipeline once over the
// mailbox into a new SQLite database.
func ingest(ctx context.Context, dv *dovetest.Server) (float64, error) {
	c, err := login(dv)
	if err != nil {
		return 0, err
	}
	if err := c.Store(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true,
		Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		c.Close()
		return 0, err
	}
	c.Close()
	dir, err := os.MkdirTemp("", "mail-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"), nil)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	p := &mailticket.Processor{Store: st, Domain: "support.example.net", Secret: []byte("bench-secret-0123456789"),
		Addresses: []string{"support@example.net"}, DisableAutoResponses: !*replies}
	src := &mailticket.IMAP{Addr: dv.IMAP, Username: "bench", Password: "bench", BatchSize: *batch}
	defer src.Close()
	pl := &mailticket.Poller{Processor: p, Sources: []mailticket.Source{src}}
	start := time.Now()
	sum, err := pl.RunOnce(ctx)
	el := time.Since(start)
	if err != nil {
		return 0, err
	}
	if sum.Fetched != *n || sum.Quarantined != 0 {
		return 0, fmt.Errorf("ingested %+v, want %d mails", sum, *n)
	}
	return float64(sum.Fetched) / el.Seconds(), nil
}
