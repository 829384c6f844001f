package pdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func goldenSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.hex"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
}

// FuzzDecode: any input either decodes to a PDU that re-encodes to the
// same bytes, or gives a *DecodeError; never a panic.
func FuzzDecode(f *testing.F) {
	goldenSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if de.Status == StatusOK {
				t.Fatalf("decode error without status: %v", de)
			}
			return
		}
		out, err := p.Encode(nil)
		if err != nil {
			// Decoding is lenient where encoding is strict in one place:
			// a response body that an error status makes optional.
			t.Fatalf("decoded %s does not encode: %v", p.CommandID(), err)
		}
		if !bytes.Equal(out, b) && !optionalBody(p, b, out) {
			t.Fatalf("%s re-encodes differently:\n in %x\nout %x", p.CommandID(), b, out)
		}
	})
}

// optionalBody covers the two places where encoding canonicalizes on
// purpose, both about response bodies: a missing body (many peers send a
// bare 16-octet deliver_sm_resp) decodes to empty fields, which encode to
// the minimal body; and an error response whose body carries nothing is
// encoded without one, as SMPP 3.4 says.
func optionalBody(p PDU, in, out []byte) bool {
	if !p.CommandID().IsResponse() || !bytes.Equal(in[4:HeaderLen], out[4:HeaderLen]) {
		return false
	}
	return len(in) == HeaderLen || p.Hdr().Status != StatusOK && len(out) == HeaderLen
}

// FuzzReader: the stream reader never panics, never allocates beyond its
// limit, and keeps going after non-fatal errors.
func FuzzReader(f *testing.F) {
	goldenSeeds(f)
	f.Add([]byte{0, 0, 0xFF, 0xFF, 0, 0, 0, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b), 4096)
		for i := 0; i < 1000; i++ {
			_, err := r.Read()
			if err == nil {
				continue
			}
			var de *DecodeError
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				return
			case errors.As(err, &de) && !de.Fatal:
				continue
			case errors.As(err, &de):
				return
			default:
				t.Fatalf("unexpected error %T: %v", err, err)
			}
		}
		if cap(r.buf) > 4096 {
			t.Fatalf("buffer grew to %d beyond the limit", cap(r.buf))
		}
	})
}

// FuzzTLVs: parsing arbitrary TLV lists never panics and accessors agree
// with the framing check.
func FuzzTLVs(f *testing.F) {
	f.Add([]byte{0x02, 0x0C, 0x00, 0x02, 0x12, 0x34, 0x14, 0x01, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		tl, err := ParseTLVs(b)
		if err != nil {
			return
		}
		n := 0
		first := map[Tag][]byte{}
		for tag, v := range tl.All() {
			n++
			if _, seen := first[tag]; !seen {
				first[tag] = v
			}
		}
		for tag, v := range first {
			if got, ok := tl.Get(tag); !ok || !bytes.Equal(got, v) {
				t.Fatalf("Get(%s) is not the first occurrence", tag)
			}
		}
		if n != tl.Len() || len(tl.List()) != n {
			t.Fatal("Len/List disagree with All")
		}
		var rebuilt TLVs
		for tag, v := range tl.All() {
			rebuilt.Add(tag, v)
		}
		if !bytes.Equal(rebuilt.Raw(), b) {
			t.Fatal("rebuilding the list changes its bytes")
		}
	})
}
