package coding

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// annexA reads testdata/ts23038_annex_a.txt: the tables of TS 23.038
// Annex A typed separately from nls_tables.go, by language and kind
// ("locking", "single"), code to character.
func annexA(t *testing.T) map[Language]map[string]map[byte]rune {
	t.Helper()
	f, err := os.Open("testdata/ts23038_annex_a.txt")
	require.NoError(t, err)
	defer f.Close()
	byName := map[string]Language{}
	for l := range Language(numLanguages) {
		byName[l.String()] = l
	}
	out := map[Language]map[string]map[byte]rune{}
	var cur map[byte]rune
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fields := strings.Fields(line)
		if strings.HasPrefix(fields[0], "A.") {
			require.Len(t, fields, 3, line)
			l, ok := byName[fields[1]]
			require.True(t, ok, line)
			if out[l] == nil {
				out[l] = map[string]map[byte]rune{}
			}
			cur = map[byte]rune{}
			out[l][fields[2]] = cur
			continue
		}
		require.Zero(t, len(fields)%2, line)
		for i := 0; i < len(fields); i += 2 {
			code, err := strconv.ParseUint(fields[i], 16, 7)
			require.NoError(t, err, line)
			r, err := strconv.ParseUint(fields[i+1], 16, 21)
			require.NoError(t, err, line)
			cur[byte(code)] = rune(r)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func TestNationalTablesMatchTheSpecification(t *testing.T) {
	spec := annexA(t)
	require.Len(t, spec, numLanguages-1)
	for l := Turkish; l < numLanguages; l++ {
		for _, kind := range []string{"locking", "single"} {
			table := singleTables[l]
			if kind == "locking" {
				table = lockingTables[l]
			}
			want, ok := spec[l][kind]
			if !ok {
				assert.Nil(t, table, "%s %s table", l, kind)
				continue
			}
			require.NotNil(t, table, "%s %s table", l, kind)
			for code, r := range table {
				if code == gsmEscape {
					continue
				}
				w, defined := want[byte(code)]
				if !defined {
					w = 0
				}
				assert.Equal(t, strconv.QuoteRune(w), strconv.QuoteRune(r), "%s %s 0x%02X", l, kind, code)
			}
		}
	}
	assert.Nil(t, lockingTables[Spanish], "Spanish has no locking shift table")
}

// Entries read off the specification's tables, through the decoder.
func TestNationalTablesKnownEntries(t *testing.T) {
	cases := []struct {
		l       Language
		locking bool
		code    byte
		want    string
	}{
		{Turkish, true, 0x04, "€"}, {Turkish, true, 0x07, "ı"}, {Turkish, true, 0x0B, "Ğ"}, {Turkish, true, 0x1C, "Ş"},
		{Turkish, true, 0x40, "İ"}, {Turkish, true, 0x60, "ç"},
		{Turkish, false, 0x47, "Ğ"}, {Turkish, false, 0x49, "İ"}, {Turkish, false, 0x63, "ç"}, {Turkish, false, 0x69, "ı"},
		{Turkish, false, 0x73, "ş"},
		{Spanish, false, 0x09, "ç"}, {Spanish, false, 0x41, "Á"}, {Spanish, false, 0x61, "á"}, {Spanish, false, 0x69, "í"},
		{Spanish, false, 0x6F, "ó"}, {Spanish, false, 0x75, "ú"},
		{Portuguese, true, 0x04, "ê"}, {Portuguese, true, 0x09, "ç"}, {Portuguese, true, 0x0F, "á"}, {Portuguese, true, 0x15, "∞"},
		{Portuguese, true, 0x5B, "Ã"}, {Portuguese, true, 0x7B, "ã"}, {Portuguese, true, 0x7C, "õ"},
		{Portuguese, false, 0x12, "Φ"}, {Portuguese, false, 0x41, "À"}, {Portuguese, false, 0x5B, "Ã"}, {Portuguese, false, 0x7F, "â"},
		{Bengali, true, 0x00, "\u0981"}, {Bengali, true, 0x15, "\u0995"}, {Bengali, true, 0x60, "\u09ce"}, {Bengali, false, 0x19, "\u09e6"},
		{Gujarati, true, 0x15, "\u0a95"}, {Gujarati, false, 0x19, "\u0964"},
		{Hindi, true, 0x15, "\u0915"}, {Hindi, true, 0x2F, "\u0928"}, {Hindi, false, 0x1C, "\u0966"},
		{Kannada, true, 0x15, "\u0c95"}, {Kannada, true, 0x24, "\u0ca1"}, {Kannada, false, 0x1C, "\u0ce6"},
		{Malayalam, true, 0x15, "\u0d15"}, {Malayalam, false, 0x1C, "\u0d66"},
		{Oriya, true, 0x15, "\u0b15"}, {Oriya, false, 0x1C, "\u0b66"},
		{Punjabi, true, 0x15, "\u0a15"}, {Punjabi, false, 0x1C, "\u0a66"},
		{Tamil, true, 0x15, "\u0b95"}, {Tamil, false, 0x1C, "\u0be6"},
		{Telugu, true, 0x15, "\u0c15"}, {Telugu, false, 0x1C, "\u0c66"}, {Telugu, false, 0x65, "€"},
		{Urdu, true, 0x00, "\u0627"}, {Urdu, true, 0x02, "\u0628"}, {Urdu, false, 0x19, "\u0600"}, {Urdu, false, 0x1C, "\u06f0"},
	}
	for _, c := range cases {
		septets, lock, single := []byte{c.code}, c.l, DefaultLanguage
		if !c.locking {
			septets, lock, single = []byte{gsmEscape, c.code}, DefaultLanguage, c.l
		}
		got, err := DecodeGSM7Lang(septets, lock, single)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "DecodeGSM7Lang(%x, %s, %s)", septets, lock, single)
		if _, inDefault := gsmToCode[[]rune(c.want)[0]]; !c.locking && inDefault {
			continue // Φ takes its one septet of the default alphabet
		}
		enc, err := AppendGSM7Lang(nil, c.want, lock, single, -1)
		require.NoError(t, err)
		assert.Equal(t, septets, enc, "AppendGSM7Lang(%q, %s, %s)", c.want, lock, single)
	}
}

// Every character of every pair of tables encodes and decodes back, in
// one septet when the locking table has it and two otherwise.
func TestNationalTablesRoundTrip(t *testing.T) {
	for lock := range Language(numLanguages) {
		for single := range Language(numLanguages) {
			var text strings.Builder
			seen := map[rune]bool{}
			want := 0
			for _, table := range []*[128]rune{lockingTables[lock.locking()], singleTables[single]} {
				for code, r := range table {
					if r == 0 || seen[r] || table != singleTables[single] && code == gsmEscape {
						continue
					}
					seen[r] = true
					text.WriteRune(r)
					if table == singleTables[single] {
						want += 2
					} else {
						want++
					}
				}
			}
			enc, err := AppendGSM7Lang(nil, text.String(), lock, single, -1)
			require.NoError(t, err, "%s/%s", lock, single)
			assert.Len(t, enc, want, "%s/%s septets", lock, single)
			got, err := DecodeGSM7Lang(enc, lock, single)
			require.NoError(t, err)
			assert.Equal(t, text.String(), got, "%s/%s", lock, single)
		}
	}
}

func TestDecodeGSM7LangFallbacks(t *testing.T) {
	cases := []struct {
		septets         []byte
		locking, single Language
		want            string
	}{
		{[]byte{0x1B, 0x61}, DefaultLanguage, Turkish, "a"}, // no 0x61 in Turkish single: the locking table's
		{[]byte{0x1B, 0x65}, Bengali, DefaultLanguage, "€"}, // the default extension table behind Bengali
		{[]byte{0x1B, 0x4A}, Bengali, Turkish, "\u09b6"},    // Turkish single lacks 0x4A: Bengali's
		{[]byte{0x0C, 0x20, 0x3C}, Bengali, Bengali, "   "}, // codes Bengali leaves undefined read as spaces
		{[]byte{0x1B, 0x1B, 0x41}, Urdu, Urdu, " \u0636"},   // escape escape: space
		{[]byte{0x41, 0x1B}, Turkish, Turkish, "A "},        // a trailing escape: space
		{[]byte{0x07}, Spanish, Spanish, "ì"},               // no Spanish locking table: the default
		{[]byte{0x07, 0x1B, 0x69}, 14, 200, "ìi"},           // unknown languages: the default tables
	}
	for _, c := range cases {
		got, err := DecodeGSM7Lang(c.septets, c.locking, c.single)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "DecodeGSM7Lang(%x, %s, %s)", c.septets, c.locking, c.single)
	}
	_, err := DecodeGSM7Lang([]byte{0x41, 0x80}, Turkish, Turkish)
	assert.Error(t, err)
	_, err = DecodeGSM7Lang([]byte{0x1B, 0xFF}, Turkish, Turkish)
	assert.Error(t, err)
	// Default tables: DecodeGSM7.
	s, err := DecodeGSM7Lang([]byte("hi\x1b\x65"), DefaultLanguage, DefaultLanguage)
	require.NoError(t, err)
	assert.Equal(t, "hi€", s)
}

func TestAppendGSM7LangUnrepresentable(t *testing.T) {
	_, err := AppendGSM7Lang(nil, "añb", Turkish, Turkish, -1) // ñ is in the Turkish locking table
	require.NoError(t, err)
	_, err = AppendGSM7Lang(nil, "aãb", Turkish, Turkish, -1)
	var ue *UnrepresentableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, 'ã', ue.Rune)
	assert.Equal(t, 1, ue.Offset)
	enc, err := AppendGSM7Lang(nil, "aãb", Turkish, Turkish, '?')
	require.NoError(t, err)
	assert.Equal(t, []byte("a?b"), enc)
	_, err = AppendGSM7Lang(nil, "aãb", Turkish, Turkish, 'ã')
	require.ErrorAs(t, err, &ue)
}

func TestLanguagesFromUDH(t *testing.T) {
	ies := []IE{{ID: IEIConcat8, Data: []byte{1, 2, 1}}, {ID: IEISingleShift, Data: []byte{2}}, {ID: IEILockingShift, Data: []byte{3}}}
	lock, single := LanguagesFromUDH(ies)
	assert.Equal(t, []Language{Portuguese, Spanish}, []Language{lock, single})
	// The last of a repeated element counts; one of another length is not one.
	ies = append(ies, IE{ID: IEILockingShift, Data: []byte{1}}, IE{ID: IEISingleShift, Data: []byte{4, 4}})
	lock, single = LanguagesFromUDH(ies)
	assert.Equal(t, []Language{Turkish, Spanish}, []Language{lock, single})
	lock, single = LanguagesFromUDH(nil)
	assert.Equal(t, []Language{DefaultLanguage, DefaultLanguage}, []Language{lock, single})
}

func TestLanguageString(t *testing.T) {
	assert.Equal(t, "default", DefaultLanguage.String())
	assert.Equal(t, "Portuguese", Portuguese.String())
	assert.Equal(t, "Urdu", Urdu.String())
	assert.Equal(t, "language 14", Language(14).String())
	assert.Equal(t, "Turkish", fmt.Sprint(Language(1)))
}
