package pgtest

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
)

func TestStartStop(t *testing.T) {
	s, err := Start(context.Background(), nil)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if !strings.HasPrefix(s.URL(""), "postgres://postgres@127.0.0.1:") {
		t.Fatalf("URL = %s", s.URL(""))
	}
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	dir := s.dir
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal("second Stop:", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data directory left behind: %v", err)
	}
	if s.cmd.ProcessState == nil || !s.cmd.ProcessState.Exited() && s.cmd.ProcessState.String() == "" {
		t.Fatal("server process not reaped")
	}
}
