package chat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// On a store with transactions, messages are group-committed: 50
// customers sending at once all get their acks, every message is stored
// once, in order, and retries are still deduplicated.
func TestGroupCommitOnSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "chat.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := chattest.NewServer(&chattest.Config{Store: st, Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.MaxConversations = 50; s.MessageRate = -1 }})
	defer srv.Close()
	ctx := testCtx(t)
	oin := newInbox()
	operator(t, srv, "luis", oin)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	convs := make([]int64, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Name: fmt.Sprint("C", i), CustomerID: fmt.Sprint(i)})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			convs[i] = c.ConversationID()
			for j := range 20 {
				a, err := c.SendTo(ctx, 0, fmt.Sprint("m", j), fmt.Sprint("msg ", j))
				if err != nil {
					errs <- err
					return
				}
				again, err := c.SendTo(ctx, 0, fmt.Sprint("m", j), fmt.Sprint("msg ", j))
				if err != nil || again.Seq != a.Seq {
					errs <- fmt.Errorf("retry of m%d: %v %v", j, again, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, id := range convs {
		tr, err := st.Transcript(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, m := range tr.Messages {
			if m.SenderRole == "customer" {
				texts = append(texts, m.Text)
			}
		}
		if len(texts) != 20 || texts[0] != "msg 0" || texts[19] != "msg 19" {
			t.Fatalf("conversation %d: %q", id, texts)
		}
	}
}
