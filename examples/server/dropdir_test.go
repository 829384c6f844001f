package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A client drops a file in its folder: it is loaded once complete, moved
// to done/ with a report, and its results come when its messages end; the
// same file dropped again sends nothing, an edited one only its new row.
func TestDropFolder(t *testing.T) {
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	require.NoError(t, os.MkdirAll(filepath.Join(drop, "acme"), 0o750))
	var logs syncBuffer
	_, stop := startServer(t, []string{"-data", filepath.Join(dir, "data"), "-smsc-sim", "127.0.0.1:0",
		"-smsc-sim-receipt-delay", "10ms", "-chat-addr", "", "-sms-dropdir", drop}, &logs)
	defer stop()
	waitFor(t, &logs, "state=bound")

	put := func(name, content string) { // written elsewhere, renamed in
		tmp := filepath.Join(dir, name+".tmp")
		require.NoError(t, os.WriteFile(tmp, []byte(content), 0o640))
		require.NoError(t, os.Rename(tmp, filepath.Join(drop, "acme", name)))
	}
	done := filepath.Join(drop, "acme", "done")
	waitFiles := func(pattern string, n int) []string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, _ := filepath.Glob(filepath.Join(done, pattern))
			if len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d %s in done/:\n%s", len(got), n, pattern, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	put("enero.csv", "numero;mensaje\n04141234567;Hola Ana\n04241234568;Hola Luis\nxyz;mala\n")
	reports := waitFiles("*.report.txt", 1)
	rep, err := os.ReadFile(reports[0])
	require.NoError(t, err)
	assert.Contains(t, string(rep), "queued: 2\n")
	assert.Contains(t, string(rep), "rejected: 1\n")
	assert.Contains(t, string(rep), "line 4: ")
	assert.Contains(t, string(rep), `fields separated by: ';'`)
	results := waitFiles("*.results.csv", 1)
	res, err := os.ReadFile(results[0])
	require.NoError(t, err)
	assert.Contains(t, string(res), "number,external_id,state,submitted_at,done_at,error_code,reason\n")
	assert.Contains(t, string(res), "584141234567,,delivered,")
	assert.Contains(t, string(res), "584241234568,,delivered,")
	_, err = os.Stat(filepath.Join(drop, "acme", "enero.csv"))
	assert.True(t, os.IsNotExist(err), "the file left in place")

	time.Sleep(1100 * time.Millisecond) // another second: another name in done/
	put("enero.csv", "numero;mensaje\n04141234567;Hola Ana\n04241234568;Hola Luis\n04161234569;Hola Eva\n")
	reports = waitFiles("*.report.txt", 2)
	rep, err = os.ReadFile(reports[1])
	require.NoError(t, err)
	assert.Contains(t, string(rep), "queued: 1\nalready loaded: 2\n")
	assert.Contains(t, string(rep), "new or changed rows at lines: 4\n")
	results = waitFiles("*.results.csv", 2)
	res, err = os.ReadFile(results[1])
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(res)), "\n")
	require.Len(t, lines, 2, "header and the one new message")
	assert.True(t, strings.HasPrefix(lines[1], "584161234569,,delivered,"), lines[1])
}

// server operators, run beside a running server, shows what the server's
// gateway reports: its operator's session bound.
func TestOperatorsShowsRunningHealth(t *testing.T) {
	dir := t.TempDir()
	var logs syncBuffer
	_, stop := startServer(t, []string{"-data", dir, "-smsc-sim", "127.0.0.1:0", "-chat-addr", ""}, &logs)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	waitFor(t, &logs, "state=bound")
	operators := func() string {
		var out, errOut bytes.Buffer
		require.NoError(t, run(context.Background(), []string{"operators", "-data", dir}, &out, &errOut), errOut.String())
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		require.Len(t, lines, 2, out.String())
		require.Contains(t, lines[0], "BOUND")
		require.Contains(t, lines[0], "REPORTED")
		return lines[1]
	}
	deadline := time.Now().Add(20 * time.Second) // reports come every 5 s
	for {
		line := operators()
		if strings.Contains(line, " 1/1 ") {
			assert.Regexp(t, ` 1/1 +\d+s ago `, line)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no health reported:\n%s", line)
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The server stops: its last report says so at once.
	stop()
	stopped = true
	assert.Regexp(t, ` stopped +\d+s ago `, operators())
}
