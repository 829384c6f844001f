// Package dovetest starts a throwaway Dovecot (IMAP and POP3, plain and
// TLS) for tests: its own configuration, state and mail under a temporary
// folder, loopback ports below the ephemeral range, users with plain-text
// passwords, Maildir mailboxes. It needs the Debian packages dovecot-imapd
// and dovecot-pop3d; without them a test is skipped, or fails when the CI
// environment variable is "true".
package dovetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Server is a running Dovecot.
type Server struct {
	Dir         string
	IMAP, IMAPS string // host:port
	POP3, POP3S string
	Users       map[string]string // user -> password
	uid, gid    int
	cmd         *exec.Cmd
	done        chan struct{}
	certPool    *x509.CertPool
	seq         atomic.Int64
	stopOnce    sync.Once
}

// Portbase bounds: four consecutive ports are taken from this range.
const (
	portMin = 21100
	portMax = 21900
)

// Available reports whether Dovecot is installed.
func Available() bool {
	_, err := exec.LookPath(bin())
	return err == nil
}

func bin() string {
	if _, err := os.Stat("/usr/sbin/dovecot"); err == nil {
		return "/usr/sbin/dovecot"
	}
	return "dovecot"
}

// Start starts Dovecot with the given users (user -> password) and stops
// it when the test ends.
func Start(t testing.TB, users map[string]string) *Server {
	t.Helper()
	if !Available() {
		if os.Getenv("CI") == "true" {
			t.Fatal("dovetest: dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
		}
		t.Skip("dovetest: dovecot is not installed")
	}
	s, err := start(users)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartServer starts Dovecot outside a test (benchmarks); the caller must
// Stop it.
func StartServer(users map[string]string) (*Server, error) {
	if !Available() {
		return nil, errors.New("dovetest: dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)")
	}
	return start(users)
}

func start(users map[string]string) (*Server, error) {
	dir, err := os.MkdirTemp("", "dovetest-")
	if err != nil {
		return nil, err
	}
	// Dovecot's auth and mail processes run as other users: they need to
	// get through the folder.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Users: users, uid: os.Getuid(), gid: os.Getgid(), done: make(chan struct{})}
	if s.uid == 0 {
		// Dovecot refuses uid 0 for mail; run the mailboxes as "mail".
		u, err := user.Lookup("mail")
		if err != nil {
			return nil, fmt.Errorf("dovetest: running as root needs the user \"mail\": %w", err)
		}
		s.uid, _ = strconv.Atoi(u.Uid)
		s.gid, _ = strconv.Atoi(u.Gid)
	}
	if err := s.prepare(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	start := portMin + int(time.Now().UnixNano()%int64((portMax-portMin)/4))*4
	var lastErr error
	for tries, base := 0, start; tries < 20; tries, base = tries+1, base+4 {
		if base+3 > portMax {
			base = portMin
		}
		if !free(base, 4) {
			continue
		}
		if lastErr = s.launch(base); lastErr == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("dovetest: could not start dovecot: %w", lastErr)
}

func free(base, n int) bool {
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

func (s *Server) prepare() error {
	for _, d := range []string{"base", "state", "home"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	var pw strings.Builder
	for u, p := range s.Users {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s\n", u, p)
		for _, sub := range []string{"new", "cur", "tmp"} {
			if err := os.MkdirAll(filepath.Join(s.Maildir(u), sub), 0o700); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		return err
	}
	if err := s.writeCert(); err != nil {
		return err
	}
	return s.chownHome()
}

func (s *Server) chownHome() error {
	if os.Getuid() != 0 {
		return nil
	}
	return filepath.Walk(filepath.Join(s.Dir, "home"), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, s.uid, s.gid)
	})
}

// writeCert makes a self-signed certificate for 127.0.0.1 and localhost.
func (s *Server) writeCert() error {
	certPEM, keyPEM, err := selfSigned()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "cert.pem"), certPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "key.pem"), keyPEM, 0o600); err != nil {
		return err
	}
	s.certPool = x509.NewCertPool()
	s.certPool.AppendCertsFromPEM(certPEM)
	return nil
}

// SelfSignedTLS returns a TLS configuration for a test server on loopback
// and one for its clients that trusts it.
func SelfSignedTLS() (server, client *tls.Config, err error) {
	certPEM, keyPEM, err := selfSigned()
	if err != nil {
		return nil, nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, nil
}

func selfSigned() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dovetest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// TLSConfig trusts the server's certificate.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.certPool, ServerName: "127.0.0.1"}
}

const config = `protocols = imap pop3
listen = 127.0.0.1
first_valid_uid = 1
first_valid_gid = 1
base_dir = {{dir}}/base
state_dir = {{dir}}/state
log_path = {{dir}}/dovecot.log
info_log_path = {{dir}}/dovecot.log
ssl = yes
ssl_cert = <{{dir}}/cert.pem
ssl_key = <{{dir}}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login apop
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
mailbox_idle_check_interval = 1 secs
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{dir}}/passwd
}
userdb {
  driver = static
  args = uid={{uid}} gid={{gid}} home={{dir}}/home/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    port = {{imap}}
  }
  inet_listener imaps {
    port = {{imaps}}
    ssl = yes
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    port = {{pop3}}
  }
  inet_listener pop3s {
    port = {{pop3s}}
    ssl = yes
  }
}
service anvil {
  chroot =
}
protocol imap {
  mail_max_userip_connections = 200
}
protocol pop3 {
  mail_max_userip_connections = 200
}
`

func (s *Server) launch(base int) error {
	ports := []int{base, base + 1, base + 2, base + 3}
	conf := strings.NewReplacer("{{dir}}", s.Dir, "{{uid}}", strconv.Itoa(s.uid), "{{gid}}", strconv.Itoa(s.gid),
		"{{imap}}", strconv.Itoa(ports[0]), "{{imaps}}", strconv.Itoa(ports[1]),
		"{{pop3}}", strconv.Itoa(ports[2]), "{{pop3s}}", strconv.Itoa(ports[3])).Replace(config)
	path := filepath.Join(s.Dir, "dovecot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	var out bytes.Buffer
	cmd := exec.Command(bin(), "-F", "-c", path)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	addr := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		select {
		case <-done:
			logText, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
			return fmt.Errorf("dovecot exited: %s %s", out.String(), logText)
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			return errors.New("dovecot did not listen within 15s")
		case <-time.After(20 * time.Millisecond):
		}
		ready := true
		for _, p := range ports {
			c, err := net.DialTimeout("tcp", addr(p), time.Second)
			if err != nil {
				ready = false
				break
			}
			c.Close()
		}
		if ready {
			s.cmd, s.done = cmd, done
			s.IMAP, s.IMAPS, s.POP3, s.POP3S = addr(ports[0]), addr(ports[1]), addr(ports[2]), addr(ports[3])
			return nil
		}
	}
}

// Maildir is the user's mail folder.
func (s *Server) Maildir(user string) string { return filepath.Join(s.Dir, "home", user, "Maildir") }

// Deliver puts a mail into the user's INBOX, as an MDA would (written in
// tmp/, renamed into new/).
func (s *Server) Deliver(t testing.TB, user string, raw []byte) {
	t.Helper()
	if err := s.DeliverRaw(user, raw); err != nil {
		t.Fatal(err)
	}
}

// DeliverRaw is Deliver for code outside tests.
func (s *Server) DeliverRaw(user string, raw []byte) error {
	name := fmt.Sprintf("%d.M%dP%d.dovetest", time.Now().Unix(), s.seq.Add(1), os.Getpid())
	tmp := filepath.Join(s.Maildir(user), "tmp", name)
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	if os.Getuid() == 0 {
		if err := os.Chown(tmp, s.uid, s.gid); err != nil {
			return err
		}
	}
	return os.Rename(tmp, filepath.Join(s.Maildir(user), "new", name))
}

// Log returns Dovecot's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return string(b)
}

// Stop ends Dovecot (the process it started, and its children) and removes
// its folder.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd != nil {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-s.done
			}
		}
		os.RemoveAll(s.Dir)
	})
}
