package chatws

import (
	"bytes"
	_ "embed"
	"net/http"
	"time"
)

// Script is switchboard-chat.js: a dependency-free browser client of the
// chat protocol over this package's WebSocket (customers and operators:
// resume and gap filling as the Go client does, sends stored once across
// reconnects). Load it with a <script> tag; it defines SwitchboardChat.
//
//	const chat = new SwitchboardChat({url: "wss://example.com/chat/ws", name: "Ana",
//	  email: "ana@example.com", onPost: p => show(p), onEvent: e => status(e)});
//	await chat.connect();
//	await chat.send("Hello");
//
//go:embed switchboard-chat.js
var Script []byte

// ScriptHandler serves Script as text/javascript.
func ScriptHandler() http.Handler {
	modified := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "switchboard-chat.js", modified, bytes.NewReader(Script))
	})
}
