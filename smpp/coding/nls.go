package coding

import (
	"fmt"
	"sync"
)

// Language is a national language of 3GPP TS 23.038 Annex A, by its
// national language identifier (section 6.2.1.2.4). Its locking shift
// table takes the place of the GSM 7-bit default alphabet, its single
// shift table that of the extension table (the codes behind the escape
// 0x1B). A message names the tables it uses in its user data header
// (IEISingleShift, IEILockingShift). Spanish has only a single shift
// table. Where a language has no table of a kind, or is not one of the
// constants below, the default table of that kind is used.
type Language uint8

// National languages.
const (
	DefaultLanguage Language = iota // the default alphabet and extension table
	Turkish
	Spanish // single shift table only
	Portuguese
	Bengali
	Gujarati
	Hindi
	Kannada
	Malayalam
	Oriya
	Punjabi
	Tamil
	Telugu
	Urdu

	numLanguages = iota
)

var languageNames = [numLanguages]string{"default", "Turkish", "Spanish", "Portuguese", "Bengali", "Gujarati",
	"Hindi", "Kannada", "Malayalam", "Oriya", "Punjabi", "Tamil", "Telugu", "Urdu"}

func (l Language) String() string {
	if l < numLanguages {
		return languageNames[l]
	}
	return fmt.Sprintf("language %d", uint8(l))
}

// locking is the language whose locking shift table l means.
func (l Language) locking() Language {
	if l >= numLanguages || lockingTables[l] == nil {
		return DefaultLanguage
	}
	return l
}

// single is the language whose single shift table l means.
func (l Language) single() Language {
	if l >= numLanguages {
		return DefaultLanguage
	}
	return l
}

// LanguagesFromUDH returns the national languages named by a user data
// header's elements: IEILockingShift and IEISingleShift, each with one
// octet, the last one of each counting (3GPP TS 23.040 9.2.3.24: a
// repeated element's last occurrence is used). DefaultLanguage is
// returned for an element that is absent. Identifiers are returned as
// they are, ones this package has no table for included.
func LanguagesFromUDH(ies []IE) (locking, single Language) {
	for _, ie := range ies {
		if len(ie.Data) != 1 {
			continue
		}
		switch ie.ID {
		case IEILockingShift:
			locking = Language(ie.Data[0])
		case IEISingleShift:
			single = Language(ie.Data[0])
		}
	}
	return locking, single
}

// DecodeGSM7Lang decodes unpacked GSM 7-bit septets with the locking
// shift table of locking and the single shift table of single (both
// DefaultLanguage: DecodeGSM7). An escape followed by a code the single
// shift table does not define decodes as the locking table's character
// for that code (3GPP TS 23.038's fallback); a code the locking table
// does not define, and a trailing lone escape, decode as a space. Octets
// above 0x7F are an error.
func DecodeGSM7Lang(septets []byte, locking, single Language) (string, error) {
	return decodeGSM7(septets, lockingTables[locking.locking()], singleTables[single.single()])
}

// AppendGSM7Lang is AppendGSM7 with the locking shift table of locking
// and the single shift table of single: a character of the locking table
// takes one septet, one of the single shift table (only) two, the escape
// and its code. Where a table has a character twice, its first code is
// used. replace is used for characters in neither table; with replace < 0
// they are an *UnrepresentableError. The receiver must be told the
// languages in the user data header (Split does it).
func AppendGSM7Lang(dst []byte, text string, locking, single Language, replace rune) ([]byte, error) {
	locking, single = locking.locking(), single.single()
	if locking == DefaultLanguage && single == DefaultLanguage {
		return AppendGSM7(dst, text, replace)
	}
	nlsOnce.Do(buildNLS)
	lt, st := &nlsLocking[locking], &nlsSingle[single]
	for i, r := range text {
		code, ext, ok := lookupPair(lt, st, r)
		if !ok {
			if replace < 0 {
				return dst, &UnrepresentableError{Coding: GSM7, Rune: r, Offset: i}
			}
			if code, ext, ok = lookupPair(lt, st, replace); !ok {
				return dst, &UnrepresentableError{Coding: GSM7, Rune: replace, Offset: i}
			}
		}
		if ext {
			dst = append(dst, gsmEscape)
		}
		dst = append(dst, code)
	}
	return dst, nil
}

// reverseTable finds the code of a character in one table: ASCII through
// an array, as the default alphabet's lookup does, the rest in a map.
type reverseTable struct {
	ascii [128]int8 // code, -1 none
	other map[rune]byte
}

func (t *reverseTable) find(r rune) (byte, bool) {
	if uint32(r) < 128 {
		v := t.ascii[r]
		return byte(v), v >= 0
	}
	c, ok := t.other[r]
	return c, ok
}

func lookupPair(lock, single *reverseTable, r rune) (code byte, ext, ok bool) {
	if c, ok := lock.find(r); ok {
		return c, false, true
	}
	if c, ok := single.find(r); ok {
		return c, true, true
	}
	return 0, false, false
}

// The reverse tables and, for choosing tables, the tables each character
// is in (bit l: locking table of language l; bit 16+l: its single shift
// table), built once, on first use.
var (
	nlsOnce    sync.Once
	nlsLocking [numLanguages]reverseTable
	nlsSingle  [numLanguages]reverseTable
	nlsASCII   [128]uint32
	nlsOther   map[rune]uint32
)

const singleBit = 16

func buildNLS() {
	nlsOther = map[rune]uint32{}
	mark := func(r rune, bit uint32) {
		if r < 128 {
			nlsASCII[r] |= bit
		} else {
			nlsOther[r] |= bit
		}
	}
	fill := func(t *reverseTable, table *[128]rune, bit uint32, escape bool) {
		for i := range t.ascii {
			t.ascii[i] = -1
		}
		t.other = map[rune]byte{}
		for code, r := range table {
			if r == 0 || (escape && code == gsmEscape) {
				continue
			}
			if _, dup := t.find(r); dup {
				continue // the first code of a character counts
			}
			if r < 128 {
				t.ascii[r] = int8(code)
			} else {
				t.other[r] = byte(code)
			}
			mark(r, bit)
		}
	}
	for l := range Language(numLanguages) {
		if table := lockingTables[l]; table != nil {
			fill(&nlsLocking[l], table, 1<<l, true)
		}
		fill(&nlsSingle[l], singleTables[l], 1<<(singleBit+l), false)
	}
}

// nlsMask is the tables r is in (see nlsOther).
func nlsMask(r rune) uint32 {
	if uint32(r) < 128 {
		return nlsASCII[r]
	}
	return nlsOther[r]
}
