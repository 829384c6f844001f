package gateway

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-go/switchboard/smpp/coding"
	"github.com/switchboard-go/switchboard/store"
)

// Batch is a client's file of messages to load.
type Batch struct {
	// Client is the platform customer's name (created on first use).
	Client string
	// Name identifies the file: loading a batch of the same client and
	// name again adds to it, and rows already stored are skipped, so a
	// file loaded twice is sent once and an edited file sends only its
	// new or changed rows. A row is identified by its external_id; one
	// without, in a named batch, by the name, its number, source and
	// text, and how many rows alike come before it in the file (a row
	// moved to another line is the same row; the second of two equal
	// rows is another). Without a name, every load is new.
	Name string
	// CSV has one message per row: number, text, and optionally source
	// and external_id. A first row naming the columns (number, text,
	// source, external_id, in any order) is a header; without one the
	// columns are in that order. Fields are separated by ',', ';' or a
	// tab, whichever the first line uses most (as spreadsheets export
	// them), quoted as RFC 4180 and Excel do; a UTF-8 byte order mark is
	// skipped.
	CSV io.Reader
}

// RowError is a rejected row.
type RowError struct {
	Line   int // 1-based line of the file where the row starts
	Reason string
}

// LoadReport says what loading a batch did.
type LoadReport struct {
	BatchID    int64
	Rows       int // data rows read
	Inserted   int // new transmissions (queued, or failed when unroutable)
	Duplicates int // rows already loaded before (see Batch.Name)
	// NewLines are the lines of the rows this load inserted, when some
	// were loaded before (an edited file: its new or changed rows); the
	// first MaxRowErrors of them.
	NewLines []int
	// Delimiter is the field separator found in the file's first line:
	// ',', ';' (spreadsheets in many locales) or '\t'.
	Delimiter rune
	// FirstID and LastID span the ids of the transmissions this load
	// inserted (0 when none): see WaitLoad.
	FirstID, LastID int64
	Unroutable      int // rows no operator takes: stored as failed (unless already loaded)
	Rejected        int // rows refused; the first MaxRowErrors are in Errors
	Errors          []RowError
}

// ErrBatchTooLarge is LoadCSV's error for a batch of more rows than
// Config.MaxBatchRows (nothing is stored).
var ErrBatchTooLarge = errors.New("gateway: batch too large")

// MaxRowErrors caps LoadReport.Errors.
const MaxRowErrors = 1000

// Limits of a row's fields.
const (
	maxSourceLen     = 20
	maxAlphaSource   = 11
	maxExternalIDLen = 64
)

var columnNames = map[string]string{
	"number": "number", "destination": "number", "phone": "number", "numero": "number", "número": "number",
	"text": "text", "message": "text", "mensaje": "text", "texto": "text",
	"source": "source", "sender": "source", "from": "source", "origen": "source",
	"external_id": "external_id", "id": "external_id", "ref": "external_id",
}

// LoadCSV validates every row of b, routes the good ones, and stores
// them in one transaction. Bad rows are reported with their line and
// reason and do not stop the others; unroutable numbers are stored as
// failed, with the reason, so the client sees them. It returns an error
// only when the file cannot be read at all or the store fails (then
// nothing is stored).
func (g *Gateway) LoadCSV(ctx context.Context, b Batch) (LoadReport, error) {
	var rep LoadReport
	if b.Client == "" {
		return rep, errors.New("gateway: batch without client")
	}
	router, err := g.router(ctx)
	if err != nil {
		return rep, err
	}
	healthy := g.healthFunc()
	in, delim, err := sniffCSV(b.CSV)
	if err != nil {
		return rep, fmt.Errorf("gateway: reading batch: %w", err)
	}
	rep.Delimiter = delim
	r := csv.NewReader(in)
	r.Comma = delim
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	cols := map[string]int{"number": 0, "text": 1, "source": 2, "external_id": 3}
	reject := func(line int, format string, args ...any) {
		rep.Rejected++
		if len(rep.Errors) < MaxRowErrors {
			rep.Errors = append(rep.Errors, RowError{Line: line, Reason: fmt.Sprintf(format, args...)})
		}
	}
	var ts []store.Transmission
	var lines []int             // of ts
	seen := map[string]int{}    // external id -> line
	alike := map[[16]byte]int{} // row content -> rows alike so far
	now := time.Now()
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			rep.Rows++
			reject(pe.StartLine, "malformed CSV: %v", pe.Err)
			continue
		}
		if err != nil {
			return LoadReport{}, fmt.Errorf("gateway: reading batch: %w", err)
		}
		line, _ := r.FieldPos(0) // only valid for a record read without error
		if first {
			if header, ok := parseHeader(rec); ok {
				cols = header
				continue
			}
		}
		rep.Rows++
		if g.cfg.MaxBatchRows > 0 && rep.Rows > g.cfg.MaxBatchRows {
			return LoadReport{}, fmt.Errorf("%w: more than %d rows", ErrBatchTooLarge, g.cfg.MaxBatchRows)
		}
		field := func(name string) string {
			i, ok := cols[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if len(rec) < 2 {
			reject(line, "want at least number and text, got %d field(s)", len(rec))
			continue
		}
		number, text, source, ext := field("number"), field("text"), field("source"), field("external_id")
		dest, err := CheckMessage(g.cfg.Numbering, number, text, source, g.cfg.MaxParts)
		if err != nil {
			reject(line, "%v", err)
			continue
		}
		if len(ext) > maxExternalIDLen || !utf8.ValidString(ext) || strings.ContainsRune(ext, 0) {
			reject(line, "external_id longer than %d bytes, not UTF-8 or with a NUL character", maxExternalIDLen)
			continue
		}
		if ext != "" {
			if prev, dup := seen[ext]; dup {
				reject(line, "external_id %q repeats line %d", ext, prev)
				continue
			}
			seen[ext] = line
		}
		if ext == "" && b.Name != "" {
			ext = rowKey(b.Name, dest, source, text, alike)
		}
		t := store.Transmission{ExternalID: ext, Source: source, Destination: dest, Text: text}
		if op, err := router.RouteHealthy(dest, healthy); err != nil {
			t.State, t.Reason, t.DoneAt = store.TxFailed, err.Error(), now
		} else {
			t.OperatorID = op.ID
		}
		ts = append(ts, t)
		lines = append(lines, line)
	}
	if len(ts) == 0 {
		return rep, nil
	}
	client, err := g.client(ctx, b.Client)
	if err != nil {
		return LoadReport{}, err
	}
	batch := store.Batch{ClientID: client.ID, Name: b.Name}
	inserted, dups, err := g.st.CreateBatch(ctx, &batch, ts)
	if err != nil {
		return LoadReport{}, fmt.Errorf("gateway: storing batch: %w", err)
	}
	rep.BatchID, rep.Inserted, rep.Duplicates = batch.ID, inserted, dups
	for i := range ts {
		id := ts[i].ID
		if id == 0 {
			continue
		}
		if ts[i].State == store.TxFailed { // inserted unroutable: a row loaded before is not counted again
			rep.Unroutable++
		}
		if rep.FirstID == 0 || id < rep.FirstID {
			rep.FirstID = id
		}
		rep.LastID = max(rep.LastID, id)
		if dups > 0 && len(rep.NewLines) < MaxRowErrors {
			rep.NewLines = append(rep.NewLines, lines[i])
		}
	}
	g.kick()
	return rep, nil
}

func parseHeader(rec []string) (map[string]int, bool) {
	cols := map[string]int{}
	for i, f := range rec {
		name, ok := columnNames[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(f, "\ufeff")))]
		if !ok {
			return nil, false
		}
		cols[name] = i
	}
	_, hasNumber := cols["number"]
	_, hasText := cols["text"]
	return cols, hasNumber && hasText
}

// CheckMessage checks one message as LoadCSV checks a row: the number
// must normalize (the normalized form is returned), the text must be
// valid UTF-8, not empty, and fit in maxParts parts (0: 10), and the
// source, when given, must be a valid address. The error says what is
// wrong.
func CheckMessage(n Numbering, number, text, source string, maxParts int) (string, error) {
	if maxParts <= 0 {
		maxParts = 10
	}
	dest, err := n.Normalize(number)
	if err != nil {
		return "", err
	}
	if reason := checkText(text, maxParts); reason != "" {
		return "", errors.New(reason)
	}
	if reason := checkSource(source); reason != "" {
		return "", errors.New(reason)
	}
	return dest, nil
}

func checkText(text string, maxParts int) string {
	if text == "" {
		return "empty text"
	}
	if !utf8.ValidString(text) {
		return "text is not UTF-8"
	}
	if strings.ContainsRune(text, 0) {
		return "text has a NUL character"
	}
	_, parts, err := coding.Split(text, coding.SplitOptions{MaxParts: maxParts})
	if err != nil {
		return fmt.Sprintf("text cannot be sent: %v", err)
	}
	if len(parts) > maxParts {
		return fmt.Sprintf("text needs %d parts, more than %d", len(parts), maxParts)
	}
	return ""
}

func checkSource(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > maxSourceLen {
		return fmt.Sprintf("source longer than %d characters", maxSourceLen)
	}
	if SourceTON(s) == 5 && utf8.RuneCountInString(s) > maxAlphaSource {
		return fmt.Sprintf("alphanumeric source longer than %d characters", maxAlphaSource)
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7E {
			return "source has characters outside printable ASCII"
		}
	}
	return ""
}

// SourceTON is the type of number for a source address: alphanumeric
// (5) unless s is digits with an optional leading '+' (international, 1).
func SourceTON(s string) uint8 {
	for i, r := range s {
		if !(r >= '0' && r <= '9') && !(r == '+' && i == 0) {
			return 5
		}
	}
	return 1
}

// rowKey identifies a row without external_id of a named batch: the
// batch name, the row's normalized number, source and text, and the
// count of rows alike before it (counted in alike). It starts with "row:"
// and fits an external id.
func rowKey(batch, dest, source, text string, alike map[[16]byte]int) string {
	h := sha256.New()
	for _, f := range []string{batch, dest, source, text} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	k := [16]byte(h.Sum(nil))
	n := alike[k]
	alike[k] = n + 1
	fmt.Fprintf(h, "%d", n)
	return "row:" + hex.EncodeToString(h.Sum(nil)[:20])
}

// sniffCSV skips a UTF-8 byte order mark and picks the delimiter among
// ',', ';' and tab: the one found, outside quotes, in every one of the
// first lines (up to 10) most often at least; failing that, the one the
// first line uses most; ',' on a tie or when none is found.
func sniffCSV(r io.Reader) (io.Reader, rune, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	head, err := br.Peek(64 << 10)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, 0, err
	}
	cands := []byte{',', ';', '\t'}
	var lines [][3]int // per line, the count of each candidate
	var cur [3]int
	quoted, blank := false, true
	for _, c := range head {
		if c == '"' {
			quoted = !quoted
		}
		if quoted {
			continue
		}
		if c == '\n' {
			if !blank {
				lines = append(lines, cur)
			}
			cur, blank = [3]int{}, true
			if len(lines) == 10 {
				break
			}
			continue
		}
		if c != '\r' && c != ' ' {
			blank = false
		}
		for k, d := range cands {
			if c == d {
				cur[k]++
			}
		}
	}
	if !blank && len(lines) < 10 {
		lines = append(lines, cur)
	}
	if len(lines) == 0 {
		return br, ',', nil
	}
	best, bestMin := 0, 0
	for k := range cands {
		least := lines[0][k]
		for _, l := range lines[1:] {
			least = min(least, l[k])
		}
		if least > bestMin {
			best, bestMin = k, least
		}
	}
	if bestMin == 0 { // no delimiter on every line: the first line's most used
		for k := range cands {
			if lines[0][k] > lines[0][best] {
				best = k
			}
		}
	}
	return br, rune(cands[best]), nil
}
