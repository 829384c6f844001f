package mailticket

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, m := range scenarioMails() {
		f.Add(m)
	}
	for _, c := range loadCorpus(f) {
		f.Add(c.raw)
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n--y\r\n\r\nhi\r\n--y--\r\n--x--\r\n"))
	lim := &Limits{MaxMailSize: 1 << 20, MaxParts: 50, MaxDepth: 5, MaxAttachmentSize: 64 << 10, MaxAttachments: 5}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, lim)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if len(m.Attachments) > lim.MaxAttachments {
			t.Fatalf("%d attachments over the limit", len(m.Attachments))
		}
		for _, a := range m.Attachments {
			if int64(len(a.Data)) > lim.MaxAttachmentSize {
				t.Fatalf("attachment of %d bytes over the limit", len(a.Data))
			}
		}
		_ = m.ContentKey()
	})
}
