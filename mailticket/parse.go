package mailticket

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
	"github.com/k3a/html2text"

	"github.com/switchboard-go/switchboard/mailticket/internal/tnef"
	"github.com/switchboard-go/switchboard/store"
)

// Limits bound what Parse accepts from a mail. Zero fields take the
// defaults in [DefaultLimits].
type Limits struct {
	// MaxMailSize is the largest raw mail accepted; larger mail is
	// quarantined before it is parsed.
	MaxMailSize int64
	// MaxHeaderBytes bounds the header block of the mail and of each part.
	MaxHeaderBytes int64
	// MaxAttachmentSize is the largest attachment kept; larger ones are
	// dropped and named in Mail.Dropped.
	MaxAttachmentSize int64
	// MaxAttachments is the most attachments kept per mail.
	MaxAttachments int
	// MaxParts bounds the MIME parts walked; MaxDepth their nesting.
	MaxParts int
	MaxDepth int
	// MaxTextSize bounds the text and HTML bodies kept (each, all parts
	// together).
	MaxTextSize int64
}

// DefaultLimits are the limits used for zero fields of [Limits].
var DefaultLimits = Limits{
	MaxMailSize:       25 << 20,
	MaxHeaderBytes:    256 << 10,
	MaxAttachmentSize: 20 << 20,
	MaxAttachments:    100,
	MaxParts:          500,
	MaxDepth:          20,
	MaxTextSize:       1 << 20,
}

func (l *Limits) withDefaults() Limits {
	out := DefaultLimits
	if l == nil {
		return out
	}
	orDefault(&out.MaxMailSize, l.MaxMailSize)
	orDefault(&out.MaxHeaderBytes, l.MaxHeaderBytes)
	orDefault(&out.MaxAttachmentSize, l.MaxAttachmentSize)
	orDefault(&out.MaxAttachments, l.MaxAttachments)
	orDefault(&out.MaxParts, l.MaxParts)
	orDefault(&out.MaxDepth, l.MaxDepth)
	orDefault(&out.MaxTextSize, l.MaxTextSize)
	return out
}

// orDefault sets *dst to v when v is positive (else *dst keeps the default).
func orDefault[T int | int64](dst *T, v T) {
	if v > 0 {
		*dst = v
	}
}

// Address is a mailbox: a display name and a lower-cased address.
type Address struct {
	Name string
	Addr string
}

func (a Address) String() string {
	if a.Addr == "" {
		return ""
	}
	return (&mail.Address{Name: a.Name, Address: a.Addr}).String()
}

// Domain returns the part of the address after the last @.
func (a Address) Domain() string {
	if i := strings.LastIndexByte(a.Addr, '@'); i >= 0 {
		return a.Addr[i+1:]
	}
	return ""
}

// Attachment is a file of a mail.
type Attachment struct {
	Name      string // sanitized: no directories, no control characters
	MediaType string
	ContentID string // without angle brackets, for inline images
	Inline    bool
	Data      []byte
}

// Bounce is what a delivery status notification (multipart/report;
// report-type=delivery-status) says about an earlier mail.
type Bounce struct {
	// OriginalMessageID is the Message-ID of the mail that bounced, from
	// the returned message or its headers ("" if not included).
	OriginalMessageID string
	Recipients        []string // Final-Recipient addresses
	Action            string   // failed, delayed, delivered, relayed, expanded
	Status            string   // e.g. 5.1.1
}

// Mail is a parsed mail. Header values are decoded (RFC 2047) to UTF-8;
// Message-IDs have no angle brackets.
type Mail struct {
	Header     textproto.Header // the top-level header as received
	MessageID  string
	InReplyTo  []string
	References []string
	From       Address
	ReplyTo    Address // zero if absent
	To, Cc     []Address
	// ReturnPath is the Return-Path header; NullReturnPath is set when it
	// is present and empty ("<>", the mark of bounces and auto-replies).
	ReturnPath     string
	NullReturnPath bool
	Subject        string
	Date           time.Time // zero if missing or unreadable
	Text           string    // the text/plain body, or the HTML body as text
	HTML           string
	Attachments    []Attachment
	// Dropped names attachments left out by the limits.
	Dropped []string
	// Bounce is set for delivery status notifications.
	Bounce *Bounce
	// ReportType is the report-type of a multipart/report anywhere in
	// the mail (delivery-status, disposition-notification, feedback-report
	// ...): a machine's report, never to be answered.
	ReportType string
	// BodyDigest is the SHA-256 (hex) of the raw body after the header.
	BodyDigest string
	// Warnings are problems that did not stop parsing (an unknown
	// charset shown as-is, a broken part skipped).
	Warnings []string
}

// ContentKey identifies the mail by content (see store.MailReceipt): the
// Message-ID and the body digest, or, without a Message-ID, the digest of
// sender, date, subject and body, so that two different mails without
// Message-ID are never taken for one.
func (m *Mail) ContentKey() string {
	if m.MessageID != "" {
		return "mid:" + m.MessageID + "/" + m.BodyDigest[:32]
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s", m.From.Addr, m.Header.Get("Date"), m.Header.Get("Subject"), m.BodyDigest)
	return "sum:" + hex.EncodeToString(h.Sum(nil))[:48]
}

// Parse errors. A *ParseError wraps one of them (or a MIME error).
var (
	ErrTooLarge  = errors.New("mailticket: mail too large")
	ErrEmpty     = errors.New("mailticket: empty mail")
	ErrMalformed = errors.New("mailticket: malformed mail")
)

// ParseError is why a mail could not be parsed; such mail is quarantined.
type ParseError struct {
	Reason string
	Err    error
}

func (e *ParseError) Error() string {
	if e.Err != nil && e.Reason == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return "mailticket: " + e.Reason + ": " + e.Err.Error()
	}
	return "mailticket: " + e.Reason
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a raw RFC 5322 mail within the limits (nil: defaults). It
// never panics on bad input: unreadable mail returns a *ParseError;
// problems it can work around (an unknown charset, a broken inner part)
// are listed in Mail.Warnings. Parse is safe for concurrent use.
func Parse(raw []byte, lim *Limits) (*Mail, error) { return parse(raw, lim.withDefaults(), false) }

// parse is Parse; inner is set for a message attached to another, whose
// own attached messages are not read for text.
func parse(raw []byte, l Limits, inner bool) (*Mail, error) {
	if int64(len(raw)) > l.MaxMailSize {
		return nil, &ParseError{Reason: fmt.Sprintf("%d bytes, limit %d", len(raw), l.MaxMailSize), Err: ErrTooLarge}
	}
	var warns warnings
	if bom := []byte("\xEF\xBB\xBF"); bytes.HasPrefix(raw, bom) {
		raw = raw[len(bom):] // a UTF-8 byte order mark some programs write first
		warns.add("byte order mark before the header skipped")
	}
	if crLineEnds(raw) {
		raw = bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\r")), []byte("\r"), []byte("\r\n"))
		warns.add("lines end in CR alone (old Mac): read as CRLF")
	}
	header, body := splitMail(raw, &warns)
	br := bufio.NewReader(&limitReader{r: bytes.NewReader(header), n: l.MaxHeaderBytes})
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, &ParseError{Reason: "header", Err: errors.Join(ErrMalformed, err)}
	}
	if h.Len() > 0 && !knownField(h) && looksLikeText(raw) {
		// "Hi: I need help" and nothing a mail header has: text that
		// happens to start like a field, not a header.
		h, body = textproto.Header{}, raw
	}
	if h.Len() == 0 {
		// No header at all: a mail saved without it, or the text of one.
		// Text is shown as the body of a mail from nobody; anything else
		// (a picture dropped in a Maildir) is not a mail.
		if !looksLikeText(body) {
			return nil, &ParseError{Reason: "no header", Err: ErrMalformed}
		}
		warns.add("no header: the whole mail read as its text")
	}
	for _, w := range fixMediaHeaders(&h) {
		warns.add(w)
	}
	m := &Mail{Header: h}
	if n := largestPartHeader(body); int64(n) > l.MaxHeaderBytes {
		return nil, &ParseError{Reason: fmt.Sprintf("a part's header of %d bytes, limit %d", n, l.MaxHeaderBytes), Err: ErrTooLarge}
	}
	m.Warnings = warns.done()
	m.BodyDigest = digest(body)
	m.readHeader(func() string { return declaredCharset(h, body) })

	p := parser{l: l, m: m}
	e, err := message.New(message.Header{Header: h}, bytes.NewReader(body))
	if err != nil {
		if e == nil {
			return nil, &ParseError{Reason: "body", Err: errors.Join(ErrMalformed, err)}
		}
		m.Warnings = append(m.Warnings, err.Error())
	}
	p.walk(e, message.Header{Header: h}, body)
	p.finish()
	if m.Text == "" && m.HTML == "" {
		p.textOfNothing(body, inner)
	}
	if m.Text == "" && m.HTML == "" && len(m.Attachments) == 0 && len(m.Dropped) == 0 && m.Subject == "" && m.Bounce == nil {
		return nil, &ParseError{Reason: "no subject, text or attachment", Err: ErrEmpty}
	}
	return m, nil
}

// knownField says whether h has any field a mail header has.
func knownField(h textproto.Header) bool {
	for _, k := range []string{"From", "Sender", "To", "Cc", "Subject", "Date", "Message-Id", "Received", "Return-Path",
		"Mime-Version", "Content-Type", "Content-Transfer-Encoding", "Reply-To", "In-Reply-To", "References", "Delivered-To"} {
		if h.Has(k) {
			return true
		}
	}
	fields := h.Fields()
	for fields.Next() {
		if strings.HasPrefix(strings.ToLower(fields.Key()), "x-") {
			return true
		}
	}
	return false
}

// looksLikeText reports whether b reads as text: valid UTF-8 (or 8-bit
// text) without NUL bytes, mostly printable, and not empty.
func looksLikeText(b []byte) bool {
	b = b[:min(len(b), 8<<10)]
	if len(bytes.TrimSpace(b)) == 0 || bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	ctl := 0
	for _, c := range b {
		if c < ' ' && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			ctl++
		}
	}
	return ctl*100 < len(b)
}

// crLineEnds reports whether the mail's lines end in a lone CR (classic
// Mac OS): it has CRs and no LF at all in its first 64 KiB (a first line
// ending in "\r\r\n" is a CRLF mail with a stray CR, not one of these).
func crLineEnds(raw []byte) bool {
	head := raw[:min(len(raw), 64<<10)]
	return bytes.IndexByte(head, '\r') >= 0 && bytes.IndexByte(head, '\n') < 0
}

// digest hashes a body with CRLF and LF line ends alike, so the same mail
// has one digest whether a source stored it with either.
func digest(b []byte) string {
	h := sha256.New()
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			h.Write(b)
			break
		}
		h.Write(b[:i])
		h.Write([]byte{'\n'})
		b = b[i+2:]
	}
	return hex.EncodeToString(h.Sum(nil))
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// decodeText decodes RFC 2047 words, keeping the raw value (made valid
// UTF-8) when they are broken.
func decodeText(s string) string {
	if strings.Contains(s, "?B?") || strings.Contains(s, "?b?") {
		s = repadBWords(s)
	}
	if d, err := wordDecoder.DecodeHeader(escape8bitWords(s)); err == nil {
		s = d
	}
	return validUTF8(s)
}

// validUTF8 returns s as valid UTF-8 without NUL characters (which no
// text column takes).
func validUTF8(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = fixInvalidUTF8(s)
	}
	return fixC1(s)
}

// readHeader reads the fields of m.Header. Raw 8-bit text in them (which
// RFC 5322 does not allow, and programs write anyway) is read in the
// charset the mail declares for its text (charset(), asked only then),
// when it is not UTF-8.
func (m *Mail) readHeader(charset func() string) {
	h := &m.Header
	cs, looked := "", false
	get := func(k string) string {
		v := h.Get(k)
		if utf8.ValidString(v) {
			return v
		}
		if !looked { // only for mail with raw 8-bit header text
			cs, looked = charset(), true
		}
		if cs != "" {
			v = fromCharset(v, cs)
		}
		return v
	}
	m.Subject = strings.TrimSpace(collapse(decodeText(get("Subject"))))
	m.MessageID = firstID(h.Get("Message-Id"))
	m.InReplyTo = msgIDs(h.Get("In-Reply-To"))
	m.References = msgIDs(h.Get("References"))
	m.From = firstAddress(get("From"))
	if m.From.Addr == "" {
		m.From = firstAddress(get("Sender"))
	}
	m.ReplyTo = firstAddress(get("Reply-To"))
	m.To = addresses(get("To"))
	m.Cc = addresses(get("Cc"))
	if h.Has("Return-Path") {
		rp := strings.TrimSpace(h.Get("Return-Path"))
		m.ReturnPath = strings.ToLower(strings.Trim(rp, "<> \t"))
		m.NullReturnPath = m.ReturnPath == ""
	}
	if d := h.Get("Date"); d != "" {
		if t, err := mail.ParseDate(d); err == nil {
			m.Date = t
		}
	}
}

// collapse turns folded whitespace into single spaces.
func collapse(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' || r == '\t' }), " ")
}

// Bounds on message ids: longer ids are ignored (a database index entry
// must stay small), and at most maxIDs are kept of a list, the first and
// the newest (each is a lookup when threading).
const (
	maxIDLen = 250
	maxIDs   = 50
)

// msgIDs extracts <id> tokens; a value without brackets counts as one id.
func msgIDs(v string) []string {
	return trimIDs(rawIDs(v), maxIDs)
}

func rawIDs(v string) []string {
	var out []string
	rest := v
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(rest[i+1 : i+j]); id != "" && len(id) <= maxIDLen && !strings.ContainsAny(id, " \t\r\n<") {
			out = append(out, id)
		}
		rest = rest[i+j+1:]
	}
	if len(out) == 0 {
		if f := strings.Fields(v); len(f) == 1 && strings.Contains(f[0], "@") && len(f[0]) <= maxIDLen {
			out = append(out, f[0])
		}
	}
	return out
}

func firstID(v string) string { return firstOf(msgIDs(v)) }

func firstOf(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}

var addressParser = &mail.AddressParser{WordDecoder: wordDecoder}

func addresses(v string) []Address {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	list, err := addressParser.ParseList(v)
	if strings.IndexByte(v, '(') >= 0 && (err != nil || misreadComments(list)) {
		// Comments where net/mail misreads them (RFC 5322 allows CFWS
		// around every token: "pete(his account)@silly.test"); it reads
		// a trailing one ("ana@x (Ana Perez)") as the name itself.
		if l, err2 := addressParser.ParseList(removeComments(v)); err2 == nil {
			list, err = l, nil
		}
	}
	if err != nil {
		// Salvage what looks like addresses from a broken list.
		var out []Address
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
			if a := looseAddress(f); a.Addr != "" {
				out = append(out, a)
			}
		}
		return out
	}
	out := make([]Address, 0, len(list))
	for _, a := range list {
		if len(a.Address) > maxAddrLen {
			continue
		}
		name := a.Name
		if strings.Contains(name, "=?") { // an encoded word inside quotes, which net/mail leaves
			name = decodeText(name)
		}
		out = append(out, Address{Name: validUTF8(name), Addr: strings.ToLower(a.Address)})
	}
	return out
}

// misreadComments says whether net/mail left comment text in an address.
func misreadComments(list []*mail.Address) bool {
	for _, a := range list {
		if strings.ContainsAny(a.Address, "()") {
			return true
		}
	}
	return false
}

func firstAddress(v string) Address {
	if as := addresses(v); len(as) > 0 {
		return as[0]
	}
	return Address{}
}

// maxAddrLen is the longest address kept (RFC 5321: a path is at most 256
// octets with its brackets); longer ones are ignored.
const maxAddrLen = 254

// looseAddress finds an address in text that net/mail refuses
// ("Ana <ana@example.com" or a bare address with junk around it).
func looseAddress(s string) Address {
	s = decodeText(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		addr := strings.TrimRight(s[i+1:], "> \t")
		if strings.Count(addr, "@") == 1 && !strings.ContainsAny(addr, " \t") && len(addr) <= maxAddrLen {
			return Address{Name: strings.Trim(strings.TrimSpace(s[:i]), `"`), Addr: strings.ToLower(addr)}
		}
	}
	for _, f := range strings.Fields(s) {
		f = strings.Trim(f, "<>\"'()[],;")
		if strings.Count(f, "@") == 1 && !strings.HasPrefix(f, "@") && !strings.HasSuffix(f, "@") && len(f) <= maxAddrLen {
			return Address{Addr: strings.ToLower(f)}
		}
	}
	return Address{}
}

// parser walks the MIME tree of one mail.
type parser struct {
	l         Limits
	m         *Mail
	parts     int
	texts     []string
	textBytes int64 // of texts
	html      string
	report    bool
	dsn       *Bounce
	tnef      *tnef.Message // the body of a winmail.dat, used when the mail has none of its own
}

func (p *parser) walk(root *message.Entity, h message.Header, rawBody []byte) {
	err := p.walkFrom(root, 0)
	if err == nil {
		return
	}
	p.m.Warnings = append(p.m.Warnings, "MIME: "+err.Error())
	// The MIME reader gave up (a boundary that is a prefix of another,
	// an inner multipart reusing its parent's boundary, a part cut
	// short): read the parts again with lenient splitting, from scratch.
	kept := p.m.Warnings
	*p = parser{l: p.l, m: p.m}
	p.m.Attachments, p.m.Dropped, p.m.ReportType = nil, nil, ""
	p.m.Warnings = kept
	if err := p.walkLenient(h, rawBody, 0); err != nil {
		p.m.Warnings = append(p.m.Warnings, "MIME (lenient): "+err.Error())
	}
	if len(p.texts) == 0 && p.html == "" && len(p.m.Attachments) == 0 {
		// A broken multipart with nothing readable: show the raw body
		// as text rather than lose it.
		p.texts = append(p.texts, p.limitText(rawBody))
	}
}

// walkLenient reads a part whose header is h and raw body is body,
// splitting multiparts at lines that are exactly a delimiter of their
// boundary (not a prefix of a longer one); a close delimiter ends the
// parts only when no delimiter follows it (an inner multipart that reused
// the boundary closed it early).
func (p *parser) walkLenient(h message.Header, body []byte, depth int) error {
	p.parts++
	if p.parts > p.l.MaxParts {
		return fmt.Errorf("more than %d MIME parts", p.l.MaxParts)
	}
	if depth > p.l.MaxDepth {
		return fmt.Errorf("MIME parts nested deeper than %d", p.l.MaxDepth)
	}
	mt, params, ok := lenientMediaType(h.Get("Content-Type"))
	if ok && strings.HasPrefix(strings.ToLower(mt), "multipart/") && params["boundary"] != "" {
		fixed := h.Copy()
		fixed.Set("Content-Type", mime.FormatMediaType(mt, params))
		if e, err := message.New(fixed, bytes.NewReader(nil)); e != nil {
			p.part(e, depth == 0) // what a multipart says (reports)
		} else if err != nil {
			return err
		}
		parts := splitParts(body, params["boundary"], p.l.MaxParts-p.parts)
		if p.parts+len(parts) > p.l.MaxParts {
			return fmt.Errorf("more than %d MIME parts", p.l.MaxParts)
		}
		for _, part := range parts {
			if len(bytes.TrimSpace(part)) == 0 {
				p.parts++ // an empty part counts as one
				continue
			}
			head, rest := partHeader(part)
			if fixed, ok := foldBrokenLines(head); ok {
				head = fixed
				p.m.Warnings = append(p.m.Warnings, "a part's header folded without white space: read as folded")
			}
			hdr, err := textproto.ReadHeader(bufio.NewReader(&limitReader{r: bytes.NewReader(head), n: p.l.MaxHeaderBytes}))
			if err != nil {
				hdr, rest = textproto.Header{}, part // no header: text/plain (RFC 2046 5.1.1)
			}
			if err := p.walkLenient(message.Header{Header: hdr}, rest, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	e, err := message.New(h, bytes.NewReader(body))
	if e == nil {
		return err
	}
	if err != nil {
		p.m.Warnings = append(p.m.Warnings, err.Error())
	}
	p.part(e, depth == 0)
	return nil
}

// walkFrom reads e and its parts; depth is e's own nesting. (It is
// go-message's Walk, but able to repair a part's Content-Type before
// reading its parts.)
func (p *parser) walkFrom(e *message.Entity, depth int) error {
	p.parts++
	if p.parts > p.l.MaxParts {
		return fmt.Errorf("more than %d MIME parts", p.l.MaxParts)
	}
	if depth > p.l.MaxDepth {
		return fmt.Errorf("MIME parts nested deeper than %d", p.l.MaxDepth)
	}
	if fixed := p.repairedMultipart(e); fixed != nil {
		e = fixed
	}
	p.part(e, depth == 0)
	mr := e.MultipartReader()
	if mr == nil {
		return nil
	}
	for {
		child, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil && !message.IsUnknownEncoding(err) && !message.IsUnknownCharset(err) {
			return err
		}
		if err != nil {
			p.m.Warnings = append(p.m.Warnings, err.Error())
		}
		if err := p.walkFrom(child, depth+1); err != nil {
			return err
		}
	}
}

// repairedMultipart returns a multipart part whose Content-Type only a
// lenient reading understands (an unquoted boundary with "=", as Outlook
// Express writes it) as an entity the MIME reader can walk, or nil. (The
// top-level header was repaired before parsing; this is for inner parts.)
func (p *parser) repairedMultipart(e *message.Entity) *message.Entity {
	v := e.Header.Get("Content-Type")
	if _, _, err := mime.ParseMediaType(v); err == nil {
		return nil
	}
	mt, params, ok := lenientMediaType(v)
	if !ok || !strings.HasPrefix(strings.ToLower(mt), "multipart/") || params["boundary"] == "" {
		return nil
	}
	fixed := mime.FormatMediaType(mt, params)
	if fixed == "" {
		return nil
	}
	h := e.Header.Copy()
	h.Set("Content-Type", fixed)
	n, err := message.New(h, e.Body)
	if err != nil && n == nil {
		return nil
	}
	p.m.Warnings = append(p.m.Warnings, "Content-Type read leniently: "+string(clip([]byte(v), 80)))
	return n
}

func (p *parser) part(e *message.Entity, root bool) {
	mt, params, ctErr := e.Header.ContentType()
	if ctErr != nil {
		var ok bool
		if mt, params, ok = lenientMediaType(e.Header.Get("Content-Type")); !ok {
			mt = "text/plain" // RFC 2045: a broken Content-Type means text/plain
		}
		p.m.Warnings = append(p.m.Warnings, "Content-Type: "+ctErr.Error())
	}
	mt = strings.ToLower(mt)
	if !strings.Contains(mt, "/") {
		mt = "text/plain" // "text" alone, or nothing a reader knows (RFC 2045 5.2)
	}
	if strings.HasPrefix(mt, "multipart/") {
		if mt == "multipart/report" && p.m.ReportType == "" {
			p.m.ReportType = strings.ToLower(cmp.Or(params["report-type"], "unknown"))
		}
		if root && mt == "multipart/report" && strings.EqualFold(params["report-type"], "delivery-status") {
			// (A report inside a mail, a bounce a person forwards, makes
			// the mail no bounce: ReportType above keeps it unanswered.)
			p.report = true
			p.dsn = &Bounce{}
		}
		return
	}
	disp, dparams, err := e.Header.ContentDisposition()
	if err != nil {
		disp, dparams, _ = lenientMediaType(e.Header.Get("Content-Disposition"))
	}
	disp = strings.ToLower(disp)
	name := attachmentName(dparams["filename"], params["name"])

	if root && (mt == "message/delivery-status" || mt == "message/global-delivery-status") {
		// A delivery status outside a multipart/report (a broken DSN, or
		// one that is nothing else) is a delivery report all the same.
		p.report, p.dsn = true, &Bounce{}
	}
	switch {
	case p.report && (mt == "message/delivery-status" || mt == "message/global-delivery-status"):
		p.readDeliveryStatus(e.Body)
		return
	case p.report && (mt == "message/rfc822" || mt == "text/rfc822-headers" || mt == "message/global-headers"):
		if h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(e.Body, p.l.MaxHeaderBytes))); err == nil {
			p.dsn.OriginalMessageID = firstID(h.Get("Message-Id"))
		}
		return
	case (mt == "text/plain" || mt == "text/html") && disp != "attachment" && (name == "" || disp == "" && mt == "text/plain" && len(p.texts) == 0 && p.html == "" && len(p.m.Attachments) == 0):
		// (A first text part with a name and no disposition is shown
		// as the text, as mail readers do: McAfee's deliveryproblems.txt.)
		body := p.readText(e.Body)
		if mt == "text/html" {
			if p.html == "" {
				p.html = body
			}
		} else if strings.TrimSpace(body) != "" {
			p.addText(body)
		}
		return
	}
	// Everything else is a file: attachments, inline images, forwarded
	// mail (message/rfc822, kept whole), calendar invitations.
	if name == "" {
		name = defaultName(mt, len(p.m.Attachments)+1)
	}
	if len(p.m.Attachments) >= p.l.MaxAttachments {
		p.m.Dropped = append(p.m.Dropped, name+" (too many attachments)")
		return
	}
	data, err := io.ReadAll(io.LimitReader(e.Body, p.l.MaxAttachmentSize+1))
	if err != nil {
		p.m.Warnings = append(p.m.Warnings, fmt.Sprintf("attachment %q: %v", name, err))
		if len(data) == 0 {
			p.m.Dropped = append(p.m.Dropped, name+" (unreadable)")
			return
		}
	}
	if int64(len(data)) > p.l.MaxAttachmentSize {
		p.m.Dropped = append(p.m.Dropped, fmt.Sprintf("%s (larger than %d bytes)", name, p.l.MaxAttachmentSize))
		return
	}
	if isTNEF(mt, name) && p.addTNEF(name, data) {
		return
	}
	p.m.Attachments = append(p.m.Attachments, Attachment{
		Name:      name,
		MediaType: mt,
		ContentID: firstID(e.Header.Get("Content-Id")),
		Inline:    disp == "inline" || (disp == "" && e.Header.Get("Content-Id") != ""),
		Data:      data,
	})
}

// isTNEF says whether a part is Outlook's winmail.dat.
func isTNEF(mediaType, name string) bool {
	return mediaType == "application/ms-tnef" || mediaType == "application/vnd.ms-tnef" ||
		strings.EqualFold(name, "winmail.dat")
}

// addTNEF puts the files and body of a winmail.dat in the mail in its
// place. It returns false, keeping the winmail.dat as it is, when the
// file cannot be read or holds nothing a person could open (a meeting
// request's properties).
func (p *parser) addTNEF(name string, data []byte) bool {
	t, err := tnef.Decode(data, tnef.Limits{MaxAttachments: p.l.MaxAttachments - len(p.m.Attachments),
		MaxAttachmentSize: p.l.MaxAttachmentSize, MaxTextSize: p.l.MaxTextSize})
	if err != nil {
		p.m.Warnings = append(p.m.Warnings, fmt.Sprintf("%s kept as it is: %v", name, err))
		return false
	}
	if len(t.Attachments) == 0 && len(t.Dropped) == 0 && strings.TrimSpace(t.Text) == "" && strings.TrimSpace(t.HTML) == "" {
		return false
	}
	for i, a := range t.Attachments {
		n := sanitizeName(a.Name)
		if n == "" {
			n = fmt.Sprintf("%s-%d", name, i+1)
		}
		mt := strings.ToLower(a.MediaType)
		if parsed, _, err := mime.ParseMediaType(mt); err != nil || strings.ContainsAny(mt, "\r\n") {
			mt = ""
		} else {
			mt = parsed
		}
		if mt == "" {
			mt = mime.TypeByExtension(path.Ext(n))
			if i := strings.IndexByte(mt, ';'); i >= 0 {
				mt = mt[:i]
			}
		}
		p.m.Attachments = append(p.m.Attachments, Attachment{Name: n, MediaType: cmp.Or(mt, "application/octet-stream"),
			ContentID: a.ContentID, Data: a.Data})
	}
	for _, d := range t.Dropped {
		p.m.Dropped = append(p.m.Dropped, sanitizeName(d))
	}
	if p.tnef == nil {
		p.tnef = t
	}
	return true
}

// capText cuts s to at most n bytes, at a character boundary.
func capText(s string, n int64) string {
	if int64(len(s)) <= n {
		return s
	}
	cut := int(n)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func (p *parser) readText(r io.Reader) string {
	b, err := io.ReadAll(io.LimitReader(r, p.l.MaxTextSize))
	if err != nil {
		p.m.Warnings = append(p.m.Warnings, "text: "+err.Error())
	}
	return p.limitText(b)
}

func (p *parser) limitText(b []byte) string {
	if int64(len(b)) > p.l.MaxTextSize {
		b = b[:p.l.MaxTextSize]
	}
	// Re-encoding (8-bit to UTF-8) can make it longer: cut again.
	// CRLF is a line end; a CR alone (doubled ones from a broken
	// conversion) is nothing a reader should see.
	return capText(strings.ReplaceAll(strings.ReplaceAll(validUTF8(string(b)), "\r\n", "\n"), "\r", ""), p.l.MaxTextSize)
}

// readDeliveryStatus reads the per-message and per-recipient fields of a
// message/delivery-status part (RFC 3464): header blocks one after another.
func (p *parser) readDeliveryStatus(r io.Reader) {
	br := bufio.NewReader(io.LimitReader(r, p.l.MaxHeaderBytes))
	for i := 0; i < 100; i++ {
		h, err := textproto.ReadHeader(br)
		if h.Len() > 0 {
			if v := h.Get("Final-Recipient"); v != "" {
				if i := strings.IndexByte(v, ';'); i >= 0 {
					v = v[i+1:]
				}
				p.dsn.Recipients = append(p.dsn.Recipients, strings.ToLower(strings.TrimSpace(v)))
			}
			if v := h.Get("Action"); v != "" && p.dsn.Action == "" {
				p.dsn.Action = strings.ToLower(strings.TrimSpace(v))
			}
			if v := h.Get("Status"); v != "" && p.dsn.Status == "" {
				p.dsn.Status = strings.TrimSpace(v)
			}
		}
		if err != nil {
			return
		}
	}
}

// addText keeps a text part, within MaxTextSize for all of them.
func (p *parser) addText(body string) {
	sep := int64(0)
	if len(p.texts) > 0 {
		sep = 2 // the blank line that joins them
	}
	room := p.l.MaxTextSize - p.textBytes - sep
	if room <= 0 {
		p.m.Warnings = append(p.m.Warnings, fmt.Sprintf("a text part left out: the text is over %d bytes", p.l.MaxTextSize))
		return
	}
	if int64(len(body)) > room {
		cut := int(room)
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
		p.m.Warnings = append(p.m.Warnings, fmt.Sprintf("the text cut at %d bytes", p.l.MaxTextSize))
	}
	p.textBytes += sep + int64(len(body))
	p.texts = append(p.texts, body)
}

// largestPartHeader is the size of the largest run of header fields
// that follows a line starting with "--" (a MIME boundary, opening or
// closing: "--b--" opens parts whose boundary is "b--") in body: what the
// MIME reader would read whole, without a bound of its own. It stops at
// the first line that is not a field, as that reader does.
func largestPartHeader(body []byte) int {
	largest := 0
	for i := 0; i < len(body); {
		line, next := lineAt(body, i)
		i = next
		if !bytes.HasPrefix(line, []byte("--")) {
			continue
		}
		start := i
		for i < len(body) {
			l, n := lineAt(body, i)
			if len(bytes.TrimSpace(l)) == 0 || !(isField(l) || l[0] == ' ' || l[0] == '\t') {
				break
			}
			i = n
		}
		largest = max(largest, i-start)
	}
	return largest
}

func (p *parser) finish() {
	m := p.m
	m.Text = strings.TrimSpace(strings.Join(p.texts, "\n\n"))
	m.HTML = p.html
	if t := p.tnef; t != nil && m.Text == "" && m.HTML == "" {
		m.Text, m.HTML = strings.TrimSpace(validUTF8(t.Text)), validUTF8(t.HTML)
	}
	if m.Text == "" && m.HTML != "" {
		m.Text = strings.TrimSpace(html2text.HTML2TextWithOptions(m.HTML, html2text.WithUnixLineBreaks(), html2text.WithListSupport()))
	}
	if p.dsn != nil {
		m.Bounce = p.dsn
	}
}

// textOfNothing gives a mail that has no text of its own what a reader
// shows: the text of a message it forwards as an attachment (a
// complaint, a forward as attachment), or, for a multipart with no parts
// at all, its preamble and epilogue.
func (p *parser) textOfNothing(body []byte, inner bool) {
	m := p.m
	for _, a := range m.Attachments {
		if inner || (a.MediaType != "message/rfc822" && a.MediaType != "message/global") {
			continue
		}
		if fw, err := parse(a.Data, p.l, true); err == nil && fw.Text != "" {
			m.Text = fw.Text
			m.Warnings = append(m.Warnings, "no text of its own: the text of the attached message "+a.Name)
		}
		return
	}
	if len(m.Attachments) > 0 || len(m.Dropped) > 0 || !strings.HasPrefix(strings.ToLower(m.Header.Get("Content-Type")), "multipart/") {
		return
	}
	var lines []string
	for i := 0; i < len(body); {
		line, next := lineAt(body, i)
		if !bytes.HasPrefix(line, []byte("--")) {
			lines = append(lines, string(bytes.TrimRight(line, "\r")))
		}
		i = next
	}
	if t := strings.TrimSpace(strings.Join(lines, "\n")); t != "" {
		m.Text = p.limitText([]byte(t))
		m.Warnings = append(m.Warnings, "a multipart without parts: its preamble shown")
	}
}

// attachmentName decodes (RFC 2231 is done by mime.ParseMediaType; RFC
// 2047 words in quoted names are common too) and sanitizes a file name.
func attachmentName(names ...string) string {
	for _, n := range names {
		if n = sanitizeName(decodeText(n)); n != "" {
			return n
		}
	}
	return ""
}

// sanitizeName keeps the last path element, drops control characters and
// bounds the length, so that a name is safe to save as a file.
func sanitizeName(n string) string {
	n = strings.ReplaceAll(n, "\\", "/")
	n = path.Base(strings.TrimSpace(n))
	n = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == utf8.RuneError {
			return -1
		}
		return r
	}, n)
	// Format characters too: a right-to-left override makes
	// "invoice\u202Efdp.exe" read as a PDF.
	n = store.CleanLine(n)
	n = strings.TrimLeft(n, ". ")
	if n == "" {
		return ""
	}
	for len(n) > 200 {
		_, size := utf8.DecodeLastRuneInString(n)
		n = n[:len(n)-size]
	}
	return n
}

func defaultName(mediaType string, n int) string {
	ext := ""
	switch mediaType {
	case "message/rfc822":
		ext = ".eml"
	default:
		if exts, _ := mime.ExtensionsByType(mediaType); len(exts) > 0 {
			ext = exts[0]
		}
	}
	return fmt.Sprintf("part%d%s", n, ext)
}

// limitReader fails reading past n bytes (for the header block).
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("header too large")
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	l.n -= int64(n)
	return n, err
}
