// Package widget serves the customers' chat widget: a page (/chat/) and
// an embed snippet for any website (embed.js), over the chat's WebSocket
// transport (chat/chatws) into a chat.Server.
package widget

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chatws"
)

//go:embed static
var static embed.FS

// Handler serves the widget under its mount point (strip the prefix
// before it, e.g. http.StripPrefix("/chat", h) for /chat/): the page at
// "/", its script and style, embed.js, switchboard-chat.js, and the chat
// itself at "/ws". ws sets the WebSocket's options (its Server is srv).
func Handler(srv *chat.Server, ws chatws.Handler) http.Handler {
	ws.Server = srv
	files, _ := fs.Sub(static, "static")
	assets := http.FileServerFS(files)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", &ws)
	mux.Handle("GET /switchboard-chat.js", chatws.ScriptHandler())
	mux.Handle("GET /{$}", assets)
	for _, name := range []string{"widget.js", "widget.css", "embed.js"} {
		mux.Handle("GET /"+name, assets)
	}
	return headers(mux)
}

// headers adds the page's security headers: only its own scripts, styles
// and connections (and images of the conversation, as blob: URLs); any
// site may frame it (embed.js does).
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob:; connect-src 'self'; "+
			"style-src 'self'; script-src 'self'; frame-ancestors *; base-uri 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
