// Command store measures switchboard's stores (SQLite and PostgreSQL) next
// to the raw drivers on the same schema, and prints the medians of
// repeated runs and one summary line:
//
//	store-bench sqlite_batch=N sqlite_batch_raw=N ... batch/raw_sqlite=R ...
//
// Each run uses a new database (a new file; a new schema on a throwaway
// PostgreSQL server started by the program, or on -db).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-go/switchboard/bench/internal/stats"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
	"github.com/switchboard-go/switchboard/store/postgres/pgtest"
	"github.com/switchboard-go/switchboard/store/sqlite"
	"github.com/switchboard-go/switchboard/store/storetest"
)

var (
	runs   = flag.Int("runs", 5, "repetitions; medians are reported")
	batchN = flag.Int("batch", 100000, "transmissions in the batch insert")
	claimN = flag.Int("claim", 10000, "transmissions claimed and recorded")
	mailN  = flag.Int("mails", 2000, "mails ingested (new tickets)")
	appN   = flag.Int("appends", 5000, "chat messages appended")
	dbURL  = flag.String("db", "", "PostgreSQL URL to use instead of a throwaway server")
	noPG   = flag.Bool("no-postgres", false, "measure SQLite only")
)

// results maps a metric name to the values of the runs.
type results map[string][]float64

func (r results) add(name string, n int, d time.Duration) {
	r[name] = append(r[name], float64(n)/d.Seconds())
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "store-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	res := results{}
	tmp, err := os.MkdirTemp("", "store-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	pgURL := *dbURL
	if !*noPG && pgURL == "" {
		srv, err := pgtest.Start(ctx, nil)
		if err != nil {
			return fmt.Errorf("start PostgreSQL (or pass -no-postgres / -db): %w", err)
		}
		defer srv.Stop()
		pgURL = srv.URL("")
	}

	for i := 0; i < *runs; i++ {
		path := filepath.Join(tmp, fmt.Sprintf("run%d.db", i))
		st, err := sqlite.Open(ctx, path, nil)
		if err != nil {
			return err
		}
		if err := measureStore(ctx, "sqlite", st, res); err != nil {
			return err
		}
		st.Close()
		if err := rawSQLite(ctx, filepath.Join(tmp, fmt.Sprintf("raw%d.db", i)), res); err != nil {
			return err
		}
		if pgURL != "" {
			u, err := newSchema(ctx, pgURL, fmt.Sprintf("bench_%d_%d", os.Getpid(), i))
			if err != nil {
				return err
			}
			pst, err := postgres.Open(ctx, u, nil)
			if err != nil {
				return err
			}
			if err := measureStore(ctx, "postgres", pst, res); err != nil {
				return err
			}
			if err := rawPostgres(ctx, pst, res); err != nil {
				return err
			}
			pst.Close()
		}
		fmt.Fprintf(os.Stderr, "run %d/%d done\n", i+1, *runs)
	}
	report(res)
	return nil
}

// measureStore runs the store operations the channels depend on.
func measureStore(ctx context.Context, name string, st store.Store, res results) error {
	c := store.Client{Name: "bench"}
	if err := st.CreateClient(ctx, &c); err != nil {
		return err
	}
	op := store.Operator{Name: "bench"}
	if err := st.CreateOperator(ctx, &op); err != nil {
		return err
	}

	// 1. A client's batch in one transaction.
	ts := storetest.Transmissions("batch", op.ID, *batchN)
	start := time.Now()
	ins, _, err := st.CreateBatch(ctx, &store.Batch{ClientID: c.ID, Name: "batch.csv"}, ts)
	if err != nil {
		return err
	}
	if ins != *batchN {
		return fmt.Errorf("%s: batch inserted %d of %d", name, ins, *batchN)
	}
	res.add(name+"_batch", *batchN, time.Since(start))

	// 2. Dispatch: claim 100 at a time, record each submit (its own
	// transaction, as a dispatcher does when each submit_sm_resp arrives).
	op2 := store.Operator{Name: "claim"}
	if err := st.CreateOperator(ctx, &op2); err != nil {
		return err
	}
	if _, _, err := st.CreateBatch(ctx, &store.Batch{ClientID: c.ID}, storetest.Transmissions("claim", op2.ID, *claimN)); err != nil {
		return err
	}
	start = time.Now()
	for done := 0; done < *claimN; {
		got, err := st.ClaimTransmissions(ctx, op2.ID, 100, time.Time{})
		if err != nil {
			return err
		}
		if len(got) == 0 {
			return fmt.Errorf("%s: queue empty after %d claims", name, done)
		}
		for _, t := range got {
			if err := st.RecordSubmit(ctx, t.ID, store.SubmitResult{MessageIDs: []string{fmt.Sprint("m", t.ID)}}); err != nil {
				return err
			}
		}
		done += len(got)
	}
	res.add(name+"_claim", *claimN, time.Since(start))

	// 3. Mail ingestion with dedup: new ticket + article + attachment +
	// receipt in one transaction; then every mail again (all duplicates).
	q := store.Queue{Name: "bench"}
	if err := st.CreateQueue(ctx, &q); err != nil {
		return err
	}
	start = time.Now()
	for i := 0; i < *mailN; i++ {
		if _, err := st.IngestMail(ctx, storetest.IngestFixture(q.ID, i)); err != nil {
			return err
		}
	}
	res.add(name+"_ingest", *mailN, time.Since(start))
	start = time.Now()
	for i := 0; i < *mailN; i++ {
		if _, err := st.IngestMail(ctx, storetest.IngestFixture(q.ID, i)); err == nil {
			return fmt.Errorf("%s: mail %d ingested twice", name, i)
		}
	}
	res.add(name+"_ingest_dup", *mailN, time.Since(start))

	// 4. Chat appends with client message ids.
	conv := store.Conversation{CustomerName: "bench"}
	if err := st.CreateConversation(ctx, &conv); err != nil {
		return err
	}
	start = time.Now()
	for i := 0; i < *appN; i++ {
		if _, _, err := st.AppendMessage(ctx, store.Message{ConversationID: conv.ID, SenderRole: store.RoleCustomer,
			ClientMsgID: fmt.Sprint(i), Text: "hello, I need help with my order"}); err != nil {
			return err
		}
	}
	res.add(name+"_append", *appN, time.Since(start))
	return nil
}

// rawSQLite is the driver alone on the same schema: a prepared plain
// INSERT of the batch in one transaction, and autocommit inserts of chat
// messages (what DESIGN.md's 240k rows/s and 34k inserts/s measure).
func rawSQLite(ctx context.Context, path string, res results) error {
	st, err := sqlite.Open(ctx, path, nil) // creates the schema
	if err != nil {
		return err
	}
	c := store.Client{Name: "raw"}
	if err := st.CreateClient(ctx, &c); err != nil {
		return err
	}
	conv := store.Conversation{}
	if err := st.CreateConversation(ctx, &conv); err != nil {
		return err
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ts := storetest.Transmissions("raw", 1, *batchN)
	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO sms_transmissions (external_id, client_id, operator_id, source,
		destination, body, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)`)
	if err != nil {
		return err
	}
	now := time.Now().UnixMicro()
	for _, t := range ts {
		if _, err := stmt.ExecContext(ctx, t.ExternalID, c.ID, t.OperatorID, t.Source, t.Destination, t.Text, now); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	res.add("sqlite_batch_raw", *batchN, time.Since(start))

	ins, err := db.PrepareContext(ctx, `INSERT INTO chat_messages (conversation_id, seq, client_msg_id, sender_role,
		kind, body, created_at) VALUES (?, ?, ?, 'customer', 'text', ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	start = time.Now()
	for i := 0; i < *appN; i++ {
		if _, err := ins.ExecContext(ctx, conv.ID, i+1, fmt.Sprint(i), "hello, I need help with my order", now); err != nil {
			return err
		}
	}
	res.add("sqlite_insert_raw", *appN, time.Since(start))
	return nil
}

// rawPostgres is pgx alone on the same schema: COPY of the batch straight
// into the table, and autocommit inserts of chat messages.
func rawPostgres(ctx context.Context, st *postgres.DB, res results) error {
	pool := st.Pool()
	var client int64
	if err := pool.QueryRow(ctx, `INSERT INTO sms_clients (name, created_at) VALUES ('raw', now()) RETURNING id`).Scan(&client); err != nil {
		return err
	}
	ts := storetest.Transmissions("raw", 1, *batchN)
	now := time.Now()
	start := time.Now()
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"sms_transmissions"},
		[]string{"external_id", "client_id", "operator_id", "source", "destination", "body", "state", "created_at"},
		pgx.CopyFromSlice(len(ts), func(i int) ([]any, error) {
			t := ts[i]
			return []any{t.ExternalID, client, t.OperatorID, t.Source, t.Destination, t.Text, "queued", now}, nil
		}))
	if err != nil {
		return err
	}
	if int(n) != *batchN {
		return fmt.Errorf("raw copy: %d rows", n)
	}
	res.add("postgres_batch_raw", *batchN, time.Since(start))

	var conv int64
	if err := pool.QueryRow(ctx, `INSERT INTO chat_conversations (state, opened_at) VALUES ('waiting', now()) RETURNING id`).Scan(&conv); err != nil {
		return err
	}
	start = time.Now()
	for i := 0; i < *appN; i++ {
		if _, err := pool.Exec(ctx, `INSERT INTO chat_messages (conversation_id, seq, client_msg_id, sender_role, kind,
			body, created_at) VALUES ($1, $2, $3, 'customer', 'text', $4, $5)`,
			conv, i+1, fmt.Sprint(i), "hello, I need help with my order", now); err != nil {
			return err
		}
	}
	res.add("postgres_insert_raw", *appN, time.Since(start))
	return nil
}

func newSchema(ctx context.Context, base, name string) (string, error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func report(res results) {
	names := make([]string, 0, len(res))
	for k := range res {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Printf("%-22s %12s   %s\n", "metric (per second)", "median", "runs")
	for _, k := range names {
		var vs []string
		for _, v := range res[k] {
			vs = append(vs, fmt.Sprintf("%.0f", v))
		}
		fmt.Printf("%-22s %12.0f   %s\n", k, stats.Median(res[k]), strings.Join(vs, " "))
	}
	m := func(k string) float64 { return stats.Median(res[k]) }
	ratio := func(a, b string) string {
		if m(b) == 0 {
			return "0"
		}
		return fmt.Sprintf("%.2f", m(a)/m(b))
	}
	line := []string{"store-bench"}
	for _, k := range []string{"sqlite_batch", "sqlite_batch_raw", "postgres_batch", "postgres_batch_raw",
		"sqlite_claim", "postgres_claim", "sqlite_ingest", "postgres_ingest", "sqlite_append", "sqlite_insert_raw",
		"postgres_append", "postgres_insert_raw"} {
		line = append(line, fmt.Sprintf("%s=%.0f", k, m(k)))
	}
	line = append(line, "batch/raw_sqlite="+ratio("sqlite_batch", "sqlite_batch_raw"),
		"batch/raw_postgres="+ratio("postgres_batch", "postgres_batch_raw"),
		"append/raw_sqlite="+ratio("sqlite_append", "sqlite_insert_raw"),
		"append/raw_postgres="+ratio("postgres_append", "postgres_insert_raw"))
	fmt.Println(strings.Join(line, " "))
}
