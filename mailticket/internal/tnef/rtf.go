package tnef

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// rtfPrebuf fills the dictionary of compressed RTF before the first byte
// ([MS-OXRTFCP] 2.1.3.1.1).
const rtfPrebuf = "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript " +
	"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par " +
	"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"

const (
	rtfCompressed   = 0x75465A4C // "LZFu"
	rtfUncompressed = 0x414C454D // "MELA"
)

// decompressRTF decodes PR_RTF_COMPRESSED ([MS-OXRTFCP]), producing at
// most maxOut bytes.
func decompressRTF(b []byte, maxOut int64) ([]byte, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("%w: compressed RTF header cut short", ErrFormat)
	}
	compSize := binary.LittleEndian.Uint32(b)
	rawSize := binary.LittleEndian.Uint32(b[4:])
	kind := binary.LittleEndian.Uint32(b[8:])
	in := b[16:]
	if uint64(compSize) >= 12 && uint64(compSize)-12 < uint64(len(in)) {
		in = in[:compSize-12]
	}
	limit := min(int64(rawSize), maxOut)
	switch kind {
	case rtfUncompressed:
		return in[:min(int64(len(in)), limit)], nil
	case rtfCompressed:
	default:
		return nil, fmt.Errorf("%w: compressed RTF of kind %#x", ErrFormat, kind)
	}
	var dict [4096]byte
	copy(dict[:], rtfPrebuf)
	w := len(rtfPrebuf)
	out := make([]byte, 0, min(limit, 1<<20))
	for len(in) > 0 {
		ctrl := in[0]
		in = in[1:]
		for bit := 0; bit < 8; bit++ {
			if len(in) == 0 {
				return out, nil
			}
			if ctrl&(1<<bit) == 0 {
				c := in[0]
				in = in[1:]
				if int64(len(out)) >= limit {
					return out, nil
				}
				out = append(out, c)
				dict[w] = c
				w = (w + 1) % len(dict)
				continue
			}
			if len(in) < 2 {
				return out, nil
			}
			ref := int(in[0])<<8 | int(in[1])
			in = in[2:]
			off, n := ref>>4, ref&0xF+2
			if off == w {
				return out, nil // the end mark
			}
			for i := 0; i < n; i++ {
				c := dict[(off+i)%len(dict)]
				if int64(len(out)) >= limit {
					return out, nil
				}
				out = append(out, c)
				dict[w] = c
				w = (w + 1) % len(dict)
			}
		}
	}
	return out, nil
}

// maxRTFDepth bounds the nesting of RTF groups that is followed.
const maxRTFDepth = 256

// rtfToText reads RTF into plain text, or into HTML when the RTF
// encapsulates it (\fromhtml1, [MS-OXRTFEX]); each is at most maxOut
// bytes. It is a reader for display, not a renderer: paragraphs, tabs,
// characters and the encapsulated HTML are kept, formatting is not.
func rtfToText(rtf []byte, maxOut int64) (text, html string) {
	type group struct {
		skip    bool // a destination that is not text (font table, pictures, ...)
		htmltag bool // {\*\htmltag ...}: encapsulated HTML
		uc      int  // characters that follow \u to skip
	}
	var (
		out      []byte
		fromHTML bool
		htmlrtf  bool // inside \htmlrtf ... \htmlrtf0: RTF only, not in the HTML
		stack    = []group{{uc: 1}}
		skipUC   int
		cp       = 1252
		pending  []byte // \'hh bytes of the code page, decoded together
	)
	flush := func() {
		if len(pending) > 0 {
			out = append(out, decodeCodepage(pending, cp)...)
			pending = pending[:0]
		}
	}
	top := func() *group { return &stack[len(stack)-1] }
	emit := func(s string) {
		g := top()
		if g.skip || int64(len(out)) >= maxOut {
			return
		}
		if fromHTML && htmlrtf && !g.htmltag {
			return
		}
		flush()
		out = append(out, s...)
	}
	depthSkipped := 0 // groups beyond maxRTFDepth, only counted
	for i := 0; i < len(rtf) && int64(len(out)) < maxOut; {
		c := rtf[i]
		switch {
		case c == '{':
			i++
			if len(stack) >= maxRTFDepth {
				depthSkipped++
				continue
			}
			g := *top()
			stack = append(stack, g)
			if i+1 < len(rtf) && rtf[i] == '\\' && rtf[i+1] == '*' {
				top().skip = true // an ignorable destination, unless known below
				i += 2
				for i < len(rtf) && (rtf[i] == ' ' || rtf[i] == '\r' || rtf[i] == '\n') {
					i++
				}
				if strings.HasPrefix(string(rtf[i:min(len(rtf), i+9)]), "\\htmltag") {
					top().skip = false
					top().htmltag = true
				}
			}
		case c == '}':
			i++
			if depthSkipped > 0 {
				depthSkipped--
				continue
			}
			if len(stack) > 1 {
				flush()
				stack = stack[:len(stack)-1]
			}
		case c == '\\':
			i++
			if i >= len(rtf) {
				break
			}
			switch d := rtf[i]; {
			case d == '\'':
				if i+2 < len(rtf) {
					if v, err := strconv.ParseUint(string(rtf[i+1:i+3]), 16, 8); err == nil {
						if skipUC > 0 {
							skipUC--
						} else if g := top(); !g.skip && !(fromHTML && htmlrtf && !g.htmltag) {
							pending = append(pending, byte(v))
						}
					}
				}
				i += 3
			case d == '\\' || d == '{' || d == '}':
				emit(string(d))
				i++
			case d == '~':
				emit("\u00a0")
				i++
			case d == '\r' || d == '\n':
				emit("\n")
				i++
			case isLetter(d):
				j := i
				for j < len(rtf) && isLetter(rtf[j]) && j-i < 32 {
					j++
				}
				word := string(rtf[i:j])
				k := j
				if k < len(rtf) && rtf[k] == '-' {
					k++
				}
				for k < len(rtf) && rtf[k] >= '0' && rtf[k] <= '9' && k-j < 11 {
					k++
				}
				param, hasParam := 0, k > j
				if hasParam {
					param, _ = strconv.Atoi(string(rtf[j:k]))
				}
				if k < len(rtf) && rtf[k] == ' ' {
					k++
				}
				i = k
				g := top()
				switch word {
				case "fromhtml":
					fromHTML = true
				case "htmlrtf":
					htmlrtf = !hasParam || param != 0
				case "ansicpg":
					cp = param
				case "uc":
					g.uc = param
				case "u":
					if param < 0 {
						param += 65536
					}
					flush()
					emit(string(rune(param)))
					skipUC = g.uc
				case "par", "line", "row":
					if !fromHTML || g.htmltag {
						emit("\n")
					}
				case "tab", "cell":
					if !fromHTML || g.htmltag {
						emit("\t")
					}
				case "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "header", "footer",
					"headerl", "headerr", "footerl", "footerr", "listtable", "listoverridetable", "rsidtbl",
					"generator", "xmlnstbl", "themedata", "datastore", "latentstyles", "filetbl", "revtbl":
					g.skip = true
				case "htmltag":
					g.htmltag = true
				}
			default:
				i++ // a control symbol read as nothing
			}
		case c == '\r' || c == '\n':
			i++
		default:
			if skipUC > 0 {
				skipUC--
				i++
				continue
			}
			j := i
			for j < len(rtf) && rtf[j] != '\\' && rtf[j] != '{' && rtf[j] != '}' && rtf[j] != '\r' && rtf[j] != '\n' {
				j++
			}
			emit(string(rtf[i:j]))
			i = j
		}
	}
	flush()
	s := strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' {
			return -1 // NULs and other controls some writers leave in
		}
		return r
	}, strings.ToValidUTF8(string(out[:min(int64(len(out)), maxOut)]), ""))
	if fromHTML {
		return "", s
	}
	return strings.TrimSpace(s), ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
