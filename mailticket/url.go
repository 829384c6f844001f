package mailticket

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// scheme is one URL scheme of a protocol: how it connects and its port.
type scheme struct {
	name string
	mode TLSMode
	port string
}

// server is what the IMAP, POP3 and SMTP URLs share.
type server struct {
	addr, user, pass string
	mode             TLSMode
	u                *url.URL
}

// parseServerURL reads SCHEME://user:pass@host[:port]/..., the scheme one
// of schemes, the port the scheme's when the URL has none.
func parseServerURL(proto, raw string, schemes ...scheme) (server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return server{}, fmt.Errorf("mailticket: %s URL: %w", proto, err)
	}
	names := make([]string, len(schemes))
	for i, sc := range schemes {
		names[i] = sc.name
		if u.Scheme != sc.name {
			continue
		}
		s := server{addr: u.Host, mode: sc.mode, u: u}
		if u.Port() == "" {
			s.addr = net.JoinHostPort(u.Hostname(), sc.port)
		}
		if u.User != nil {
			s.user = u.User.Username()
			s.pass, _ = u.User.Password()
		}
		return s, nil
	}
	return server{}, fmt.Errorf("mailticket: %s URL scheme %q (want %s or %s)", proto, u.Scheme,
		strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}
