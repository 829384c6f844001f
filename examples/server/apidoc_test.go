package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/switchboard-go/switchboard/store"
	"github.com/switchboard-go/switchboard/store/sqlite"
)

// docBlock is a fenced block of API.md.
type docBlock struct {
	lang, text string
	line       int
}

func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{lang: strings.TrimPrefix(line, "```"), line: n}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// shellWords splits a command line as sh would for the quoting API.md
// uses: '...' literal, "..." with $VAR, bare words with $VAR.
func shellWords(t *testing.T, s string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	expand := func(s string, i int) (string, int) { // $NAME at s[i]
		j := i + 1
		for j < len(s) && (s[j] == '_' || 'A' <= s[j] && s[j] <= 'Z') {
			j++
		}
		v, ok := vars[s[i+1:j]]
		require.True(t, ok, "unknown variable %s", s[i:j])
		return v, j
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			require.GreaterOrEqual(t, j, 0, "unclosed ' in %q", s)
			w.WriteString(s[i+1 : i+1+j])
			inWord, i = true, i+j+2
		case c == '"':
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '$' {
					v, j := expand(s, i)
					w.WriteString(v)
					i = j
					continue
				}
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				w.WriteByte(s[i])
				i++
			}
			require.Less(t, i, len(s), "unclosed \" in %q", s)
			inWord, i = true, i+1
		case c == '$':
			v, j := expand(s, i)
			w.WriteString(v)
			inWord, i = true, j
		default:
			w.WriteByte(c)
			inWord, i = true, i+1
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// curl makes the request a curl command line of API.md describes.
func curl(t *testing.T, args []string, dir string) (int, []byte) {
	t.Helper()
	method, url := "", ""
	var body io.Reader
	header := http.Header{}
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "-s":
		case "-X":
			i++
			method = args[i]
		case "-H":
			i++
			k, v, ok := strings.Cut(args[i], ":")
			require.True(t, ok, args[i])
			header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d":
			i++
			body = strings.NewReader(args[i])
		case "--data-binary":
			i++
			b, err := os.ReadFile(filepath.Join(dir, strings.TrimPrefix(args[i], "@")))
			require.NoError(t, err)
			body = bytes.NewReader(b)
		default:
			require.False(t, strings.HasPrefix(a, "-"), "curl option %s not understood by the test", a)
			url = a
		}
	}
	if method == "" {
		method = "GET"
		if body != nil {
			method = "POST"
		}
	}
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// TestAPIDoc runs every curl example of API.md against a server with a
// simulated SMSC and an SMTP sink, and checks the status each one says,
// and that an answer has no field its example lacks.
func TestAPIDoc(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := map[string]string{}
	for _, tk := range []struct{ name, client, v string }{{"ops", "", "TOKEN"}, {"acme-app", "acme", "ACME_TOKEN"}} {
		var out, errOut bytes.Buffer
		args := []string{"api-token", "-data", dir, "-name", tk.name}
		if tk.client != "" {
			args = append(args, "-client", tk.client)
		}
		require.NoError(t, run(ctx, args, &out, &errOut), errOut.String())
		words := strings.Fields(out.String())
		vars[tk.v] = words[len(words)-1]
	}
	// An endpoint for ticket and chat events, which nobody answers, and a
	// ticket and a chat conversation to read (and report).
	var out, errOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"webhook", "-data", dir, "-name", "crm", "-url", "http://127.0.0.1:9/hooks",
		"-events", "ticket,chat"}, &out, &errOut), errOut.String())
	st, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"), nil)
	require.NoError(t, err)
	vars["NUMBER"] = ticketFixtureCLI(t, st)
	conv := store.Conversation{CustomerName: "Ana"}
	require.NoError(t, st.CreateConversation(ctx, &conv))
	require.NoError(t, st.AssignConversation(ctx, conv.ID, "luis", time.Time{}))
	_, _, err = st.AppendMessage(ctx, store.Message{ConversationID: conv.ID, SenderRole: store.RoleCustomer, SenderID: "customer",
		Kind: store.KindText, Text: "hola"})
	require.NoError(t, err)
	require.NoError(t, st.Close())

	_, smtpAddr := startSink(t)
	logs := &syncBuffer{}
	_, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "127.0.0.1:0", "-smtp", "smtp://" + smtpAddr}, logs)
	defer stop()
	waitFor(t, logs, "http api listening")
	m := regexp.MustCompile(`msg="http api listening" url=(\S+)/api/v1/`).FindStringSubmatch(logs.String())
	require.NotNil(t, m, logs.String())
	vars["URL"] = m[1]

	blocks := docBlocks(t, "API.md")
	ran := 0
	var lastBody []byte
	for i, b := range blocks {
		switch b.lang {
		case "sh":
			if strings.Contains(b.text, "URL=http") {
				continue // the variables
			}
			var lines []string
			for _, l := range strings.Split(strings.ReplaceAll(b.text, "\\\n", " "), "\n") {
				if strings.TrimSpace(l) != "" {
					lines = append(lines, l)
				}
			}
			for j := 0; j < len(lines); j++ {
				words := shellWords(t, lines[j], vars)
				switch words[0] {
				case "printf":
					require.Equal(t, ">", words[2], lines[j])
					require.NoError(t, os.WriteFile(filepath.Join(dir, words[3]), []byte(strings.ReplaceAll(words[1], `\n`, "\n")), 0o644))
				case "curl":
					require.Less(t, j+1, len(lines), "API.md:%d: no status after the curl", b.line)
					want, err := strconv.Atoi(strings.TrimPrefix(lines[j+1], "# -> "))
					require.NoError(t, err, "API.md:%d: want \"# -> STATUS\" after the curl, got %q", b.line, lines[j+1])
					j++
					code, body := curl(t, words, dir)
					assert.Equal(t, want, code, "API.md:%d: %s\n%s", b.line, lines[j-1], body)
					lastBody = body
					ran++
					var ids struct {
						BatchID int64 `json:"batch_id"`
					}
					if json.Unmarshal(body, &ids) == nil && ids.BatchID != 0 {
						vars["BATCH"] = strconv.FormatInt(ids.BatchID, 10) // the batch_id of the last answer
					}
				default:
					t.Fatalf("API.md:%d: command %s not understood by the test", b.line, words[0])
				}
			}
		case "json":
			if i == 0 || blocks[i-1].lang != "sh" || lastBody == nil {
				continue
			}
			var doc, got map[string]any
			require.NoError(t, json.Unmarshal([]byte(b.text), &doc), "API.md:%d", b.line)
			require.NoError(t, json.Unmarshal(lastBody, &got), "API.md:%d: %s", b.line, lastBody)
			for k := range got {
				assert.Contains(t, keys(doc), k, "API.md:%d: the answer has a field the example lacks: %s", b.line, lastBody)
			}
		}
	}
	doc, err := os.ReadFile("API.md")
	require.NoError(t, err)
	assert.Equal(t, strings.Count(string(doc), "\ncurl "), ran, "curl examples run")
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ticketFixtureCLI stores a new ticket from a customer and returns its
// number.
func ticketFixtureCLI(t *testing.T, st store.Store) string {
	t.Helper()
	ctx := context.Background()
	q := store.Queue{Name: "Inbox"}
	require.NoError(t, st.CreateQueue(ctx, &q))
	ana, err := st.UpsertCustomer(ctx, store.Customer{Email: "ana@example.com", Name: "Ana"})
	require.NoError(t, err)
	res, err := st.IngestMail(ctx, store.MailIngest{Receipt: store.MailReceipt{SourceKey: "doc/1"},
		NewTicket: &store.Ticket{Title: "Falla", QueueID: q.ID, CustomerID: ana.ID},
		Article: store.Article{Direction: store.Inbound, MessageID: "doc1@example.com", From: "Ana <ana@example.com>",
			Subject: "Falla", TextBody: "no hay luz"}})
	require.NoError(t, err)
	return res.Ticket.Number
}
