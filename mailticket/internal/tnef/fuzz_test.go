package tnef

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode: any bytes end in a message or an error, within the limits.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.tnef")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	l := Limits{MaxAttachments: 4, MaxAttachmentSize: 4096, MaxTextSize: 4096}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _ := Decode(b, l)
		if m == nil {
			return
		}
		if len(m.Attachments) > l.MaxAttachments || len(m.Text) > int(l.MaxTextSize) || len(m.HTML) > int(l.MaxTextSize) {
			t.Fatalf("over the limits: %d attachments, text %d, html %d", len(m.Attachments), len(m.Text), len(m.HTML))
		}
		for _, a := range m.Attachments {
			if int64(len(a.Data)) > l.MaxAttachmentSize {
				t.Fatalf("attachment of %d bytes", len(a.Data))
			}
		}
	})
}

// FuzzRTF: any RTF, compressed or not, reads within its bound.
func FuzzRTF(f *testing.F) {
	f.Add([]byte(`{\rtf1\ansi\fromhtml1 {\*\htmltag19 <html>}\u-3913?\'e9}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, _ := decompressRTF(b, 4096)
		if len(raw) > 4096 {
			t.Fatalf("decompressed %d bytes", len(raw))
		}
		text, html := rtfToText(b, 4096)
		if len(text) > 4096 || len(html) > 4096 {
			t.Fatalf("text %d html %d", len(text), len(html))
		}
	})
}
