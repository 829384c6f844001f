package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-go/switchboard/store"
)

// FileLimits bound attachments. The zero value means the defaults.
type FileLimits struct {
	// MaxFile caps one file (default 10 MiB).
	MaxFile int64
	// MaxPerConversation caps the bytes uploaded to one conversation
	// (default 50 MiB).
	MaxPerConversation int64
	// Allowed lists the media types accepted, as sniffed from the bytes
	// (net/http.DetectContentType), not as declared; a type/* entry
	// allows a whole family. Default: images (JPEG, PNG, GIF, WebP),
	// PDF and plain text.
	Allowed []string
	// MaxUploads caps the uploads in progress per connection (default 4).
	MaxUploads int
	// MaxBuffered caps the bytes of uploads in progress held in memory
	// by the whole server (default 64 MiB), reserved by each FILE_START
	// for its declared size; one client address may hold a quarter of
	// it. A FILE_START beyond it is refused (rate limited: retry later).
	MaxBuffered int64
	// UploadRate caps the upload bytes a connection sends per second
	// (default 4 MiB): beyond it the server stops reading from it for a
	// while (TCP pushes back).
	UploadRate int64
	// UploadIdle ends an upload that gets no chunk for this long
	// (default 30s), so that its reservation does not linger.
	UploadIdle time.Duration
}

func (l FileLimits) maxFile() int64 { return int64(orInt(int(l.MaxFile), 10<<20)) }
func (l FileLimits) maxConv() int64 { return int64(orInt(int(l.MaxPerConversation), 50<<20)) }
func (l FileLimits) maxBuffered() int64 {
	return int64(orInt(int(l.MaxBuffered), 64<<20))
}
func (l FileLimits) uploadRate() float64 {
	return float64(orInt(int(l.UploadRate), 4<<20))
}
func (l FileLimits) uploadIdle() time.Duration { return orDur(l.UploadIdle, 30*time.Second) }

func (l FileLimits) allowed(mediaType string) bool {
	allowed := l.Allowed
	if len(allowed) == 0 {
		allowed = []string{"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain"}
	}
	base, _, _ := mime.ParseMediaType(mediaType)
	for _, a := range allowed {
		if a == base || (strings.HasSuffix(a, "/*") && strings.HasPrefix(base, strings.TrimSuffix(a, "*"))) {
			return true
		}
	}
	return false
}

// upload is a file being received. Its declared size is reserved twice
// until it ends, however it ends (stored, refused, abandoned, or with the
// connection): in the conversation's quota and in the server's upload
// memory (see dropUpload).
type upload struct {
	start FileStart
	cv    *conv
	parts [][]byte // the chunks as they came (no buffer regrown and copied while it grows)
	got   int64
	sum   hash.Hash
	last  time.Time // the last chunk (or the start)
}

// SanitizeFileName returns a file name safe to store and to offer for
// download: the last path element, without control or format characters
// (a right-to-left override makes "invoice\u202Efdp.exe" read as a PDF),
// path separators, characters Windows refuses, leading dots or trailing
// dots and spaces, at most 128 bytes (the stem is cut, the extension of
// at most 16 bytes stays: it says how the file opens); a name Windows reserves for a
// device (CON, NUL, COM1, ...) gets a leading underscore; "file" if
// nothing is left.
func SanitizeFileName(name string) string {
	const maxFileName, maxExtension = 128, 16
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '/' || r == ':' || r == '*' || r == '?' || r == '"' || r == '<' || r == '>' || r == '|' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimRight(strings.TrimLeft(store.CleanLine(name), "."), ". ")
	if len(name) > maxFileName { // cut the stem: the extension says how the file opens
		stem, ext := name, ""
		if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= maxExtension {
			stem, ext = name[:i], name[i:]
		}
		for len(stem)+len(ext) > maxFileName {
			_, size := utf8.DecodeLastRuneInString(stem)
			stem = stem[:len(stem)-size]
		}
		name = strings.TrimRight(stem, ". ") + ext
	}
	if reservedOnWindows(name) {
		name = "_" + name
	}
	if name == "" {
		return "file"
	}
	return name
}

// reservedOnWindows reports whether name, without its extension, names
// a device on Windows.
func reservedOnWindows(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	switch strings.ToUpper(strings.TrimSpace(base)) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		return true
	}
	return false
}

func (s *Server) uploadStart(ctx context.Context, c *conn, m *FileStart) {
	cv, code, text := s.conversationFor(c, m.ConversationID)
	if cv == nil {
		c.refuse(code, text, m.ConversationID, m.ClientMsgID)
		return
	}
	lim := s.Files
	switch {
	case len(c.uploads) >= orInt(lim.MaxUploads, 4):
		c.refuse(CodeRateLimited, "too many uploads at once", cv.id, m.ClientMsgID)
		return
	case c.uploads[m.TransferID] != nil:
		c.refuse(CodeConflict, "transfer id in use", cv.id, m.ClientMsgID)
		return
	case m.Size <= 0 || m.Size > lim.maxFile():
		c.refuse(CodeTooLarge, fmt.Sprintf("a file may have 1 to %d bytes", lim.maxFile()), cv.id, m.ClientMsgID)
		return
	}
	s.hub.mu.Lock()
	over := cv.fileBytes+m.Size > lim.maxConv()
	if !over {
		cv.fileBytes += m.Size // reserved; given back if the upload fails
	}
	s.hub.mu.Unlock()
	if over {
		c.refuse(CodeTooLarge, fmt.Sprintf("the conversation's attachments may total %d bytes", lim.maxConv()), cv.id, m.ClientMsgID)
		return
	}
	if !s.guard.reserveUpload(c.ip, m.Size) {
		s.hub.mu.Lock()
		cv.fileBytes -= m.Size
		s.hub.mu.Unlock()
		c.refuse(CodeRateLimited, "too many uploads in progress on the server; retry later", cv.id, m.ClientMsgID)
		return
	}
	u := &upload{start: *m, cv: cv, sum: sha256.New(), last: time.Now()}
	u.start.Name = SanitizeFileName(m.Name)
	c.uploads[m.TransferID] = u
}

// dropUpload ends an upload that will not be stored and gives its
// reservations back.
func (s *Server) dropUpload(c *conn, id uint64) {
	u := c.uploads[id]
	if u == nil {
		return
	}
	delete(c.uploads, id)
	s.hub.mu.Lock()
	u.cv.fileBytes -= u.start.Size
	s.hub.mu.Unlock()
	s.guard.releaseUpload(c.ip, u.start.Size)
}

// dropUploads ends every upload of a connection that is gone.
func (s *Server) dropUploads(c *conn) {
	for id := range c.uploads {
		s.dropUpload(c, id)
	}
}

// expireUploads ends the connection's uploads that got no chunk for
// UploadIdle. It runs on the reader goroutine, at every frame; a
// connection that sends no frame at all is closed by the heartbeat.
func (s *Server) expireUploads(c *conn, now time.Time) {
	for id, u := range c.uploads {
		if now.Sub(u.last) > s.Files.uploadIdle() {
			cv, cmid := u.cv.id, u.start.ClientMsgID
			s.dropUpload(c, id)
			c.refuse(CodeTimeout, "upload abandoned: no chunk in time", cv, cmid)
		}
	}
}

// uploadChunk adds a chunk; more bytes than declared end the upload.
// Beyond the connection's upload rate the reader waits, so the client is
// slowed by TCP rather than refused.
func (s *Server) uploadChunk(c *conn, m *FileChunk) bool {
	u := c.uploads[m.TransferID]
	if u == nil {
		c.refuse(CodeNotFound, "no such upload", 0, "")
		return true
	}
	if u.got+int64(len(m.Data)) > u.start.Size {
		cv, cmid := u.cv.id, u.start.ClientMsgID
		s.dropUpload(c, m.TransferID)
		c.refuse(CodeChecksum, "more bytes than declared", cv, cmid)
		return true
	}
	if !c.uploadTokens(float64(c.frameLen), s.Files.uploadRate()) { // the whole frame: padding costs too
		return false // the connection ended while waiting
	}
	u.parts = append(u.parts, m.Data) // Decode copied it: the upload owns it
	u.got += int64(len(m.Data))
	u.sum.Write(m.Data)
	u.last = time.Now()
	return true
}

func (s *Server) uploadEnd(ctx context.Context, c *conn, m *FileEnd) {
	u := c.uploads[m.TransferID]
	if u == nil {
		c.refuse(CodeNotFound, "no such upload", 0, "")
		return
	}
	// The upload's memory is the server's again once this returns (the
	// store has its copy); its conversation quota stays reserved unless
	// it fails.
	delete(c.uploads, m.TransferID)
	defer s.guard.releaseUpload(c.ip, u.start.Size)
	cvID, cmid := u.cv.id, u.start.ClientMsgID
	fail := func(code ErrorCode, text string) {
		s.hub.mu.Lock()
		u.cv.fileBytes -= u.start.Size
		s.hub.mu.Unlock()
		c.refuse(code, text, cvID, cmid)
	}
	if u.got != u.start.Size {
		fail(CodeChecksum, fmt.Sprintf("got %d bytes of %d declared", u.got, u.start.Size))
		return
	}
	if !bytes.Equal(u.sum.Sum(nil), u.start.SHA256) {
		fail(CodeChecksum, "SHA-256 does not match")
		return
	}
	data := make([]byte, 0, u.got)
	for _, p := range u.parts {
		data = append(data, p...)
	}
	u.parts = nil
	sniffed := http.DetectContentType(data)
	if !s.Files.allowed(sniffed) {
		fail(CodeMediaType, fmt.Sprintf("%s files are not accepted", strings.SplitN(sniffed, ";", 2)[0]))
		return
	}
	a := store.Attachment{ConversationID: cvID, Name: nameForType(u.start.Name, sniffed), MediaType: sniffed, Data: data,
		SHA256: hex.EncodeToString(u.start.SHA256)}
	if err := s.Store.PutAttachment(ctx, &a); err != nil {
		fail(CodeInternal, "not stored; retry")
		s.logf("storing an attachment", "conversation", cvID, "err", err)
		return
	}
	msg := store.Message{ConversationID: cvID, ClientMsgID: cmid, Kind: store.KindAttachment, Text: a.Name, AttachmentID: a.ID}
	name := u.cv.rec.CustomerName
	if c.op != nil {
		msg.SenderRole, msg.SenderID, name = store.RoleOperator, c.op.id, c.op.displayName()
	} else {
		msg.SenderRole, msg.SenderID = store.RoleCustomer, "customer"
	}
	// The ACK goes out in sequence order, after the POSTs before it.
	s.hub.appendThen(ctx, u.cv, msg, name, c, &a, func(stored store.Message, _ bool, err error) {
		switch {
		case errors.Is(err, store.ErrConflict):
			fail(CodeConflict, "the conversation is closed")
			return
		case err != nil:
			fail(CodeInternal, "not stored; retry")
			return
		}
		c.ack(u.cv, &Ack{ConversationID: cvID, ClientMsgID: cmid, Seq: stored.Seq, Time: stored.CreatedAt})
	})
}

// fetch streams an attachment of a conversation the client takes part in.
func (s *Server) fetch(ctx context.Context, c *conn, m *Fetch) {
	// Another conversation's attachment and a missing one get the same
	// answer: ids say nothing about what exists.
	a, err := s.Store.Attachment(ctx, m.AttachmentID)
	if err != nil || !s.participates(c, a.ConversationID) {
		c.refuse(CodeNotFound, "no such attachment", 0, "")
		return
	}
	sum, _ := hex.DecodeString(a.SHA256)
	s.sendFile(c, &FileStart{ConversationID: a.ConversationID, TransferID: m.TransferID, Name: a.Name, MediaType: a.MediaType,
		Size: a.Size, SHA256: sum}, a.Data)
}

// participates reports whether c is the conversation's customer or its
// operator (closed conversations included, through the store).
func (s *Server) participates(c *conn, id int64) bool {
	if c.conv != nil {
		return c.conv.id == id
	}
	s.hub.mu.Lock()
	_, serving := c.op.active[id]
	s.hub.mu.Unlock()
	if serving {
		return true
	}
	rec, err := s.Store.Conversation(context.Background(), id)
	return err == nil && rec.OperatorID == c.op.id
}

// maxDownloads bounds the downloads a connection runs at once.
const maxDownloads = 2

// download runs a download (FETCH, TRANSCRIPT) on a goroutine of its own:
// it waits for the client to read, and the reader goes on reading (PINGs
// among them: a slow download is no lost heartbeat).
// A refusal names conversation (0 for FETCH, whose client waits for
// one without; a TRANSCRIPT's, whose client waits for its own).
func (s *Server) download(c *conn, transfer uint64, conversation int64, run func()) {
	select {
	case c.downloads <- struct{}{}:
	default:
		c.refuse(CodeRateLimited, fmt.Sprintf("at most %d downloads at once", maxDownloads), conversation, "")
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-c.downloads }()
		run()
	}()
}

// sendFile sends a file in chunks, waiting for the client to read.
func (s *Server) sendFile(c *conn, start *FileStart, data []byte) {
	if !c.sendWait(start) {
		return
	}
	for chunk := range slices.Chunk(data, MaxChunk) {
		if !c.sendWait(&FileChunk{TransferID: start.TransferID, Data: chunk}) {
			return
		}
	}
	c.sendWait(&FileEnd{TransferID: start.TransferID})
}

func (s *Server) transcript(ctx context.Context, c *conn, m *TranscriptRequest) {
	id := m.ConversationID
	if id == 0 && c.conv != nil {
		id = c.conv.id
	}
	if !s.participates(c, id) {
		c.refuse(CodeForbidden, "not your conversation", id, "")
		return
	}
	t, err := s.Store.Transcript(ctx, id)
	if err != nil {
		c.refuse(CodeNotFound, "no such conversation", id, "")
		return
	}
	if c.op == nil { // a customer sees operators by name, never by login
		t.Conversation.OperatorID = s.publicOperatorID(t.Conversation.OperatorID)
		for i, m := range t.Messages {
			if m.SenderRole == store.RoleOperator {
				t.Messages[i].SenderID = s.operatorName(ctx, m.SenderID)
			}
		}
	}
	if m.Format == FormatMail {
		s.mailTranscript(ctx, c, t)
		return
	}
	var buf bytes.Buffer
	name, mediaType := TranscriptFileName(t, "txt"), "text/plain; charset=utf-8"
	if m.Format == FormatJSON {
		err = WriteTranscriptJSON(&buf, t)
		name, mediaType = TranscriptFileName(t, "json"), "application/json"
	} else {
		err = WriteTranscriptText(&buf, t)
	}
	if err != nil {
		c.refuse(CodeInternal, "cannot export", id, "")
		return
	}
	sum := sha256.Sum256(buf.Bytes())
	s.sendFile(c, &FileStart{ConversationID: id, TransferID: m.TransferID, Name: name, MediaType: mediaType,
		Size: int64(buf.Len()), SHA256: sum[:]}, buf.Bytes())
}
