package store_test

import (
	"testing"

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
	s := "Hola, ¿me pueden ayudar con mi factura de diciembre? Gracias."
	for b.Loop() {
		store.CleanText(s)
	}
}
