package coding

import "fmt"

// DataCoding is the data_coding field of submit_sm and friends (SMPP 3.4
// section 5.2.19).
type DataCoding uint8

// Data codings.
const (
	GSM7      DataCoding = 0x00 // SMSC default alphabet: GSM 03.38 7-bit
	IA5       DataCoding = 0x01 // IA5 (CCITT T.50) / ASCII
	Binary8   DataCoding = 0x02 // 8-bit binary
	Latin1    DataCoding = 0x03 // ISO-8859-1
	Binary    DataCoding = 0x04 // 8-bit binary
	JIS       DataCoding = 0x05 // JIS (X 0208-1990)
	Cyrillic  DataCoding = 0x06 // ISO-8859-5
	Hebrew    DataCoding = 0x07 // ISO-8859-8
	UCS2      DataCoding = 0x08 // UCS-2 (UTF-16BE here, surrogate pairs included)
	Pictogram DataCoding = 0x09
	ISO2022JP DataCoding = 0x0A // music codes
	KanjiJIS  DataCoding = 0x0D // extended Kanji JIS (X 0212-1990)
	KSC5601   DataCoding = 0x0E
)

var codingNames = map[DataCoding]string{
	GSM7: "GSM 7-bit", IA5: "IA5/ASCII", Binary8: "8-bit binary", Latin1: "Latin-1", Binary: "8-bit binary",
	JIS: "JIS", Cyrillic: "Cyrillic", Hebrew: "Latin/Hebrew", UCS2: "UCS-2", Pictogram: "pictogram",
	ISO2022JP: "ISO-2022-JP", KanjiJIS: "extended Kanji JIS", KSC5601: "KS C 5601",
}

func (d DataCoding) String() string {
	if n, ok := codingNames[d]; ok {
		return n
	}
	return fmt.Sprintf("data_coding 0x%02X", uint8(d))
}

// Alphabet reduces a data_coding to the character set it implies,
// resolving the GSM 03.38 DCS groups (0xF0-0xFF message class coding:
// bit 2 set means 8-bit data, clear the default alphabet) that some SMSCs
// send. Codings this package cannot decode are returned unchanged.
func (d DataCoding) Alphabet() DataCoding {
	if d&0xF0 == 0xF0 {
		if d&0x04 != 0 {
			return Binary
		}
		return GSM7
	}
	return d
}
