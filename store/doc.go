// Package store defines the records and storage interfaces behind
// switchboard's three channels (chat, SMS, support tickets), and the
// sentinel errors every implementation returns.
//
// The package has no dependencies: the chat, smpp and mailticket packages
// import it for its types and interfaces only. Implementations live in
// sub-packages:
//
//   - [github.com/switchboard-go/switchboard/store/sqlite]: the embedded
//     default, pure Go (no cgo), one file on disk.
//   - [github.com/switchboard-go/switchboard/store/postgres]: PostgreSQL
//     through pgx, for several processes or machines sharing one database.
//
// Both pass the same conformance suite (store/storetest) and apply their
// embedded, versioned schema migrations when opened.
//
// # Opening
//
// Open a backend directly (sqlite.Open, postgres.Open) or by URL with
// [Open] after importing the backend for its side effect:
//
//	import _ "github.com/switchboard-go/switchboard/store/sqlite"
//
//	st, err := store.Open(ctx, "sqlite:data/switchboard.db")
//
// # Transactions
//
// Every method of [Ops] runs in a transaction of its own; the operations
// that need several statements (appending a chat message with the next
// sequence number, claiming transmissions, ingesting a mail with its dedup
// receipt) are atomic on their own. [Store.InTx] groups several
// operations into one transaction:
//
//	err := st.InTx(ctx, func(tx store.Ops) error {
//		res, err := tx.IngestMail(ctx, in)
//		if err != nil {
//			return err
//		}
//		return tx.SetTicketState(ctx, res.Ticket.ID, store.TicketOpen, 0, now)
//	})
//
// # Errors
//
// Errors wrap the sentinels [ErrNotFound], [ErrDuplicate], [ErrConflict],
// [ErrInvalid] and [ErrClosed]; test them with errors.Is.
//
// # Time
//
// Times are stored with microsecond precision and returned in UTC. A zero
// time.Time means "not yet" (not assigned, not closed, ...). Statistics
// buckets are UTC days, ISO weeks (Monday) and months.
package store
