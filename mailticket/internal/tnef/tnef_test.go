package tnef

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testLimits = Limits{MaxAttachments: 100, MaxAttachmentSize: 10 << 20, MaxTextSize: 1 << 20}

// TestDecodeRealFiles reads winmail.dat files that Outlook and Exchange
// wrote (testdata, from tnefparse: see testdata/README.md), expecting the
// attachment names and bodies that other TNEF readers find in them.
func TestDecodeRealFiles(t *testing.T) {
	cases := []struct {
		file        string
		subject     string
		attachments []string
		text, html  string // found in the body
	}{
		{file: "body.tnef", subject: "Bill of Rights", html: "<HTML>"},
		{file: "two-files.tnef", subject: "two files", attachments: []string{"AUTHORS", "README"}},
		{file: "one-file.tnef", subject: "one-file", attachments: []string{"AUTHORS"}},
		{file: "data-before-name.tnef", attachments: []string{"AUTOEXEC.BAT", "CONFIG.SYS", "boot.ini"}, text: "asdf"},
		{file: "MAPI_ATTACH_DATA_OBJ.tnef", subject: "Bodø-damer på vei!",
			attachments: []string{"VIA_Nytt_1402.doc", "VIA_Nytt_1402.pdf", "VIA_Nytt_14021.htm"}, text: "bodødamene"},
		{file: "long-filename.tnef", subject: "RE: license file", attachments: []string{"allproductsmar2000.dat"},
			text: "temp. license for QARun 4.7"},
		{file: "missing-filenames.tnef", subject: "Y2K problem with Add-DT",
			attachments: []string{"generpts.src", "TechlibDEC99.doc", "TechlibDEC99-JAN00.doc", "TechlibNOV99.doc"},
			text:        "Hi Stephen"},
		{file: "multi-value-attribute.tnef", attachments: []string{"208225__5_seconds__Voice_Mail.mp3"}, html: "<html>"},
		{file: "rtf.tnef", text: "Senior Engineer/QADirector"},
		{file: "triples.tnef", subject: "Sample Summary", text: "Sample description"},
		{file: "unicode-mapi-attr-name.tnef", subject: "RE: [ZGLOSZENIE] THU#29044 Aktualizacja numerów w dodatkowych panelach",
			attachments: []string{"spaconsole2.cfg", "image001.png", "image002.png", "image003.png"}, html: "<html"},
		{file: "unicode-mapi-attr.tnef", subject: "example", attachments: []string{"example.dat"}, html: "<html>"},
		{file: "umlaut.tnef", attachments: []string{"TBZ PARIV GmbH.jpg", "image003.jpg", "UmlautAnhang-äüö.txt"}, html: "<html"},
		{file: "IPM-DistList.tnef", attachments: []string{"Untitled Attachment"}, html: "<html"},
		{file: "multi-name-property.tnef", subject: "Pfingstmontag"},
		{file: "garbage-at-end.tnef"},
		{file: "minimal_attachment.tnef", attachments: []string{"attachment-1"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", c.file))
			require.NoError(t, err)
			m, err := Decode(b, testLimits)
			require.NoError(t, err)
			assert.Equal(t, c.subject, m.Subject)
			var names []string
			for _, a := range m.Attachments {
				names = append(names, a.Name)
			}
			assert.Equal(t, c.attachments, names)
			if c.text != "" {
				assert.Contains(t, m.Text, c.text)
			}
			if c.html != "" {
				assert.Contains(t, m.HTML, c.html)
			}
			assert.NotContains(t, m.Text, "\x00")
		})
	}
}

// TestDecodeAttachmentData: the bytes of an attachment are the file's.
func TestDecodeAttachmentData(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "two-files.tnef"))
	require.NoError(t, err)
	m, err := Decode(b, testLimits)
	require.NoError(t, err)
	require.Len(t, m.Attachments, 2)
	assert.Len(t, m.Attachments[0].Data, 244)
	assert.Len(t, m.Attachments[1].Data, 893)
	assert.True(t, bytes.Contains(m.Attachments[0].Data, []byte("Mark Simpson")), "AUTHORS: %q", m.Attachments[0].Data)
}

// TestDecodeLimits: attachments over the limits are dropped and named,
// the body is cut to MaxTextSize.
func TestDecodeLimits(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "missing-filenames.tnef"))
	require.NoError(t, err)
	m, err := Decode(b, Limits{MaxAttachments: 2, MaxAttachmentSize: 40000, MaxTextSize: 10})
	require.NoError(t, err)
	var names []string
	for _, a := range m.Attachments {
		names = append(names, a.Name)
	}
	assert.Equal(t, []string{"TechlibDEC99.doc", "TechlibDEC99-JAN00.doc"}, names)
	assert.Equal(t, []string{"generpts.src (larger than 40000 bytes)", "TechlibNOV99.doc (too many attachments)"}, m.Dropped)
	assert.LessOrEqual(t, len(m.Text), 10)
}

// TestDecodeMalformed: every cut of a real file, and lengths that point
// past the end, end in ErrFormat or a partial message, never a panic.
func TestDecodeMalformed(t *testing.T) {
	_, err := Decode([]byte("not tnef at all"), testLimits)
	assert.ErrorIs(t, err, ErrFormat)
	b, err := os.ReadFile(filepath.Join("testdata", "two-files.tnef"))
	require.NoError(t, err)
	for n := range len(b) {
		_, _ = Decode(b[:n], testLimits)
	}
	huge := append([]byte(nil), b[:6]...)
	huge = append(huge, levelMessage)
	huge = binary.LittleEndian.AppendUint32(huge, attMsgProps)
	huge = binary.LittleEndian.AppendUint32(huge, 0xFFFFFFF0)
	_, err = Decode(huge, testLimits)
	assert.ErrorIs(t, err, ErrFormat)
	props := binary.LittleEndian.AppendUint32(nil, 0xFFFFFFFF) // a count no list could hold
	attr := append(append([]byte(nil), b[:6]...), levelMessage)
	attr = binary.LittleEndian.AppendUint32(attr, attMsgProps)
	attr = binary.LittleEndian.AppendUint32(attr, uint32(len(props)))
	attr = append(append(attr, props...), 0, 0)
	_, err = Decode(attr, testLimits)
	assert.ErrorIs(t, err, ErrFormat)
}

// TestRTF: compressed RTF decompresses to the example of [MS-OXRTFCP]
// 3.1.1, and RTF reads as its text or its encapsulated HTML.
func TestRTF(t *testing.T) {
	comp := []byte{0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7,
		0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20,
		0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f, 0xa0}
	raw, err := decompressRTF(comp, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n", string(raw))
	text, html := rtfToText(raw, 1<<20)
	assert.Equal(t, "hello world", text)
	assert.Empty(t, html)

	text, _ = rtfToText([]byte(`{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Arial;}}{\*\generator x;}Caf\'e9 \u8364? ok\par next\tab line}`), 1<<20)
	assert.Equal(t, "Café € ok\nnext\tline", text)
	_, html = rtfToText([]byte(`{\rtf1\ansi\fromhtml1 {\*\htmltag19 <html>}{\*\htmltag34 <p>}\htmlrtf {\b\htmlrtf0 Hola\htmlrtf }\htmlrtf0 {\*\htmltag <b>}mundo{\*\htmltag </b>}{\*\htmltag </p></html>}}`), 1<<20)
	assert.Equal(t, "<html><p>Hola<b>mundo</b></p></html>", html)
	deep := strings.Repeat("{", 100000) + "x" + strings.Repeat("}", 100000)
	text, _ = rtfToText([]byte(deep), 1<<20)
	assert.Equal(t, "x", text)
}
