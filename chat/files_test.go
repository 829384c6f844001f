package chat_test

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
	"github.com/switchboard-go/switchboard/store"
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

// A slow download is no lost heartbeat: a client that reads a 2 MiB
// attachment at about 1 MB/s while it PINGs gets all of it, although
// the download takes longer than three heartbeat intervals (the reader
// goroutine used to be busy with the download and not see the PINGs).
func TestSlowDownloadKeepsTheConnection(t *testing.T) {
	srv := chattest.NewServer(&chattest.Config{Configure: func(s *chat.Server) {
		s.Heartbeat, s.OutboundLimit = 300*time.Millisecond, 64<<10
	}})
	defer srv.Close()
	ctx := testCtx(t)
	r, w := dialRaw(t, srv.Addr, &chat.Hello{Role: chat.RoleCustomer, Name: "Ana", CustomerID: "a"})
	a := store.Attachment{ConversationID: w.ConversationID, Name: "big.pdf", MediaType: "application/pdf", Data: make([]byte, 2<<20)}
	require.NoError(t, srv.Store.PutAttachment(ctx, &a))
	r.nc.(*net.TCPConn).SetReadBuffer(16 << 10)
	_, err := r.nc.Write(chat.AppendMessage(nil, &chat.Fetch{AttachmentID: a.ID, TransferID: 9}))
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := uint64(0); ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := r.nc.Write(chat.AppendMessage(nil, &chat.Ping{Nonce: i})); err != nil {
				return
			}
		}
	}()
	start, got := time.Now(), 0
	for {
		r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := r.fr.Read()
		require.NoError(t, err, "after %d bytes in %v", got, time.Since(start))
		if f.Type == chat.TypeError {
			m, _ := chat.Decode(f)
			t.Fatalf("after %d bytes in %v: %v", got, time.Since(start), m)
		}
		if f.Type == chat.TypeFileChunk {
			m, err := chat.Decode(f)
			require.NoError(t, err)
			got += len(m.(*chat.FileChunk).Data)
			time.Sleep(30 * time.Millisecond) // about 1 MB/s
		}
		if f.Type == chat.TypeFileEnd {
			break
		}
	}
	assert.Equal(t, 2<<20, got)
	assert.Greater(t, time.Since(start), time.Second, "the download was not slow")
}
