package api

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/store"
)

// TestAttackTranscriptFileName: the download's file name comes from the
// customer's name (typed by any chat visitor, up to 256 bytes). The name
// is cut to 128 bytes after ".txt" is appended, so a name of the right
// length chooses the extension: "Customer aaa…a.html", ".hta", ".bat"...
// The saved file, holding what the customer typed, then opens as HTML or
// runs as a script. Other odd names stay one safe attachment.
func TestAttackTranscriptFileName(t *testing.T) {
	a := newTestAPI(t)
	tok := a.token("ops", "")
	ctx := context.Background()
	pad := func(ext string) string { return strings.Repeat("a", 128-len("Customer ")-len(ext)) + ext + " tail" }
	for _, name := range []string{
		pad(".html"), pad(".hta"), pad(".bat"),
		"Ana\r\nContent-Type: text/html", `Eve"; filename="x.html`, "../../etc/passwd", "..\\..\\win.ini", "CON", "Zoë 😀 ;,",
		"\u202eexe.txt", strings.Repeat("é", 200),
	} {
		c := store.Conversation{CustomerName: name}
		require.NoError(t, a.st.CreateConversation(ctx, &c))
		_, _, err := a.st.AppendMessage(ctx, store.Message{ConversationID: c.ID, SenderRole: store.RoleCustomer, SenderID: "customer",
			Kind: store.KindText, Text: "<script>alert(document.cookie)</script>\r\n& calc.exe &"})
		require.NoError(t, err)
		req := authGet(t, a.url+fmt.Sprintf("/api/v1/chat/conversations/%d/transcript", c.ID), tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, "%q", name)
		assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"), "%q", name)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), "%q", name)
		disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
		require.NoError(t, err, "%q: %q", name, resp.Header.Get("Content-Disposition"))
		assert.Equal(t, "attachment", disp, "%q", name)
		fn := params["filename"]
		assert.True(t, strings.HasSuffix(fn, ".txt"), "customer name %q chose the file name %q", name, fn)
		assert.NotContains(t, fn, "/", "%q", name)
		assert.NotContains(t, fn, "\\", "%q", name)
		assert.NotContains(t, fn, "\u202e", "%q", name)
	}
}
