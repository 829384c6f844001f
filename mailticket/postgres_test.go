package mailticket

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/postgres"
)

// TestConcurrentProcessorsPostgres: three processes (separate pools) take
// the same 40 mails at once, in batches, one of them in reverse order (its
// batches lock receipts in the opposite order, so PostgreSQL may kill a
// transaction as a deadlock; that batch is then stored mail by mail).
// Every mail ends up stored once.
func TestConcurrentProcessorsPostgres(t *testing.T) {
	url := pg.Schema(t)
	ctx := context.Background()
	var mails []Delivery
	for i := 0; i < 40; i++ {
		raw := simple(fmt.Sprintf("c%d@cliente.example", i%7), fmt.Sprintf("caso %d", i), fmt.Sprintf("cc%d@x.example", i))
		mails = append(mails, Delivery{SourceKey: fmt.Sprintf("imap:shared/INBOX/1/%d", i), Raw: []byte(raw)})
	}
	var wg sync.WaitGroup
	stored := make([]int, 3)
	errs := make([]error, 3)
	for w := 0; w < 3; w++ {
		st, err := postgres.Open(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		p := &Processor{Store: st, Domain: "support.example.net", Secret: []byte("0123456789abcdef0123"),
			Addresses: []string{"support@example.net"}}
		order := slices.Clone(mails)
		if w == 2 {
			slices.Reverse(order)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < len(order); i += 10 {
				rs, err := p.ProcessBatch(ctx, order[i:i+10])
				if err != nil {
					errs[w] = err
					return
				}
				for _, r := range rs {
					if r.Outcome != Duplicate {
						stored[w]++
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	expect(t, "mails stored, all processes together", stored[0]+stored[1]+stored[2], 40)
	st, err := postgres.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts, err := st.Tickets(ctx, store.TicketFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	inbound := 0
	for _, tk := range ts {
		arts, _ := st.Articles(ctx, tk.ID)
		for _, a := range arts {
			if a.Direction == store.Inbound {
				inbound++
			}
		}
	}
	expect(t, "inbound articles", inbound, 40)
	expect(t, "tickets", len(ts), 40)
}
