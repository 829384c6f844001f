package chat

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/switchboard-go/switchboard/store"
)

func TestSanitizeFileName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"informe.pdf", "informe.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\ana\foto.jpg`, "foto.jpg"},
		{"a\x00b\u202ec.txt", "abc.txt"},
		{"CON.txt", "_CON.txt"},
		{"...", "file"},
		{"", "file"},
		{strings.Repeat("a", 200) + ".pdf", strings.Repeat("a", 124) + ".pdf"},
		{strings.Repeat("é", 100) + ".png", strings.Repeat("é", 62) + ".png"},
		{strings.Repeat("a", 200) + ".html.txt", strings.Repeat("a", 124) + ".txt"},
		{strings.Repeat("a", 200), strings.Repeat("a", 128)},
	} {
		got := SanitizeFileName(c.in)
		assert.Equal(t, c.want, got, "%q", c.in)
		assert.LessOrEqual(t, len(got), 128)
	}
}

// A customer's name, however long or odd, never chooses how an exported
// transcript opens: it ends in the date and the extension asked for.
func TestTranscriptFileNameKeepsDateAndExtension(t *testing.T) {
	opened := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, name := range []string{
		strings.Repeat("a", 114) + ".html",
		strings.Repeat("a", 250) + ".hta",
		strings.Repeat("é", 128),
		"Ana\r\nContent-Type: text/html",
		"x/../../y.bat",
	} {
		got := TranscriptFileName(store.Transcript{Conversation: store.Conversation{ID: 7, CustomerName: name, OpenedAt: opened}}, "txt")
		assert.True(t, strings.HasSuffix(got, " 2026-12-07.txt"), "%q -> %q", name, got)
		assert.NotContains(t, got, "/")
		assert.NotContains(t, got, "\n")
	}
}
