package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// The script's Framer parses every frame of a WebSocket message with the
// limit it has before it looks at any of them: 16 KiB until the WELCOME
// is handled. A WELCOME that comes in one message with the POSTs after
// it (the server writes what it queued as one message) and a POST of the
// longest text (16 KiB of text is more than 16 KiB of payload) is refused
// as "over the limit": connect rejects, though the server did nothing
// wrong. Deterministic, with a fake WebSocket.
func TestAttackScriptRejectsWelcomeFollowedByLongPost(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	ctx, _ := page(t, srv)
	got := eval[string](t, ctx, `(async () => {
		const S = SwitchboardChat, T = S.TYPES;
		let fake;
		class FakeWS { constructor() { fake = this; this.readyState = 1; setTimeout(() => this.onopen(), 0); }
			send() {} close() { this.readyState = 3; setTimeout(() => this.onclose({code: 1000}), 0); } }
		const welcome = S.encode({type: T.WELCOME, session: "s", resume: "r", conversationId: 7, maxFrame: 65536, heartbeat: 15000, server: "x"});
		const post = S.encode({type: T.POST, conversationId: 7, seq: 1, senderRole: 2, senderId: "op-1", senderName: "Luis",
			kind: 1, text: "x".repeat(16384), time: 1});
		const msg = new Uint8Array(welcome.length + post.length); msg.set(welcome); msg.set(post, welcome.length);
		const posts = [];
		const c = new S({url: "ws://x", name: "Ana", email: "a@x", WebSocket: FakeWS, reconnect: false, onPost: p => posts.push(p.seq)});
		const p = c.connect();
		await new Promise(r => setTimeout(r, 10));
		fake.onmessage({data: msg.buffer});
		try { await p; } catch (e) { return "rejected: " + e.message; }
		await new Promise(r => setTimeout(r, 10));
		return "posts " + JSON.stringify(posts);
	})()`)
	assert.Equal(t, "posts [1]", got)
}

// The same against the real server: the operator wrote the longest text
// allowed, the page reloads (a customer's widget resumes with its token,
// lastSeq 0: the whole conversation comes again). When the server writes
// the WELCOME and the catch-up in one message, the script refuses it; the
// widget then forgets the conversation (it takes a failed resume for an
// expired token) and shows the form again.
func TestAttackResumeAfterLongOperatorMessage(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Operators: map[string]string{"luis": "pw-luis"}})
	defer srv.Close()
	ctx, _ := page(t, srv)
	assigned := make(chan int64, 1)
	op, err := chat.Dial(ctx, srv.Addr, &chat.ClientOptions{Role: chat.RoleOperator, Login: "luis", Password: "pw-luis",
		Handler: func(m chat.Message) {
			if a, ok := m.(*chat.Assigned); ok {
				assigned <- a.ConversationID
			}
		}})
	require.NoError(t, err)
	defer op.Close()
	conv := eval[int64](t, ctx, `(async () => {
		window.c = new SwitchboardChat({url: "ws://" + location.host + "/ws", name: "Ana", email: "ana@example.com"});
		await c.connect();
		return c.conversationId;
	})()`)
	select {
	case id := <-assigned:
		require.Equal(t, conv, id)
	case <-time.After(10 * time.Second):
		t.Fatal("not assigned")
	}
	_, err = op.SendTo(context.Background(), conv, "", strings.Repeat("é", chat.MaxText/2)) // 16 KiB of text
	require.NoError(t, err)
	_, err = op.SendTo(context.Background(), conv, "", "short one")
	require.NoError(t, err)

	const reloads = 40
	results := eval[[]string](t, ctx, `(async () => {
		const out = [];
		let resume = c.welcome.resume;
		c.close();
		for (let i = 0; i < `+fmt.Sprint(reloads)+`; i++) {
			const posts = [];
			const r = new SwitchboardChat({url: "ws://" + location.host + "/ws", resume, reconnect: false, onPost: p => posts.push(p.seq)});
			try {
				const w = await r.connect();
				resume = w.resume;
				await new Promise(res => setTimeout(res, 200));
				out.push("ok " + posts.length);
			} catch (e) { out.push("rejected: " + e.message); }
			r.close();
			await new Promise(res => setTimeout(res, 50));
		}
		return out;
	})()`)
	t.Logf("%v", results)
	for i, r := range results {
		assert.True(t, strings.HasPrefix(r, "ok "), "reload %d: %s", i, r)
	}
}

// A frame the script cannot read after the WELCOME (here a QUEUE over the
// frame limit, which the server writes when 500 customers with long names
// wait) ends the connection; the script then reconnects at once, every
// time, for ever: a tight reconnect loop against the server instead of
// the growing delay it uses for failed connects.
func TestAttackScriptReconnectStormOnUnreadableFrame(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	ctx, _ := page(t, srv)
	opens := eval[int](t, ctx, `(async () => {
		const S = SwitchboardChat, T = S.TYPES;
		let opens = 0;
		class FakeWS { constructor() { opens++; const ws = this; this.readyState = 1;
				setTimeout(() => { ws.onopen();
					const welcome = S.encode({type: T.WELCOME, session: "s", resume: "r", conversationId: 7, maxFrame: 65536, heartbeat: 15000, server: "x"});
					ws.onmessage({data: welcome.slice().buffer});
					const bad = new Uint8Array(8); bad[0] = 1; bad[1] = T.QUEUE; bad[5] = 2; // 128 KiB announced
					ws.onmessage({data: bad.buffer});
				}, 0); }
			send() {} close() { if (this.readyState === 3) return; this.readyState = 3; setTimeout(() => this.onclose({code: 1006}), 0); } }
		const c = new S({url: "ws://x", role: "operator", login: "luis", password: "pw", WebSocket: FakeWS});
		await c.connect();
		await new Promise(r => setTimeout(r, 2000));
		c.close();
		return opens;
	})()`)
	t.Logf("%d connections in 2 s", opens)
	assert.LessOrEqual(t, opens, 10, "reconnects without delay after a frame the script refuses")
}
