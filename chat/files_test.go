package chat_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// Asking for another conversation's attachment and for one that does
// not exist get the same answer, which names no conversation: an id
// tells nothing about what exists.
func TestAttachmentAccessIsNoOracle(t *testing.T) {
	srv := chattest.NewServer(nil)
	defer srv.Close()
	ctx := testCtx(t)
	ana := customer(t, srv, "Ana", newInbox(), false)
	ack, err := ana.SendFile(ctx, 0, "evidence.txt", strings.NewReader("the router blinks red"), 1<<10, nil)
	require.NoError(t, err)
	_ = ack
	tr, err := srv.Store.Transcript(ctx, ana.ConversationID())
	require.NoError(t, err)
	require.Len(t, tr.Attachments, 1)
	eve := customer(t, srv, "Eve", newInbox(), false)
	_, errOther := eve.Fetch(ctx, tr.Attachments[0].ID, &bytes.Buffer{})
	_, errMissing := eve.Fetch(ctx, tr.Attachments[0].ID+1000, &bytes.Buffer{})
	require.Error(t, errOther)
	require.Error(t, errMissing)
	assert.Equal(t, errMissing, errOther)
	assert.True(t, isCode(errOther, chat.CodeNotFound), "%v", errOther)
}

// A file's name agrees with what its bytes are: script sniffed as plain
// text is not kept as .html or .svg (a browser would run it), a PDF is
// not kept as .exe, device names and hidden format characters go.
func TestAttachmentNamesAgreeWithTheirType(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) { s.MessageRate = -1 }})
	defer srv.Close()
	ctx := testCtx(t)
	c := customer(t, srv, "Ana", newInbox(), false)
	pdf := "%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
	for _, tc := range []struct{ name, data, want, mediaType string }{
		{"page.html", "Hi!<script>alert(document.cookie)</script>", "page.txt", "text/plain; charset=utf-8"},
		{"img.svg", "x<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>", "img.txt", "text/plain; charset=utf-8"},
		{"invoice\u202Efdp.exe", pdf, "invoicefdp.pdf", "application/pdf"},
		{"CON", "plain words", "_CON.txt", "text/plain; charset=utf-8"},
		{"notes.txt", "plain words", "notes.txt", "text/plain; charset=utf-8"},
		{"report.PDF", pdf, "report.PDF", "application/pdf"},
		{"..", "plain words", "file.txt", "text/plain; charset=utf-8"},
	} {
		ack, err := c.SendFile(ctx, 0, tc.name, strings.NewReader(tc.data), 1<<10, nil)
		require.NoError(t, err, tc.name)
		msgs, err := srv.Store.MessagesAfter(ctx, c.ConversationID(), ack.Seq-1, 1)
		require.NoError(t, err)
		a, err := srv.Store.Attachment(ctx, msgs[0].AttachmentID)
		require.NoError(t, err)
		assert.Equal(t, tc.want, a.Name, "stored name of %q", tc.name)
		assert.Equal(t, tc.mediaType, a.MediaType, "type of %q", tc.name)
	}
}
