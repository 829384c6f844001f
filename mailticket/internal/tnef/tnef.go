// Package tnef reads the Transport Neutral Encapsulation Format
// ([MS-OXTNEF]) that Outlook and Exchange send as winmail.dat: the body of
// the message (plain text, HTML, or compressed RTF turned into either) and
// its attachments.
//
// It reads untrusted bytes: every length is checked against what is left,
// the output is bounded by Limits, and a malformed stream is an error,
// never a panic.
package tnef

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/htmlindex"
)

// Signature starts every TNEF stream (little-endian).
const Signature = 0x223E9F78

// ErrFormat is wrapped by every error about a malformed stream.
var ErrFormat = errors.New("tnef: malformed")

// Limits bound what Decode produces.
type Limits struct {
	MaxAttachments    int   // attachments kept (more are dropped and counted)
	MaxAttachmentSize int64 // bytes of one attachment (larger ones are dropped and counted)
	MaxTextSize       int64 // bytes of the body text and of its HTML
}

// Attachment is a file carried in the stream.
type Attachment struct {
	Name      string // long file name when given, else the 8.3 one ("" when none)
	MediaType string // PR_ATTACH_MIME_TAG ("" when none)
	ContentID string
	Data      []byte
}

// Message is what Decode found.
type Message struct {
	Class       string // the message class, e.g. IPM.Note
	Subject     string
	Text        string // plain text body (from PR_BODY, attBody or plain RTF)
	HTML        string // HTML body (PR_BODY_HTML, or HTML encapsulated in RTF)
	Attachments []Attachment
	Dropped     []string // attachments left out by the limits, with why
}

// Attribute levels and the attribute ids (low 16 bits) read here.
const (
	levelMessage    = 1
	levelAttachment = 2

	attSubject        = 0x8004
	attMessageClass   = 0x8008
	attBody           = 0x800C
	attAttachData     = 0x800F
	attAttachTitle    = 0x8010
	attAttachRendData = 0x9002
	attMsgProps       = 0x9003
	attAttachment     = 0x9005
	attOemCodepage    = 0x9007
)

// Decode reads a TNEF stream.
func Decode(data []byte, l Limits) (*Message, error) {
	if len(data) < 6 || binary.LittleEndian.Uint32(data) != Signature {
		return nil, fmt.Errorf("%w: no TNEF signature", ErrFormat)
	}
	d := decoder{l: l, m: &Message{}, codepage: 1252}
	r := reader{b: data[6:]}
	for r.len() > 0 {
		if r.len() < 9 {
			// Some writers leave padding or garbage at the end.
			break
		}
		level := r.u8()
		id := r.u32()
		n := r.u32()
		if uint64(n)+2 > uint64(r.len()) {
			return d.m, fmt.Errorf("%w: attribute %#x of %d bytes with %d left", ErrFormat, id, n, r.len())
		}
		val := r.bytes(int(n))
		r.u16() // checksum: writers get it wrong often enough that readers ignore it
		if err := d.attribute(level, uint16(id), val); err != nil {
			return d.m, err
		}
	}
	d.flush()
	if d.dropped > 0 {
		d.m.Dropped = append(d.m.Dropped, fmt.Sprintf("and %d more attachments", d.dropped))
	}
	return d.m, nil
}

// maxDropped bounds the names of the attachments left out that are
// listed; the rest are counted.
const maxDropped = 20

type decoder struct {
	l        Limits
	m        *Message
	codepage int
	att      *Attachment // the attachment being read
	attTitle string
	rtf      []byte
	cpid     int // PR_INTERNET_CPID: the charset of an 8-bit HTML body
	dropped  int // attachments left out past maxDropped names
}

func (d *decoder) attribute(level byte, id uint16, val []byte) error {
	switch {
	case level == levelMessage && id == attOemCodepage && len(val) >= 4:
		if cp := int(binary.LittleEndian.Uint32(val)); cp != 0 {
			d.codepage = cp
		}
	case level == levelMessage && id == attMessageClass:
		d.m.Class = cstring(val)
	case level == levelMessage && id == attSubject:
		d.m.Subject = d.str8(val)
	case level == levelMessage && id == attBody:
		if d.m.Text == "" {
			d.m.Text = d.text(d.str8(val))
		}
	case level == levelMessage && id == attMsgProps:
		return d.props(val, false)
	case level == levelAttachment && id == attAttachRendData:
		d.flush()
		d.att = &Attachment{}
	case level == levelAttachment && id == attAttachTitle:
		d.current()
		d.attTitle = d.str8(val)
	case level == levelAttachment && id == attAttachData:
		d.current().Data = val
	case level == levelAttachment && id == attAttachment:
		d.current()
		return d.props(val, true)
	}
	return nil
}

// current is the attachment being read, started if a writer left out
// its attAttachRendData.
func (d *decoder) current() *Attachment {
	if d.att == nil {
		d.att = &Attachment{}
	}
	return d.att
}

// flush ends the attachment being read and the message body.
func (d *decoder) flush() {
	if a := d.att; a != nil {
		if a.Name == "" {
			a.Name = d.attTitle
		}
		d.att, d.attTitle = nil, ""
		named := a.Name != ""
		if !named {
			a.Name = fmt.Sprintf("attachment-%d", len(d.m.Attachments)+len(d.m.Dropped)+1)
		}
		name := a.Name
		why := ""
		switch {
		case a.Data == nil && !named:
			// An attachment without data or name (an OLE object, a
			// signature placeholder): nothing a person could open.
		case len(d.m.Attachments) >= d.l.MaxAttachments:
			why = name + " (too many attachments)"
		case int64(len(a.Data)) > d.l.MaxAttachmentSize:
			why = fmt.Sprintf("%s (larger than %d bytes)", name, d.l.MaxAttachmentSize)
		default:
			a.Data = bytes.Clone(a.Data)
			if a.Data == nil {
				a.Data = []byte{}
			}
			d.m.Attachments = append(d.m.Attachments, *a)
		}
		if why != "" {
			if len(d.m.Dropped) < maxDropped {
				d.m.Dropped = append(d.m.Dropped, why)
			} else {
				d.dropped++
			}
		}
	}
	if d.rtf != nil && d.m.Text == "" && d.m.HTML == "" {
		if raw, err := decompressRTF(d.rtf, d.l.MaxTextSize*4); err == nil {
			text, html := rtfToText(raw, d.l.MaxTextSize)
			d.m.HTML = d.text(html)
			if d.m.HTML == "" {
				d.m.Text = d.text(text)
			}
		}
		d.rtf = nil
	}
}

// MAPI property types and the property ids read here.
const (
	ptShort    = 0x0002
	ptLong     = 0x0003
	ptFloat    = 0x0004
	ptDouble   = 0x0005
	ptCurrency = 0x0006
	ptAppTime  = 0x0007
	ptError    = 0x000A
	ptBoolean  = 0x000B
	ptObject   = 0x000D
	ptI8       = 0x0014
	ptString8  = 0x001E
	ptUnicode  = 0x001F
	ptSysTime  = 0x0040
	ptCLSID    = 0x0048
	ptBinary   = 0x0102
	ptMulti    = 0x1000

	prSubject            = 0x0037
	prMessageClass       = 0x001A
	prBody               = 0x1000
	prRTFCompressed      = 0x1009
	prBodyHTML           = 0x1013
	prAttachDataBin      = 0x3701
	prAttachFilename     = 0x3704
	prAttachLongFilename = 0x3707
	prAttachMimeTag      = 0x370E
	prAttachContentID    = 0x3712
	prDisplayName        = 0x3001
	prInternetCPID       = 0x3FDE
)

// maxProps bounds the properties of one attribute (each costs at least
// 8 bytes, so the length check below also bounds them; this is a second
// guard against a count that would loop long on an empty buffer).
const maxProps = 1 << 16

// props reads a MAPI property list ([MS-OXTNEF] 2.1.3.4).
func (d *decoder) props(b []byte, attachment bool) error {
	r := reader{b: b}
	if r.len() < 4 {
		return fmt.Errorf("%w: property list of %d bytes", ErrFormat, r.len())
	}
	count := r.u32()
	if count > maxProps || uint64(count)*8 > uint64(r.len()) {
		return fmt.Errorf("%w: %d properties in %d bytes", ErrFormat, count, r.len())
	}
	for range count {
		if r.len() < 4 {
			return fmt.Errorf("%w: property list cut short", ErrFormat)
		}
		typ, id := r.u16(), r.u16()
		if id >= 0x8000 { // a named property: GUID, then a number or a name
			if r.len() < 20 {
				return fmt.Errorf("%w: named property cut short", ErrFormat)
			}
			r.bytes(16)
			if kind := r.u32(); kind == 0 {
				if r.len() < 4 {
					return fmt.Errorf("%w: named property cut short", ErrFormat)
				}
				r.u32()
			} else if _, err := r.padded(); err != nil {
				return err
			}
		}
		vals, err := r.values(typ)
		if err != nil {
			return err
		}
		if len(vals) == 0 || typ&ptMulti != 0 {
			continue
		}
		v := vals[0]
		if attachment {
			d.attachmentProp(id, typ, v)
		} else {
			d.messageProp(id, typ, v)
		}
	}
	return nil
}

func (d *decoder) messageProp(id, typ uint16, v []byte) {
	switch id {
	case prBody:
		if s := d.propString(typ, v); s != "" {
			d.m.Text = d.text(s)
		}
	case prBodyHTML:
		if typ == ptUnicode {
			d.m.HTML = d.text(utf16String(v))
		} else {
			d.m.HTML = d.text(decodeCodepage(cstringBytes(v), d.htmlCodepage()))
		}
	case prRTFCompressed:
		if typ == ptBinary {
			d.rtf = v
		}
	case prInternetCPID:
		if len(v) >= 4 {
			d.cpid = int(binary.LittleEndian.Uint32(v))
		}
	case prSubject:
		if s := d.propString(typ, v); s != "" {
			d.m.Subject = s
		}
	case prMessageClass:
		if s := d.propString(typ, v); s != "" {
			d.m.Class = s
		}
	}
}

func (d *decoder) htmlCodepage() int {
	if d.cpid != 0 {
		return d.cpid
	}
	return d.codepage
}

func (d *decoder) attachmentProp(id, typ uint16, v []byte) {
	a := d.att
	switch id {
	case prAttachLongFilename:
		if s := d.propString(typ, v); s != "" {
			a.Name = s
		}
	case prAttachFilename, prDisplayName:
		if s := d.propString(typ, v); s != "" && d.attTitle == "" {
			d.attTitle = s
		}
	case prAttachMimeTag:
		a.MediaType = strings.ToLower(d.propString(typ, v))
	case prAttachContentID:
		a.ContentID = d.propString(typ, v)
	case prAttachDataBin:
		if typ == ptObject && len(v) >= 16 {
			v = v[16:] // the interface id of an embedded object
		}
		if a.Data == nil {
			a.Data = v
		}
	}
}

func (d *decoder) propString(typ uint16, v []byte) string {
	switch typ {
	case ptUnicode:
		return utf16String(v)
	case ptString8:
		return d.str8(v)
	}
	return ""
}

// str8 decodes an 8-bit string of the stream's code page.
func (d *decoder) str8(v []byte) string { return decodeCodepage(cstringBytes(v), d.codepage) }

// text bounds a body to MaxTextSize, at a character boundary.
func (d *decoder) text(s string) string {
	if int64(len(s)) <= d.l.MaxTextSize {
		return s
	}
	cut := int(d.l.MaxTextSize)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}

func cstringBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func cstring(b []byte) string { return string(cstringBytes(b)) }

// utf16String decodes UTF-16LE up to its NUL.
func utf16String(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// decodeCodepage turns bytes of a Windows code page into UTF-8; ASCII and
// valid UTF-8 (code page 65001) pass through.
func decodeCodepage(b []byte, cp int) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii || cp == 65001 {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	name := fmt.Sprintf("windows-%d", cp)
	switch cp {
	case 932:
		name = "shift_jis"
	case 936:
		name = "gbk"
	case 949:
		name = "euc-kr"
	case 950:
		name = "big5"
	case 20866:
		name = "koi8-r"
	case 28591, 28592, 28593, 28594, 28595, 28596, 28597, 28598, 28599, 28605:
		name = fmt.Sprintf("iso-8859-%d", cp-28590)
	}
	enc, err := htmlindex.Get(name)
	if err != nil {
		enc, _ = htmlindex.Get("windows-1252")
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// reader reads little-endian values; callers check len() first.
type reader struct{ b []byte }

func (r *reader) len() int { return len(r.b) }
func (r *reader) u8() byte {
	v := r.b[0]
	r.b = r.b[1:]
	return v
}
func (r *reader) u16() uint16 {
	v := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}
func (r *reader) u32() uint32 {
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}
func (r *reader) bytes(n int) []byte {
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// padded reads a length, that many bytes, and the padding to 4.
func (r *reader) padded() ([]byte, error) {
	if r.len() < 4 {
		return nil, fmt.Errorf("%w: value length cut short", ErrFormat)
	}
	n := uint64(r.u32())
	if n > uint64(r.len()) {
		return nil, fmt.Errorf("%w: value of %d bytes with %d left", ErrFormat, n, r.len())
	}
	v := r.bytes(int(n))
	pad := int((4 - n%4) % 4)
	r.b = r.b[min(pad, r.len()):]
	return v, nil
}

// fixedSize is the size in the stream of a value of a fixed-size type
// (0 for the variable-size ones).
func fixedSize(typ uint16) int {
	switch typ &^ ptMulti {
	case ptShort, ptLong, ptFloat, ptError, ptBoolean, 0x0001:
		return 4
	case ptDouble, ptCurrency, ptAppTime, ptI8, ptSysTime:
		return 8
	case ptCLSID:
		return 16
	}
	return 0
}

// values reads the value(s) of a property of type typ.
func (r *reader) values(typ uint16) ([][]byte, error) {
	base := typ &^ ptMulti
	variable := base == ptString8 || base == ptUnicode || base == ptBinary || base == ptObject
	size := fixedSize(typ)
	if !variable && size == 0 {
		return nil, fmt.Errorf("%w: property type %#x", ErrFormat, typ)
	}
	count := uint32(1)
	if typ&ptMulti != 0 || variable {
		if r.len() < 4 {
			return nil, fmt.Errorf("%w: value count cut short", ErrFormat)
		}
		count = r.u32()
	}
	min := uint64(4)
	if !variable {
		min = uint64(size)
	}
	if uint64(count)*min > uint64(r.len()) {
		return nil, fmt.Errorf("%w: %d values in %d bytes", ErrFormat, count, r.len())
	}
	vals := make([][]byte, 0, min64(uint64(count), 16))
	for range count {
		if !variable {
			vals = append(vals, r.bytes(size))
			continue
		}
		v, err := r.padded()
		if err != nil {
			return nil, err
		}
		if len(vals) < 16 {
			vals = append(vals, v)
		}
	}
	return vals, nil
}

func min64(a, b uint64) int { return int(min(a, b)) }
