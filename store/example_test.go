package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/switchboard-go/switchboard/store"
	_ "github.com/switchboard-go/switchboard/store/sqlite"
)

// Open a store by URL, then append chat messages: sequence numbers come
// from the store, and a retried client message id is stored only once.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "switchboard.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	conv := store.Conversation{CustomerName: "Ana", CustomerEmail: "ana@example.com"}
	if err := st.CreateConversation(ctx, &conv); err != nil {
		log.Fatal(err)
	}
	for _, text := range []string{"hola", "hola"} { // the client retries
		m, created, err := st.AppendMessage(ctx, store.Message{ConversationID: conv.ID,
			SenderRole: store.RoleCustomer, ClientMsgID: "c-1", Text: text})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(m.Seq, created)
	}
	// Output:
	// 1 true
	// 1 false
}

// Group operations in one transaction: if any fails, none is stored.
func ExampleStore_InTx() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "switchboard.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	q := store.Queue{Name: "Soporte"}
	if err := st.CreateQueue(ctx, &q); err != nil {
		log.Fatal(err)
	}

	in := store.MailIngest{
		Receipt:   store.MailReceipt{SourceKey: "imap/support/INBOX/42/7"},
		NewTicket: &store.Ticket{Title: "No hay servicio", QueueID: q.ID},
		Article:   store.Article{Direction: store.Inbound, From: "ana@example.com", Subject: "No hay servicio"},
	}
	err = st.InTx(ctx, func(tx store.Ops) error {
		res, err := tx.IngestMail(ctx, in)
		if err != nil {
			return err
		}
		return tx.SetTicketState(ctx, res.Ticket.ID, store.TicketOpen, 0, res.Article.CreatedAt)
	})
	fmt.Println("first:", err)

	// The same mail again (a poller crashed before flagging it \Seen).
	in.NewTicket = &store.Ticket{Title: "No hay servicio", QueueID: q.ID}
	_, err = st.IngestMail(ctx, in)
	fmt.Println("again is a duplicate:", errors.Is(err, store.ErrDuplicate))

	open, _ := st.Tickets(ctx, store.TicketFilter{State: store.TicketOpen})
	fmt.Println("open tickets:", len(open))
	// Output:
	// first: <nil>
	// again is a duplicate: true
	// open tickets: 1
}

// Ticket numbers carry their date and a check digit, so a mail filter can
// tell a real "[Ticket#...]" tag from a random number.
func ExampleTicketNumber() {
	n := store.TicketNumber(mustDate("2026-11-22"), 42)
	fmt.Println(n, store.ValidTicketNumber(n), store.ValidTicketNumber("202611220000428"))
	// Output: 202611220000426 true false
}
