package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-go/switchboard/internal/gatewayfloor"
	"github.com/switchboard-go/switchboard/internal/mailfloor"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// BenchmarkMailWriteFloor measures the ceiling of mail ingestion into
// SQLite on this machine. "floor" writes the rows and bytes one new-ticket
// mail with an automatic reply leaves (customer, ticket number, ticket,
// two articles, three events, receipt, outbox entry) in the cheapest form
// there is: one multi-row INSERT per table for 100 mails, no reads, one
// commit. "store" writes the same mails through the store's methods in
// one transaction of 100, as mailticket.Processor does without its reads.
// No ingestion can be faster than "floor"; bench/mail's ratio is bounded
// by it.
func BenchmarkMailWriteFloor(b *testing.B) {
	b.Run("floor", func(b *testing.B) {
		ctx := context.Background()
		path := filepath.Join(b.TempDir(), "floor.db")
		st, err := sqlite.Open(ctx, path, nil) // the schema
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		db, err := mailfloor.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, `INSERT INTO ticket_queues (name, created_at) VALUES ('Inbox', 1)`); err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			if err := mailfloor.WriteBatch(ctx, db, n); err != nil {
				b.Fatal(err)
			}
			n += mailfloor.Batch
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "mails/s")
	})
	b.Run("store", func(b *testing.B) {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "store.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		q := store.Queue{Name: "Inbox"}
		if err := st.CreateQueue(ctx, &q); err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			err := st.InTx(ctx, func(tx store.Ops) error {
				for range mailfloor.Batch {
					n++
					if err := mailfloor.IngestThroughStore(ctx, tx, q.ID, n); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "mails/s")
	})
}

// BenchmarkGatewayWriteFloor measures the ceiling of the SMS gateway on
// SQLite on this machine: what a batch of 20,000 messages leaves in the
// database from its load to its last receipt, written in the cheapest
// form there is (internal/gatewayfloor). bench/gateway prints it beside
// the gateway's own figure.
func BenchmarkGatewayWriteFloor(b *testing.B) {
	var rates []float64
	for b.Loop() {
		rate, err := gatewayfloor.Measure(context.Background(), b.TempDir(), 20000)
		if err != nil {
			b.Fatal(err)
		}
		rates = append(rates, rate)
	}
	slices.Sort(rates)
	b.ReportMetric(rates[len(rates)/2], "msgs/s")
}
