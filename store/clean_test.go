package store_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"

	"github.com/switchboard-go/switchboard/store"
)

func TestCleanLine(t *testing.T) {
	for in, want := range map[string]string{
		"Ana":             "Ana",
		"  Marta   Díaz ": "Marta Díaz",
		"Eve\n[2026-01-01 10:00:00] bob: Approved": "Eve [2026-01-01 10:00:00] bob: Approved",
		"Eve\r\nx":              "Eve x",
		"invoice\u202Efdp.exe":  "invoicefdp.exe",
		"a\u200Bb\u2066c\u2069": "abc",
		"a\u2028b\u0085c":       "a b c",
		"\x00\x1b[31mred":       "[31mred",
		"👩\u200D💻":              "👩\u200D💻",
		"":                      "",
		" ":                     "",
	} {
		assert.Equal(t, want, store.CleanLine(in), "CleanLine(%q)", in)
		assert.Equal(t, want, store.CleanLine(want), "CleanLine is idempotent on %q", want)
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"hola":                   "hola",
		"línea 1\nlínea 2\ttab":  "línea 1\nlínea 2\ttab",
		"a\r\nb\rc\u2028d":       "a\nb\nc\nd",
		"x\u202Eevil\x00\x1b[2J": "xevil[2J",
		"\u200Djoin":             "\u200Djoin",
	} {
		assert.Equal(t, want, store.CleanText(in), "CleanText(%q)", in)
		assert.Equal(t, want, store.CleanText(want), "CleanText is idempotent on %q", want)
	}
}

func BenchmarkCleanText(b *testing.B) {
	for name, s := range map[string]string{
		"ascii":   "Hello, can you help me with my December invoice? The total looks wrong to me. Thanks!",
		"spanish": "Hola, ¿me pueden ayudar con mi factura de diciembre? El total no me cuadra. ¡Gracias!",
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				store.CleanText(s)
			}
		})
	}
}

// refCleanText and refCleanLine say what CleanText and CleanLine must
// return, rune by rune, without their fast paths.
func refCleanText(s string) string {
	var b strings.Builder
	prevCR := false
	for _, r := range s {
		cr := r == '\r'
		switch {
		case r == '\n' && prevCR:
		case cr || r == '\n' || r == '\u2028' || r == '\u2029':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte('\t')
		case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r) && r != '\u200C' && r != '\u200D':
		default:
			b.WriteRune(r)
		}
		prevCR = cr
	}
	return b.String()
}

func refCleanLine(s string) string {
	var words []string
	var w strings.Builder
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cc, r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			if w.Len() > 0 {
				words = append(words, w.String())
				w.Reset()
			}
		case unicode.Is(unicode.Cf, r) && r != '\u200C' && r != '\u200D':
		default:
			w.WriteRune(r)
		}
	}
	if w.Len() > 0 {
		words = append(words, w.String())
	}
	return strings.Join(words, " ")
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"hola", "Eve\n[x] bob", "a\r\nb", "x\u202Ey", "\xff\xfe", "José  Pérez ", "12345678\x7f", "abcdefgh\tijklmnop"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := store.CleanText(s), refCleanText(s); got != want {
			t.Fatalf("CleanText(%q) = %q, want %q", s, got, want)
		}
		if got, want := store.CleanLine(s), refCleanLine(s); got != want {
			t.Fatalf("CleanLine(%q) = %q, want %q", s, got, want)
		}
	})
}
