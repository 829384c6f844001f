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

	"github.com/stretchr/testify/require"
)

func goldenSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.hex"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
		require.NoError(f, err, p)
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
			require.ErrorAs(t, err, &de, "error of type %T", err)
			require.NotEqual(t, StatusOK, de.Status, "decode error without status: %v", de)
			return
		}
		out, err := p.Encode(nil)
		// Decoding is lenient where encoding is strict in one place:
		// a response body that an error status makes optional.
		require.NoError(t, err, "decoded %s does not encode", p.CommandID())
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
				require.FailNowf(t, "unexpected error", "%T: %v", err, err)
			}
		}
		require.LessOrEqual(t, cap(r.buf), 4096, "buffer grew beyond the limit")
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
			got, ok := tl.Get(tag)
			require.True(t, ok, "Get(%s) finds nothing", tag)
			require.True(t, bytes.Equal(got, v), "Get(%s) is not the first occurrence", tag)
		}
		require.Equal(t, n, tl.Len(), "Len disagrees with All")
		require.Equal(t, n, len(tl.List()), "List disagrees with All")
		var rebuilt TLVs
		for tag, v := range tl.All() {
			rebuilt.Add(tag, v)
		}
		require.True(t, bytes.Equal(rebuilt.Raw(), b), "rebuilding the list changes its bytes")
	})
}
