package mailticket

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-go/switchboard/internal/netutil"
)

// POP3 takes mail from a POP3 mailbox (RFC 1939) with a small client of
// its own on net/textproto: dot-unstuffed multi-line replies, USER/PASS or
// APOP, STLS (RFC 2595) or implicit TLS, UIDL for the source keys. After
// commit a mail is deleted (DELE, made final by QUIT at the end of the
// Fetch) unless Keep is set; a Fetch that fails half-way ends without QUIT
// so the server deletes nothing, and what was already stored is recognized
// as duplicate next time.
type POP3 struct {
	Addr      string // host:port
	TLS       TLSMode
	TLSConfig *tls.Config
	Username  string
	Password  string
	// APOP logs in with APOP (the password is not sent) when the server's
	// greeting offers it.
	APOP bool
	// Keep leaves mail on the server; Known (when set) then lets Fetch
	// skip the download of mail already stored.
	Keep  bool
	Known func(ctx context.Context, sourceKey string) (bool, error)
	// MaxSize: larger mail is handed over as its header only (TOP n 0)
	// with Delivery.Size set, to be quarantined (DefaultLimits.MaxMailSize
	// when zero).
	MaxSize int64
	// Timeout bounds each command's reply (1 minute if zero).
	Timeout time.Duration
	// AllowInsecureAuth permits a password over plain text to a host that
	// is not loopback.
	AllowInsecureAuth bool
}

// ParsePOP3URL reads pop3://user:pass@host:port (plain, port 110),
// pop3+starttls://... (STLS required, port 110) or pop3s://... (implicit
// TLS, port 995). The query may say apop=1 and keep=1.
func ParsePOP3URL(raw string) (*POP3, error) {
	sv, err := parseServerURL("POP3", raw, scheme{"pop3", PlainText, "110"}, scheme{"pop3+starttls", StartTLS, "110"},
		scheme{"pop3s", ImplicitTLS, "995"})
	if err != nil {
		return nil, err
	}
	q := sv.u.Query()
	return &POP3{Addr: sv.addr, TLS: sv.mode, Username: sv.user, Password: sv.pass,
		APOP: q.Get("apop") == "1", Keep: q.Get("keep") == "1"}, nil
}

func (p *POP3) String() string { return "pop3://" + p.Username + "@" + p.Addr }

// Close implements Source; a POP3 source connects per Fetch.
func (p *POP3) Close() error { return nil }

// POP3Error is a -ERR reply.
type POP3Error struct {
	Command string
	Message string
}

func (e *POP3Error) Error() string { return "mailticket: POP3 " + e.Command + ": -ERR " + e.Message }

type pop3Conn struct {
	conn    net.Conn
	tp      *textproto.Conn
	timeout time.Duration
}

func (c *pop3Conn) deadline() { _ = c.conn.SetDeadline(time.Now().Add(c.timeout)) }

// cmd sends one command and reads its status line.
func (c *pop3Conn) cmd(name, format string, args ...any) (string, error) {
	c.deadline()
	if format != "" {
		if err := c.tp.PrintfLine(format, args...); err != nil {
			return "", err
		}
	}
	line, err := c.tp.ReadLine()
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(line, "+OK"):
		return strings.TrimSpace(strings.TrimPrefix(line, "+OK")), nil
	case strings.HasPrefix(line, "-ERR"):
		return "", &POP3Error{Command: name, Message: strings.TrimSpace(strings.TrimPrefix(line, "-ERR"))}
	}
	return "", fmt.Errorf("mailticket: POP3 %s: unexpected reply %q", name, line)
}

// lines reads a dot-terminated multi-line reply.
func (c *pop3Conn) lines() ([]string, error) {
	c.deadline()
	return c.tp.ReadDotLines()
}

func (p *POP3) dial(ctx context.Context) (*pop3Conn, string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return nil, "", err
	}
	host, _, _ := net.SplitHostPort(p.Addr)
	cfg := p.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{ServerName: host}
	}
	if p.TLS == ImplicitTLS {
		conn = tls.Client(conn, cfg)
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	c := &pop3Conn{conn: conn, tp: textproto.NewConn(conn), timeout: timeout}
	greeting, err := c.cmd("greeting", "")
	if err != nil {
		conn.Close()
		return nil, "", err
	}
	if p.TLS == StartTLS {
		if _, err := c.cmd("STLS", "STLS"); err != nil {
			conn.Close()
			return nil, "", err
		}
		tc := tls.Client(conn, cfg)
		c.deadline()
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, "", err
		}
		c.conn, c.tp = tc, textproto.NewConn(tc)
	}
	return c, greeting, nil
}

func (p *POP3) login(c *pop3Conn, greeting string) error {
	if p.APOP {
		i, j := strings.IndexByte(greeting, '<'), strings.LastIndexByte(greeting, '>')
		if i < 0 || j < i {
			return errors.New("mailticket: POP3 server does not offer APOP")
		}
		sum := md5.Sum([]byte(greeting[i:j+1] + p.Password))
		_, err := c.cmd("APOP", "APOP %s %s", p.Username, hex.EncodeToString(sum[:]))
		return err
	}
	host, _, _ := net.SplitHostPort(p.Addr)
	if p.TLS == PlainText && !netutil.LoopbackHost(host) && !p.AllowInsecureAuth {
		return errors.New("mailticket: refusing to send a POP3 password without TLS to " + p.Addr)
	}
	if _, err := c.cmd("USER", "USER %s", p.Username); err != nil {
		return err
	}
	_, err := c.cmd("PASS", "PASS %s", p.Password)
	return err
}

// Fetch implements Source.
func (p *POP3) Fetch(ctx context.Context, handle Handler) (err error) {
	c, greeting, err := p.dial(ctx)
	if err != nil {
		return fmt.Errorf("mailticket: POP3 %s: %w", p.Addr, err)
	}
	// The watchdog: ctx ending interrupts any blocked read or write.
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	defer func() {
		if err != nil {
			c.conn.Close() // no QUIT: nothing marked is deleted
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%v)", ctx.Err(), err)
			}
		}
	}()
	if err := p.login(c, greeting); err != nil {
		return err
	}
	if _, err := c.cmd("UIDL", "UIDL"); err != nil {
		return err
	}
	uidLines, err := c.lines()
	if err != nil {
		return err
	}
	if _, err := c.cmd("LIST", "LIST"); err != nil {
		return err
	}
	listLines, err := c.lines()
	if err != nil {
		return err
	}
	sizes := map[string]int64{}
	for _, l := range listLines {
		if f := strings.Fields(l); len(f) >= 2 {
			sizes[f[0]], _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	max := p.MaxSize
	if max <= 0 {
		max = DefaultLimits.MaxMailSize
	}
	prefix := "pop3:" + strings.ToLower(p.Username) + "@" + p.Addr + "/"
	var b batch[string]
	flush := func() error {
		nums, quarantined, err := b.flush(ctx, handle)
		if err != nil || p.Keep {
			return err
		}
		// POP3 has no folders: quarantined mail (kept in the store) is
		// deleted like the rest.
		nums = append(nums, quarantined...)
		for _, num := range nums {
			if _, err := c.cmd("DELE", "DELE %s", num); err != nil {
				return err
			}
		}
		return nil
	}
	for _, l := range uidLines {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		num, key := f[0], prefix+f[1]
		if p.Keep && p.Known != nil {
			known, err := p.Known(ctx, key)
			if err != nil {
				return err
			}
			if known {
				continue
			}
		}
		d := Delivery{SourceKey: key}
		if size := sizes[num]; size > max {
			d.Size = size
			if _, err := c.cmd("TOP", "TOP %s 0", num); err != nil {
				return err
			}
		} else if _, err := c.cmd("RETR", "RETR %s", num); err != nil {
			return err
		}
		c.deadline()
		dr := c.tp.DotReader()
		raw, err := io.ReadAll(io.LimitReader(dr, max+1))
		if err != nil {
			return err
		}
		if int64(len(raw)) > max { // the server's LIST size was wrong
			rest, err := io.Copy(io.Discard, dr)
			if err != nil {
				return err
			}
			d.Size = int64(len(raw)) + rest
		}
		d.Raw = crlf(raw)
		if b.add(d, num) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	_, err = c.cmd("QUIT", "QUIT")
	c.conn.Close()
	return err
}

// crlf turns the LF line ends of textproto's DotReader back into CRLF, the
// mail's form on the wire (what IMAP hands over, what quarantine keeps).
func crlf(b []byte) []byte {
	n := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			n++
		}
	}
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
