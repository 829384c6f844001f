package browsertest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

// page serves the chat over WebSocket, the script, and an empty page that
// loads it, and opens that page in a new browser.
func page(t *testing.T, srv *chattest.Server) (context.Context, string) {
	mux := http.NewServeMux()
	mux.Handle("/switchboard-chat.js", chatws.ScriptHandler())
	mux.Handle("/ws", &chatws.Handler{Server: srv.Chat})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><meta charset="utf-8"><title>chat</title><script src="/switchboard-chat.js"></script>`)
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	ctx := New(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/")))
	return ctx, hs.URL
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "%s", js)
	return v
}

// Every frame type, with every field set (optional groups included),
// decoded by the script and encoded again, gives the bytes Go wrote: the
// script's field lists are the protocol's.
func TestScriptCodecMatchesGo(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	ctx, _ := page(t, srv)
	at := time.UnixMilli(1767225600123).UTC()
	msgs := []chat.Message{
		&chat.Hello{Role: chat.RoleOperator, Name: "Ana Pérez", CustomerID: "c-1", Email: "a@x", Token: "tok", Login: "luis",
			Password: "pw", Resume: "r", LastSeq: 1 << 40, Client: "js", Cursors: []chat.Cursor{{ConversationID: 3, LastSeq: 9}},
			Caps: []string{"cursors", "wait"}, Device: "dev"},
		&chat.Hello{Role: chat.RoleCustomer, Name: "Bea"},
		&chat.Welcome{Session: "s", Resume: "r", ConversationID: 300, OperatorID: "op", MaxFrame: 65536,
			Heartbeat: 30 * time.Second, Server: "sb", Version: 1, Caps: []string{"offline"}, Presence: chat.Away, Device: "d"},
		&chat.Welcome{Session: "s"},
		&chat.Error{Code: chat.CodeConflict, Text: "cerrada", ConversationID: 7, ClientMsgID: "m1"},
		&chat.Ping{Nonce: 1<<53 - 1}, &chat.Pong{Nonce: 42}, &chat.Bye{Reason: "adiós"},
		&chat.Send{ConversationID: 9, ClientMsgID: "m2", Text: "hola 👋"},
		&chat.Ack{ConversationID: 9, ClientMsgID: "m2", Seq: 12, Time: at},
		&chat.Post{ConversationID: 9, Seq: 13, SenderRole: chat.RoleOperator, SenderID: "op", SenderName: "Luis",
			Kind: chat.PostAttachment, Text: "t", ClientMsgID: "m3", AttachmentID: 5, FileName: "foto.png",
			MediaType: "image/png", Size: 1234, Time: at},
		&chat.Typing{ConversationID: 9, On: true, Role: chat.RoleCustomer},
		&chat.Read{ConversationID: 9, Seq: 13, Role: chat.RoleOperator},
		&chat.Event{ConversationID: 9, Kind: chat.EventQueued, Position: 3, OperatorID: "o", OperatorName: "O", Text: "x",
			Time: at, Wait: 90 * time.Second},
		&chat.Event{ConversationID: 9, Kind: chat.EventClosed},
		&chat.History{ConversationID: 9, AfterSeq: 4}, &chat.Accept{ConversationID: 9},
		&chat.Transfer{ConversationID: 9, To: "marta"}, &chat.Close{ConversationID: 9},
		&chat.PresenceUpdate{State: chat.Available},
		&chat.Queue{Total: 2, Entries: []chat.QueueEntry{{ConversationID: 1, CustomerName: "A", Since: at}, {ConversationID: 2}}},
		&chat.Assigned{ConversationID: 9, CustomerName: "Ana", CustomerID: "c", Email: "e", LastSeq: 4, OpenedAt: at,
			Verified: true, LeftMessage: true},
		&chat.Assigned{ConversationID: 9},
		&chat.FileStart{ConversationID: 9, TransferID: 77, Name: "a.pdf", MediaType: "application/pdf", Size: 10,
			SHA256: make([]byte, 32), ClientMsgID: "f"},
		&chat.FileChunk{TransferID: 77, Data: []byte{0, 1, 2, 255}}, &chat.FileEnd{TransferID: 77},
		&chat.Fetch{AttachmentID: 5, TransferID: 78},
		&chat.TranscriptRequest{ConversationID: 9, Format: chat.FormatJSON, TransferID: 79},
	}
	var hexes []string
	for _, m := range msgs {
		hexes = append(hexes, hex.EncodeToString(chat.AppendMessage(nil, m)))
	}
	in, _ := json.Marshal(hexes)
	got := eval[[]string](t, ctx, `(function(hexes) {
		const S = SwitchboardChat;
		return hexes.map(h => {
			const b = Uint8Array.from(h.match(/../g).map(x => parseInt(x, 16)));
			const f = new S.Framer(1 << 20).push(b)[0];
			const m = S.decode(f.type, f.flags, f.payload);
			m.flags = f.flags;
			return Array.from(S.encode(m), x => x.toString(16).padStart(2, "0")).join("");
		});
	})(`+string(in)+`)`)
	require.Len(t, got, len(hexes))
	for i := range hexes {
		assert.Equal(t, hexes[i], got[i], "%T", msgs[i])
	}
}

// A customer in the browser and an operator in Go: the operator sends
// 2,000 messages and the customer 300 while the page's socket is cut every
// 15 ms and after every 100 messages the operator sent. The customer gets every message of the operator once,
// in order; the operator gets every message of the customer once.
func TestScriptResumesWithoutLossOrRepeats(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"},
		Configure: func(s *chat.Server) { s.MessageRate = -1 }})
	defer srv.Close()
	ctx, _ := page(t, srv)

	var mu sync.Mutex
	fromCustomer := map[string]int{}
	assigned := make(chan int64, 1)
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis",
		Handler: func(m chat.Message) {
			switch m := m.(type) {
			case *chat.Assigned:
				assigned <- m.ConversationID
			case *chat.Post:
				if m.SenderRole == chat.RoleCustomer {
					mu.Lock()
					fromCustomer[m.Text]++
					mu.Unlock()
				}
			}
		}})
	require.NoError(t, err)
	defer op.Close()

	conv := eval[int64](t, ctx, `(async () => {
		window.posts = []; window.states = [];
		window.c = new SwitchboardChat({url: "ws://" + location.host + "/ws", name: "Ana", email: "ana@example.com",
			maxReconnectDelay: 50, onState: s => states.push(s),
			onPost: p => posts.push([p.seq, p.senderRole, p.text])});
		await c.connect();
		return c.conversationId;
	})()`)
	select {
	case id := <-assigned:
		require.Equal(t, conv, id)
	case <-time.After(10 * time.Second):
		t.Fatal("the operator was never assigned the browser's customer")
	}

	const fromOp, fromCust = 2000, 300
	eval[bool](t, ctx, `(() => { window.dropper = setInterval(() => { if (c.ws) c.ws.close(); }, 15); return true; })()`)
	opDone := make(chan error, 1)
	go func() {
		for i := range fromOp {
			if _, err := op.SendTo(context.Background(), conv, "", fmt.Sprint("op ", i)); err != nil {
				opDone <- err
				return
			}
			if i%100 == 50 { // and a cut in the middle of the stream, once the page is connected again
				cut, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := chromedp.Run(cut, chromedp.Poll[bool](`c.ws !== null && c.ws.readyState === 1 && (c.ws.close(), true)`,
					chromedp.WithPollingInterval(time.Millisecond)))
				cancel()
				if err != nil {
					opDone <- fmt.Errorf("cut the page's connection: %w", err)
					return
				}
			}
		}
		opDone <- nil
	}()
	acked := eval[int](t, ctx, `(async () => {
		const acks = await Promise.all([...Array(`+fmt.Sprint(fromCust)+`).keys()].map(i => c.send("cu " + i)));
		return acks.length;
	})()`)
	assert.Equal(t, fromCust, acked)
	require.NoError(t, <-opDone)
	eval[bool](t, ctx, `(() => { clearInterval(dropper); return true; })()`)

	// Every operator message reaches the page.
	pollCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = chromedp.Run(pollCtx, chromedp.Poll[bool](`posts.filter(p => p[1] === 2).length >= `+fmt.Sprint(fromOp)))
	require.NoError(t, err, "operator messages the page got")
	posts := eval[[][]any](t, ctx, `posts`)
	var texts []string
	last := 0.0
	for _, p := range posts {
		seq := p[0].(float64)
		require.Greater(t, seq, last, "POSTs in sequence order, none repeated")
		last = seq
		if p[1].(float64) == 2 {
			texts = append(texts, p[2].(string))
		}
	}
	want := make([]string, fromOp)
	for i := range want {
		want[i] = fmt.Sprint("op ", i)
	}
	assert.Equal(t, want, texts)
	drops := eval[int](t, ctx, `states.filter(s => s === "closed").length`)
	assert.GreaterOrEqual(t, drops, fromOp/100, "connections cut")
	t.Logf("%d posts, %d connections cut", len(posts), drops)

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(fromCustomer) == fromCust
	}, 10*time.Second, 20*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for i := range fromCust {
		assert.Equal(t, 1, fromCustomer[fmt.Sprint("cu ", i)], "customer message %d", i)
	}
}
