package dovetest

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

func TestStartLoginStop(t *testing.T) {
	s := Start(t, map[string]string{"alice": "secret"})
	s.Deliver(t, "alice", []byte("Subject: hi\r\n\r\nhello\r\n"))
	c, err := net.DialTimeout("tcp", s.POP3, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	line := func(cmd string) string {
		if cmd != "" {
			c.Write([]byte(cmd + "\r\n"))
		}
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, s.Log())
		}
		return l
	}
	line("")
	line("USER alice")
	if l := line("PASS secret"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("login: %s\n%s", l, s.Log())
	}
	if l := line("STAT"); !strings.HasPrefix(l, "+OK 1 ") {
		t.Fatalf("STAT: %s", l)
	}
	tc, err := tls.Dial("tcp", s.IMAPS, s.TLSConfig())
	if err != nil {
		t.Fatalf("imaps: %v", err)
	}
	tc.Close()
}
