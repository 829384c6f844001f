package mailticket

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// missingRetry is how soon Wait tries again to watch a new/ that was
// missing.
const missingRetry = time.Second

// settle is how long Wait lets a burst of deliveries go on after the
// first one, so that they are fetched in one batch.
const settle = 20 * time.Millisecond

// Wait implements Waiter: it returns when a file arrives in new/ or
// after d. It watches the directory (inotify, kqueue, ...); where that is
// refused (no watches left, a file system without notifications) it
// only sleeps d, and the Maildir is polled. The first call starts the
// watch and returns at once, so that mail delivered before it is fetched.
// Wait is meant for one goroutine (the Poller's); Close stops the watch.
func (m *Maildir) Wait(ctx context.Context, d time.Duration) error {
	w, started, err := m.watch()
	if started {
		return nil
	}
	if w == nil && err != nil && !m.polled() {
		d = min(d, missingRetry) // new/ missing: look again soon
	}
	t := time.NewTimer(d)
	defer t.Stop()
	if w == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			return nil
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// An overflow or a lost watch: fetch now, and watch again
			// on the next call.
			m.stopWatch()
			return fmt.Errorf("mailticket: maildir watch: %w", err)
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) && filepath.Clean(ev.Name) == filepath.Join(m.Dir, "new") {
				// new/ itself went away (and may come back): watch it
				// again on the next call, after a fetch.
				m.stopWatch()
				return nil
			}
			if !ev.Has(fsnotify.Create) {
				continue // our own moves to cur/ (Rename), writes of a file already seen
			}
			drain(w, settle)
			return nil
		}
	}
}

// drain takes the events of a burst, until none comes for quiet.
func drain(w *fsnotify.Watcher, quiet time.Duration) {
	t := time.NewTimer(quiet)
	defer t.Stop()
	for {
		select {
		case _, ok := <-w.Events:
			if !ok {
				return
			}
			t.Reset(quiet)
		case <-t.C:
			return
		}
	}
}

// watch returns the watcher of new/, starting it when there is none
// (started is then true); nil with the reason when it cannot be had.
func (m *Maildir) watch() (w *fsnotify.Watcher, started bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, nil // no new watch after Close: Wait only sleeps
	}
	if m.watcher != nil || m.watchErr != nil {
		return m.watcher, false, m.watchErr
	}
	w, err = fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(filepath.Join(m.Dir, "new")); err != nil {
			w.Close()
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		// new/ is missing for now (removed and being made again):
		// watched again on a later call, not polled from now on.
		return nil, false, fmt.Errorf("mailticket: maildir %s: %w", m.Dir, err)
	}
	if err != nil {
		// Reported once; from then on the Maildir is polled.
		m.watchErr = fmt.Errorf("mailticket: maildir %s is polled: %w", m.Dir, err)
		return nil, false, m.watchErr
	}
	m.watcher = w
	return w, true, nil
}

// polled reports whether new/ cannot be watched and is polled for good.
func (m *Maildir) polled() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.watchErr != nil
}

func (m *Maildir) stopWatch() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watcher != nil {
		m.watcher.Close()
		m.watcher = nil
	}
}
