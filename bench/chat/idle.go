package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-go/switchboard/chat"
	"github.com/switchboard-go/switchboard/chat/chattest"
)

// serveIdleChild runs a chat server (in-memory store) and prints its
// address; the parent measures this process.
func serveIdleChild(addr string) {
	srv := &chat.Server{Store: chattest.NewMemStore(), MaxConnections: 100000, Heartbeat: time.Minute}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	fmt.Println(l.Addr().String())
	srv.Serve(l)
}

func rssKB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

// runIdle connects n customers to a server in a child process and
// returns the child's RSS growth per connection, in KB.
func runIdle(n int) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe, "-serve-idle", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return 0, err
	}
	addr = strings.TrimSpace(addr)
	// Warm up: one customer, so that the server's one-time allocations
	// are in the baseline.
	warm, _, err := dialRaw(addr, &chat.Hello{Role: chat.RoleCustomer, Name: "W", CustomerID: "w"})
	if err != nil {
		return 0, err
	}
	defer warm.nc.Close()
	time.Sleep(500 * time.Millisecond)
	before, err := rssKB(cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, _, err := dialRaw(addr, &chat.Hello{Role: chat.RoleCustomer, Name: "C", CustomerID: strconv.Itoa(i)})
		if err != nil {
			return 0, fmt.Errorf("customer %d: %w", i, err)
		}
		conns = append(conns, c.nc)
	}
	time.Sleep(2 * time.Second) // let the queue announcements settle
	after, err := rssKB(cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	return (after - before) / float64(n), nil
}
