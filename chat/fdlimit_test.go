//go:build unix

package chat_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// fdChildEnv makes the test binary run fdLimitedServer instead of the
// tests (see TestMain).
const fdChildEnv = "SWITCHBOARD_CHAT_FD_CHILD"

// fdLimitedServer runs a chat server in a process allowed 64 open files,
// prints its address, and serves until stdin closes. If Serve returns, it
// says so.
func fdLimitedServer() {
	lim := syscall.Rlimit{Cur: 64, Max: 64}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err == nil && cur.Max < lim.Max {
		lim.Max, lim.Cur = cur.Max, cur.Max
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(1)
	}
	srv := chattest.NewServer(nil)
	fmt.Println(srv.Addr)
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
	os.Exit(0)
}

// A server that runs out of file descriptors stops accepting only while
// it has none: it backs off and serves again once connections close
// (before, Serve returned on EMFILE and the server was deaf for good).
func TestServerOutlivesRunningOutOfFileDescriptors(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "no address from the child")
	addr := lines.Text()
	go io.Copy(io.Discard, stdout)

	// Take every descriptor the server has, and more.
	var conns []net.Conn
	for range 200 {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		conns = append(conns, nc)
	}
	require.Greater(t, len(conns), 64, "could not open more connections than the child has descriptors")
	// A customer now gets no answer: the server cannot accept.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = chat.Dial(ctx, addr, &chat.ClientOptions{Name: "Ana", CustomerID: "a", DialTimeout: 500 * time.Millisecond})
	require.Error(t, err, "the server accepted beyond its descriptor limit")
	for _, nc := range conns {
		nc.Close()
	}
	// Once they are closed it serves again.
	require.Eventually(t, func() bool {
		c, err := chat.Dial(ctx, addr, &chat.ClientOptions{Name: "Ana", CustomerID: "a", DialTimeout: time.Second})
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 15*time.Second, 100*time.Millisecond, "the server never accepted again")
}
