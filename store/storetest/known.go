package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/store"
)

// oddKeys are keys a database may treat specially.
func oddKeys() []string {
	return []string{"k\x00nul", "k", "k\x00", "\x00", "\x00\x00", "k\xff\xfe", "\xff", "\xc3", "K", "k ", " k",
		"1", "01", "1.0", "1e0", "0x1", "NULL", "null", "'", "''", "?", "?1", "$1", "%", "_", "\\", "*",
		"\u0130", "i", "ß", "ss", "\u00e9", "e\u0301", "\ufeffk", "k\u200b",
		strings.Repeat("x", 3000), strings.Repeat("é", 2000), strings.Repeat("y", 200000)}
}

// testKnownOddKeysEverywhere stores odd keys as source key, content
// key, article Message-ID and reply Message-ID, then asks for them and
// their neighbours by list and one by one.
func testKnownOddKeysEverywhere(t *testing.T, e *env) {
	ctx := e.ctx(t)
	st := e.Store
	q := store.Queue{Name: "Q"}
	require.NoError(t, st.CreateQueue(ctx, &q))
	odd := oddKeys()
	stored := 0
	for i, k := range odd {
		for j, pos := range []string{"source", "content", "msgid", "reply"} {
			in := store.MailIngest{
				Receipt:   store.MailReceipt{SourceKey: fmt.Sprintf("s-%d-%d", i, j), ContentKey: fmt.Sprintf("c-%d-%d", i, j)},
				Article:   store.Article{Direction: store.Inbound, MessageID: fmt.Sprintf("m-%d-%d", i, j)},
				NewTicket: &store.Ticket{Title: "x", QueueID: q.ID},
			}
			switch pos {
			case "source":
				in.Receipt.SourceKey = k
			case "content":
				in.Receipt.ContentKey = k
			case "msgid":
				in.Article.MessageID = k
			case "reply":
				in.Reply = &store.Article{Direction: store.Outbound, MessageID: k}
			}
			if _, err := st.IngestMail(ctx, in); err == nil {
				stored++
			} else {
				t.Logf("%s %q refused: %v", pos, k[:min(len(k), 20)], err)
			}
		}
	}
	t.Logf("%d of %d stored", stored, 4*len(odd))
	asked := append([]string(nil), odd...)
	for _, k := range odd {
		asked = append(asked, k+"\x00", strings.ToUpper(k), k+" ", "\x00"+k)
	}
	for i := range 9000 {
		asked = append(asked, fmt.Sprintf("n-%d", i))
	}
	asked = append(asked, odd...) // again, past the first statement's list
	failing := compareKnown(t, st, asked, nil)
	t.Logf("%d keys whose single lookup fails (not ErrNotFound)", len(failing))
	// And inside a transaction, as the batch asks (without the single
	// lookups that fail: on PostgreSQL they abort the transaction).
	require.NoError(t, st.InTx(ctx, func(tx store.Ops) error {
		compareKnown(t, tx, asked, failing)
		return nil
	}))
}

func compareKnown(t *testing.T, st store.TicketStore, asked []string, skip map[string]bool) map[string]bool {
	t.Helper()
	ctx := context.Background()
	keys, err := st.KnownMailKeys(ctx, asked)
	require.NoError(t, err)
	ids, err := st.KnownMessageIDs(ctx, asked)
	require.NoError(t, err)
	gotK, gotI := map[string]int{}, map[string]int{}
	for _, k := range keys {
		gotK[k]++
	}
	for _, k := range ids {
		gotI[k]++
	}
	failing := map[string]bool{}
	for _, k := range asked {
		if skip[k] {
			assert.Zero(t, gotK[k]+gotI[k], "key %q reported", k[:min(len(k), 24)])
			continue
		}
		_, e1 := st.MailReceipt(ctx, k, "")
		_, e2 := st.MailReceipt(ctx, "", k)
		_, e3 := st.TicketByMessageID(ctx, k)
		for _, e := range []error{e1, e2, e3} {
			if e != nil && !errors.Is(e, store.ErrNotFound) {
				failing[k] = true
			}
		}
		wantK := e1 == nil || e2 == nil
		wantI := e3 == nil
		short := fmt.Sprintf("%q", k[:min(len(k), 24)])
		assert.Equal(t, wantK, gotK[k] > 0, "mail key %s (single lookup errors: %v / %v)", short, e1, e2)
		assert.Equal(t, wantI, gotI[k] > 0, "message id %s (single lookup error: %v)", short, e3)
		assert.LessOrEqual(t, gotK[k], 1, "mail key %s reported more than once", short)
		assert.LessOrEqual(t, gotI[k], 1, "message id %s reported more than once", short)
	}
	inAsked := map[string]bool{}
	for _, k := range asked {
		inAsked[k] = true
	}
	for _, k := range append(keys, ids...) {
		assert.True(t, inAsked[k], "reported %q, never asked", k[:min(len(k), 24)])
	}
	return failing
}

// testIngestNewResultIsStored: the result of IngestMail of a mail
// that opens a ticket is the ticket as stored, whatever fields the caller
// set (the short path does not read it back).
func testIngestNewResultIsStored(t *testing.T, e *env) {
	ctx := e.ctx(t)
	st := e.Store
	q := store.Queue{Name: "Q"}
	require.NoError(t, st.CreateQueue(ctx, &q))
	other := store.Ticket{Title: "other", QueueID: q.ID}
	require.NoError(t, st.CreateTicket(ctx, &other))
	t0 := time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.FixedZone("X", -3*3600-1800)) // before 1970, odd zone
	for i, mk := range []func(in *store.MailIngest){
		func(in *store.MailIngest) { in.NewTicket.MergedIntoID = other.ID },
		func(in *store.MailIngest) { in.NewTicket.ID = 12345 },
		func(in *store.MailIngest) { in.NewTicket.State = store.TicketClosed },
		func(in *store.MailIngest) {
			in.NewTicket.CreatedAt = t0
			in.Article.CreatedAt = t0.Add(1)
			in.Reply = &store.Article{Direction: store.Outbound, MessageID: "r@us", CreatedAt: t0.Add(-1)}
		},
	} {
		in := store.MailIngest{
			Receipt:   store.MailReceipt{SourceKey: fmt.Sprintf("src-%d", i)},
			Article:   store.Article{Direction: store.Inbound, MessageID: fmt.Sprintf("m-%d@x", i)},
			NewTicket: &store.Ticket{Title: "x", QueueID: q.ID},
		}
		mk(&in)
		res, err := st.IngestMail(ctx, in)
		require.NoError(t, err)
		got, err := st.Ticket(ctx, res.Ticket.ID)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", res.Ticket), "case %d: result's ticket vs stored", i)
	}
}
