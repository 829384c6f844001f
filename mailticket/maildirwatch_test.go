package mailticket

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deliverMaildir writes a mail as an MDA does: into tmp/, renamed into new/.
func deliverMaildir(t *testing.T, dir, name, raw string) {
	t.Helper()
	tmp := filepath.Join(dir, "tmp", name)
	require.NoError(t, os.WriteFile(tmp, []byte(raw), 0o600))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "new", name)))
}

// runPoller runs pl until the test ends and returns the results as they come.
func runPoller(t *testing.T, pl *Poller) <-chan Result {
	results := make(chan Result, 100)
	pl.OnResult = func(_ Source, r Result) { results <- r }
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pl.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, s := range pl.Sources {
			s.Close()
		}
	})
	return results
}

// TestMaildirWatched: with an hour between polls, each mail delivered to
// the Maildir is a ticket within a second (the directory is watched), a
// burst is fetched too, and mail delivered before the watch began is not
// left waiting for the next poll.
func TestMaildirWatched(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeMaildir(t, dir, simple("early@cliente.example", "antes", "early@cliente.example"))
	pl := &Poller{Processor: e.p, Sources: []Source{&Maildir{Dir: dir}}, Interval: time.Hour}
	results := runPoller(t, pl)
	next := func(what string) Result {
		t.Helper()
		select {
		case r := <-results:
			return r
		case <-time.After(time.Second):
			t.Fatalf("%s: no ticket within a second", what)
		}
		return Result{}
	}
	assert.Equal(t, Created, next("mail already there").Outcome)
	for i := range 5 {
		start := time.Now()
		deliverMaildir(t, dir, fmt.Sprintf("%d.M%d.test", time.Now().Unix(), i),
			simple(fmt.Sprintf("c%d@cliente.example", i), "hola", fmt.Sprintf("w%d@cliente.example", i)))
		r := next(fmt.Sprint("mail ", i))
		assert.Equal(t, Created, r.Outcome)
		t.Logf("mail %d: ticket after %v", i, time.Since(start))
	}
	for i := range 20 {
		deliverMaildir(t, dir, fmt.Sprintf("%d.B%d.test", time.Now().Unix(), i),
			simple(fmt.Sprintf("b%d@cliente.example", i), "ráfaga", fmt.Sprintf("b%d@cliente.example", i)))
	}
	for i := range 20 {
		assert.Equal(t, Created, next(fmt.Sprint("burst mail ", i)).Outcome)
	}
	// Results are told before the files move to cur/ (after commit).
	assert.Eventually(t, func() bool {
		left, err := os.ReadDir(filepath.Join(dir, "new"))
		return err == nil && len(left) == 0
	}, 2*time.Second, 10*time.Millisecond, "new/ emptied")
}

// TestMaildirPolledWithoutWatch: where the directory cannot be watched,
// the Maildir is polled at the interval, and the reason is reported once.
func TestMaildirPolledWithoutWatch(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeMaildir(t, dir)
	src := &Maildir{Dir: dir, watchErr: errors.New("no inotify watches left")}
	var mu sync.Mutex
	var reported []error
	pl := &Poller{Processor: e.p, Sources: []Source{src}, Interval: 100 * time.Millisecond,
		OnError: func(_ Source, err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }}
	results := runPoller(t, pl)
	time.Sleep(50 * time.Millisecond)
	deliverMaildir(t, dir, "1.P1.test", simple("p@cliente.example", "hola", "p1@cliente.example"))
	select {
	case r := <-results:
		assert.Equal(t, Created, r.Outcome)
	case <-time.After(2 * time.Second):
		t.Fatal("not polled")
	}
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, reported)
	assert.ErrorContains(t, reported[0], "no inotify watches left")
}

// new/ removed and made again (a restore, a cleanup script) is watched
// again: a mail delivered into the new directory is still a ticket within
// a second, not at the next poll.
func TestMaildirWatchedAfterNewIsRecreated(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeMaildir(t, dir)
	pl := &Poller{Processor: e.p, Sources: []Source{&Maildir{Dir: dir}}, Interval: time.Hour}
	results := runPoller(t, pl)
	deliverMaildir(t, dir, "1.A.test", simple("a@cliente.example", "uno", "r1@cliente.example"))
	select {
	case r := <-results:
		require.Equal(t, Created, r.Outcome)
	case <-time.After(time.Second):
		t.Fatal("first mail not seen")
	}
	require.Eventually(t, func() bool {
		left, _ := os.ReadDir(filepath.Join(dir, "new"))
		return len(left) == 0
	}, 2*time.Second, 10*time.Millisecond)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "new")))
	time.Sleep(100 * time.Millisecond) // the watch sees new/ go
	require.NoError(t, os.Mkdir(filepath.Join(dir, "new"), 0o755))
	// Mail delivered into the new new/, soon after it was made, and again
	// a moment later.
	for i, name := range []string{"2.B.test", "3.C.test"} {
		time.Sleep(200 * time.Millisecond)
		deliverMaildir(t, dir, name, simple("b@cliente.example", "dos", fmt.Sprintf("r%d@cliente.example", i+2)))
		select {
		case r := <-results:
			assert.Equal(t, Created, r.Outcome)
		case <-time.After(2 * time.Second):
			t.Fatalf("mail %s in the recreated new/ not seen", name)
		}
	}
}

// A writer that does not deliver through tmp/ writes its file in new/
// itself, a piece at a time: the mail is read whole, once the file has
// been quiet, not as the first pieces.
func TestMaildirFileWrittenInPlace(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeMaildir(t, dir)
	pl := &Poller{Processor: e.p, Sources: []Source{&Maildir{Dir: dir}}, Interval: time.Hour}
	results := runPoller(t, pl)
	time.Sleep(50 * time.Millisecond) // the watch is on
	body := strings.Repeat("Línea de la reclamación completa.\n", 40) + "FIN DEL MENSAJE\n"
	raw := mailText(body, "From: lento@cliente.example", "To: support@example.net", "Subject: escrito despacio",
		"Message-ID: <slow@cliente.example>")
	f, err := os.Create(filepath.Join(dir, "new", fmt.Sprintf("%d.slow.test", time.Now().Unix())))
	require.NoError(t, err)
	for chunk := range slices.Chunk([]byte(raw), len(raw)/8+1) {
		_, err := f.Write(chunk)
		require.NoError(t, err)
		time.Sleep(40 * time.Millisecond)
	}
	require.NoError(t, f.Close())
	select {
	case r := <-results:
		require.Equal(t, Created, r.Outcome)
		arts := e.articles(r.Ticket.ID)
		require.NotEmpty(t, arts)
		assert.Contains(t, arts[0].TextBody, "FIN DEL MENSAJE", "the whole mail, not its first pieces")
	case <-time.After(5 * time.Second):
		t.Fatal("no ticket")
	}
}

// A new/ missing when the watch starts (removed and being made again)
// is watched once it is back, not polled at the interval from then on.
func TestMaildirWatchWaitsForMissingNew(t *testing.T) {
	dir := t.TempDir()
	m := &Maildir{Dir: dir}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := m.Wait(ctx, time.Hour)
	require.Error(t, err, "new/ is missing")
	assert.Less(t, time.Since(start), 3*time.Second, "looks again soon, not after the interval")
	assert.False(t, m.polled(), "not polled for good")
	writeMaildir(t, dir)
	require.NoError(t, m.Wait(ctx, time.Hour), "the watch starts")
	done := make(chan error, 1)
	go func() { done <- m.Wait(ctx, time.Hour) }()
	time.Sleep(50 * time.Millisecond)
	deliverMaildir(t, dir, "1.late.test", simple("a@cliente.example", "hola", "late@cliente.example"))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("a mail in new/ did not end the wait")
	}
}
