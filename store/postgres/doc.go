// Package postgres is switchboard's store on PostgreSQL (through pgx and a
// connection pool), for several processes or machines sharing one
// database. It implements [store.Store] and passes the same conformance
// suite as the embedded SQLite store.
//
// # Opening
//
//	db, err := postgres.Open(ctx, "postgres://user:pass@host:5432/switchboard", nil)
//
// or, after importing this package, store.Open(ctx, "postgres://..."). Open
// applies the embedded migrations under an advisory lock, so processes
// starting together apply each migration once. A search_path=SCHEMA
// parameter in the URL puts the tables in that schema.
//
// # Concurrency across processes
//
//   - ClaimTransmissions uses FOR UPDATE SKIP LOCKED: dispatchers on
//     several machines drain one queue without handing a transmission out
//     twice and without waiting for each other.
//   - AppendMessage locks the conversation row: sequence numbers stay
//     consecutive and a retried client message id is stored once.
//   - NextTicketNumber is a single upsert: numbers are unique.
//   - IngestMail, RecordSubmit and ApplyReceipt take transaction-scoped
//     advisory locks on their dedup keys and message ids, so that two
//     pollers never store one mail twice and a receipt that overtakes its
//     submit_sm_resp is never lost.
//
// Transactions run at READ COMMITTED. Batches are loaded with COPY.
//
// # Tests
//
// Sub-package pgtest starts a throwaway server for tests and benchmarks.
package postgres
