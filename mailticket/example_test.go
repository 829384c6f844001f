package mailticket_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/switchboard-go/switchboard/mailticket"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// A Maildir polled once into SQLite, with sender-domain routing.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mailticket-example-")
	defer os.RemoveAll(dir)
	for _, d := range []string{"new", "cur", "tmp"} {
		os.MkdirAll(filepath.Join(dir, "Maildir", d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "Maildir", "new", "1.example"), []byte("From: Ana <ana@acme.example>\r\n"+
		"Subject: The printer is down\r\nMessage-ID: <1@acme.example>\r\n\r\nIt says PC LOAD LETTER.\r\n"), 0o644)

	st, err := sqlite.Open(ctx, filepath.Join(dir, "tickets.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	p := &mailticket.Processor{
		Store:     st,
		Domain:    "support.example.net",
		Secret:    []byte("a secret of at least 16 bytes"),
		Addresses: []string{"support@example.net"},
		Filters:   []mailticket.Filter{{SenderDomain: "acme.example", Queue: "ACME"}},
	}
	pl := &mailticket.Poller{Processor: p, Sources: []mailticket.Source{&mailticket.Maildir{Dir: filepath.Join(dir, "Maildir")}}}
	sum, err := pl.RunOnce(ctx) // no Sender: the reply stays queued
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum)
	q, _ := st.QueueByName(ctx, "ACME")
	fmt.Println("queue", q.Name)
	// Output:
	// mail fetched=1 created=1 followups=0 duplicates=0 ignored=0 quarantined=0 unmatched=0 autoresponses=0
	// queue ACME
}
