// Package pgtest starts a throwaway PostgreSQL server for tests and
// benchmarks, the way net/http/httptest starts an HTTP server: a private
// data directory in a temporary folder, a loopback port, no durability
// (fsync off), and everything removed by [Server.Stop].
//
// It needs the PostgreSQL server binaries (initdb, postgres) installed, for
// example Debian's postgresql package. initdb refuses to run as root: when
// the test runs as root, the server runs as the unprivileged OS user
// Options.User ("postgres" by default), which must exist.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure Start. A nil *Options means the defaults.
type Options struct {
	// BinDir holds initdb and postgres. Default: the newest
	// /usr/lib/postgresql/*/bin, else the directories of $PATH.
	BinDir string
	// User runs the server when the caller is root. Default "postgres".
	User string
	// PortMin and PortMax bound the loopback port search. The default
	// range, 25432-25531, lies below Linux's ephemeral port range, where
	// an outgoing connection may hold a port that a connect probe reports
	// free.
	PortMin, PortMax int
	// StartTimeout bounds initdb plus startup. Default 60s.
	StartTimeout time.Duration
}

// Server is a running throwaway PostgreSQL. Its methods are safe for
// concurrent use.
type Server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
	once sync.Once
}

// Start creates a database cluster in a new temporary directory and starts
// a server on 127.0.0.1. The caller must call Stop.
func Start(ctx context.Context, opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.User == "" {
		o.User = "postgres"
	}
	if o.PortMin == 0 {
		o.PortMin, o.PortMax = 25432, 25531
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()

	bin, err := binDir(o.BinDir)
	if err != nil {
		return nil, err
	}
	cred, err := credential(o.User)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}

	var lastErr error
	for port := o.PortMin; port <= o.PortMax; port++ {
		if !portFree(port) {
			continue
		}
		s, err := launch(ctx, bin, dir, data, port, cred)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errPortInUse) {
			break
		}
	}
	os.RemoveAll(dir)
	if lastErr == nil {
		lastErr = fmt.Errorf("no free port in %d-%d", o.PortMin, o.PortMax)
	}
	return nil, fmt.Errorf("pgtest: %w", lastErr)
}

var errPortInUse = errors.New("port in use")

func launch(ctx context.Context, bin, dir, data string, port int, cred *syscall.Credential) (*Server, error) {
	s := &Server{dir: dir, port: port, log: &bytes.Buffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-h", "127.0.0.1",
		"-p", strconv.Itoa(port), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=64MB")
	s.cmd.Dir = dir
	s.cmd.Stdout = &lockedWriter{w: s.log}
	s.cmd.Stderr = s.cmd.Stdout
	// If the test process dies without calling Stop (killed, timed out),
	// the kernel sends the server SIGINT, PostgreSQL's fast shutdown. The
	// server stays in the caller's process group, so a ^C reaches it too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	for {
		select {
		case <-s.done:
			out := s.logText()
			if strings.Contains(out, "Address already in use") || strings.Contains(out, "could not bind") {
				return nil, fmt.Errorf("%w: %d", errPortInUse, port)
			}
			return nil, fmt.Errorf("postgres exited during startup:\n%s", out)
		case <-ctx.Done():
			s.kill()
			return nil, fmt.Errorf("postgres not ready: %w\n%s", ctx.Err(), s.logText())
		case <-time.After(50 * time.Millisecond):
		}
		if strings.Contains(s.logText(), "ready to accept connections") {
			if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
				c.Close()
				return s, nil
			}
		}
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is a connection URL for database db ("" means "postgres") as the
// superuser "postgres", without TLS.
func (s *Server) URL(db string) string {
	if db == "" {
		db = "postgres"
	}
	return "postgres://postgres@" + s.Addr() + "/" + db + "?sslmode=disable"
}

// Log returns what the server printed so far.
func (s *Server) Log() string { return s.logText() }

func (s *Server) logText() string {
	lw := s.cmd.Stdout.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return s.log.String()
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 10s) and
// removes its directory. It is idempotent.
func (s *Server) Stop() error {
	var err error
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.kill()
		}
		err = os.RemoveAll(s.dir)
	})
	return err
}

func (s *Server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// binDir finds the directory with initdb and postgres.
func binDir(dir string) (string, error) {
	has := func(d string) bool {
		_, e1 := os.Stat(filepath.Join(d, "initdb"))
		_, e2 := os.Stat(filepath.Join(d, "postgres"))
		return e1 == nil && e2 == nil
	}
	if dir != "" {
		if !has(dir) {
			return "", fmt.Errorf("pgtest: no initdb and postgres in %s", dir)
		}
		return dir, nil
	}
	cands, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(cands, func(i, j int) bool { return pgVersion(cands[i]) > pgVersion(cands[j]) })
	cands = append(cands, filepath.SplitList(os.Getenv("PATH"))...)
	for _, d := range cands {
		if has(d) {
			return d, nil
		}
	}
	return "", errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found; install the postgresql package")
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// credential returns who runs the server: nil (the caller) unless the
// caller is root.
func credential(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root and the OS user %q to run PostgreSQL is missing: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
