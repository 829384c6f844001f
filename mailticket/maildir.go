package mailticket

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Maildir takes mail from new/ of a Maildir and, after commit, moves each
// file to cur/ with the Seen flag (name:2,S), as a mail reader does. The
// source key is "maildir:" + the directory + the unique part of the file
// name, which survives the move. It is a Waiter: a Poller fetches a mail
// delivered to new/ within moments, not at the next poll.
type Maildir struct {
	Dir string
	// MaxSize: files larger than this are handed over as their first
	// 64 KiB with Delivery.Size set, to be quarantined without reading
	// them whole (DefaultLimits.MaxMailSize when zero).
	MaxSize int64
	// QuarantineDir, when set, is a Maildir (created if missing) that
	// quarantined mail is moved to, into its new/; otherwise such mail
	// goes to cur/ like the rest.
	QuarantineDir string
	// Quiet is how long a file in new/ must have gone unmodified before
	// it is read (default 200ms; negative: not at all). Mail delivered
	// the Maildir way (written in tmp/, renamed into new/) is complete
	// when it appears; a writer that writes in new/ itself may still be
	// writing, and its file is read once it has been quiet this long, or
	// after ten times this long whatever it does.
	Quiet time.Duration

	mu       sync.Mutex
	watcher  *fsnotify.Watcher // new/, once Wait started it
	watchErr error             // why new/ cannot be watched
	closed   bool
}

func (m *Maildir) String() string { return "maildir:" + m.Dir }

// Close implements Source: it stops the watch Wait started.
func (m *Maildir) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.stopWatch()
	return nil
}

// Fetch implements Source. Files are handed over in name order (Maildir
// names start with the delivery time).
func (m *Maildir) Fetch(ctx context.Context, handle Handler) error {
	newDir := filepath.Join(m.Dir, "new")
	entries, err := os.ReadDir(newDir)
	if err != nil {
		return fmt.Errorf("mailticket: maildir: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	abs, err := filepath.Abs(m.Dir)
	if err != nil {
		return err
	}
	max := m.MaxSize
	if max <= 0 {
		max = DefaultLimits.MaxMailSize
	}
	var b batch[string]
	flush := func() error {
		names, quarantined, err := b.flush(ctx, handle)
		if err != nil {
			return err
		}
		if m.QuarantineDir == "" {
			names = append(names, quarantined...)
		} else if len(quarantined) > 0 {
			for _, sub := range []string{"new", "cur", "tmp"} {
				if err := os.MkdirAll(filepath.Join(m.QuarantineDir, sub), 0o700); err != nil {
					return fmt.Errorf("mailticket: maildir: %w", err)
				}
			}
			for _, name := range quarantined {
				if err := os.Rename(filepath.Join(newDir, name), filepath.Join(m.QuarantineDir, "new", name)); err != nil && !os.IsNotExist(err) {
					return fmt.Errorf("mailticket: maildir: %w", err)
				}
			}
		}
		for _, name := range names {
			unique, _, _ := strings.Cut(name, ":")
			if err := os.Rename(filepath.Join(newDir, name), filepath.Join(m.Dir, "cur", unique+":2,S")); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("mailticket: maildir: %w", err)
			}
		}
		return nil
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") {
			continue
		}
		unique, _, _ := strings.Cut(name, ":")
		if err := quiet(ctx, filepath.Join(newDir, name), m.quiet()); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("mailticket: maildir: %w", err)
		}
		d, err := readMaildirFile(filepath.Join(newDir, name), max)
		if os.IsNotExist(err) {
			continue // taken by another reader
		}
		if err != nil {
			return fmt.Errorf("mailticket: maildir: %w", err)
		}
		d.SourceKey = "maildir:" + abs + "/" + unique
		if b.add(d, name) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (m *Maildir) quiet() time.Duration {
	switch {
	case m.Quiet < 0:
		return 0
	case m.Quiet == 0:
		return 200 * time.Millisecond
	}
	return m.Quiet
}

// quiet waits until the file at path has not been modified for d, for at
// most 10*d, or until ctx ends. A modification time further in the future
// than d (another machine's clock) does not count as recent.
func quiet(ctx context.Context, path string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	deadline := time.Now().Add(10 * d)
	for {
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		age := time.Since(st.ModTime())
		if age >= d || age < -d || time.Now().After(deadline) {
			return nil
		}
		t := time.NewTimer(d - max(age, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func readMaildirFile(path string, max int64) (Delivery, error) {
	f, err := os.Open(path)
	if err != nil {
		return Delivery{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Delivery{}, err
	}
	if st.Size() > max {
		head := make([]byte, 64<<10)
		n, err := io.ReadFull(f, head)
		if err != nil && err != io.ErrUnexpectedEOF {
			return Delivery{}, err
		}
		return Delivery{Raw: head[:n], Size: st.Size()}, nil
	}
	raw, err := io.ReadAll(f)
	return Delivery{Raw: raw}, err
}
