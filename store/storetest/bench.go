package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-go/switchboard/store"
)

// Benchmarks runs the store benchmarks as sub-benchmarks of b. newStore
// returns a store on a new, empty database; the benchmarks close it.
func Benchmarks(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("CreateBatch10k", func(b *testing.B) { benchBatch(b, newStore, 10000) })
	b.Run("ClaimAndRecord", func(b *testing.B) { benchClaim(b, newStore) })
	b.Run("IngestMail", func(b *testing.B) { benchIngest(b, newStore) })
	b.Run("AppendMessage", func(b *testing.B) { benchAppend(b, newStore) })
}

// Transmissions returns n transmissions for the benchmarks and tools:
// distinct external ids with prefix, destinations 58412xxxxxxx.
func Transmissions(prefix string, operatorID int64, n int) []store.Transmission {
	ts := make([]store.Transmission, n)
	for i := range ts {
		ts[i] = store.Transmission{ExternalID: fmt.Sprintf("%s-%d", prefix, i), OperatorID: operatorID, Source: "1234",
			Destination: fmt.Sprintf("58412%07d", i), Text: "hello world"}
	}
	return ts
}

func benchSetup(b *testing.B, st store.Store) (client, operator int64) {
	ctx := context.Background()
	c := store.Client{Name: "bench"}
	if err := st.CreateClient(ctx, &c); err != nil {
		b.Fatal(err)
	}
	o := store.Operator{Name: "bench"}
	if err := st.CreateOperator(ctx, &o); err != nil {
		b.Fatal(err)
	}
	return c.ID, o.ID
}

func benchBatch(b *testing.B, newStore func(*testing.B) store.Store, rows int) {
	st := newStore(b)
	defer st.Close()
	client, op := benchSetup(b, st)
	ctx := context.Background()
	batches := make([][]store.Transmission, b.N)
	for i := range batches {
		batches[i] = Transmissions(fmt.Sprint("b", i), op, rows)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := st.CreateBatch(ctx, &store.Batch{ClientID: client}, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func benchClaim(b *testing.B, newStore func(*testing.B) store.Store) {
	st := newStore(b)
	defer st.Close()
	client, op := benchSetup(b, st)
	ctx := context.Background()
	if _, _, err := st.CreateBatch(ctx, &store.Batch{ClientID: client}, Transmissions("c", op, b.N)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for done := 0; done < b.N; {
		got, err := st.ClaimTransmissions(ctx, op, 100, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range got {
			if err := st.RecordSubmit(ctx, t.ID, store.SubmitResult{MessageIDs: []string{fmt.Sprint("m", t.ID)}}); err != nil {
				b.Fatal(err)
			}
		}
		done += len(got)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func benchIngest(b *testing.B, newStore func(*testing.B) store.Store) {
	st := newStore(b)
	defer st.Close()
	ctx := context.Background()
	q := store.Queue{Name: "bench"}
	if err := st.CreateQueue(ctx, &q); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in := IngestFixture(q.ID, i)
		if _, err := st.IngestMail(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
}

// IngestFixture is the i-th distinct mail of the benchmarks: a new ticket
// with one article and a 1 KiB attachment.
func IngestFixture(queueID int64, i int) store.MailIngest {
	return store.MailIngest{
		Receipt:   store.MailReceipt{SourceKey: fmt.Sprintf("imap/bench/INBOX/1/%d", i), ContentKey: fmt.Sprintf("<m%d@bench>/digest", i)},
		NewTicket: &store.Ticket{Title: "Incident", QueueID: queueID},
		Article: store.Article{Direction: store.Inbound, MessageID: fmt.Sprintf("m%d@bench", i), From: "ana@example.com",
			Subject: "Incident", TextBody: "The link is down since this morning."},
		Attachments: []store.TicketAttachment{{Name: "log.txt", MediaType: "text/plain", Data: make([]byte, 1024)}},
	}
}

func benchAppend(b *testing.B, newStore func(*testing.B) store.Store) {
	st := newStore(b)
	defer st.Close()
	ctx := context.Background()
	c := store.Conversation{CustomerName: "bench"}
	if err := st.CreateConversation(ctx, &c); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := st.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer,
			ClientMsgID: fmt.Sprint(i), Text: "hello, I need help with my order"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
